// Package metrics exposes the daemon's state to Prometheus on
// daemon.http_listen: /metrics (client_golang, its own registry) and
// /healthz.
//
// # Metrics
//
//	dbopsd_last_success_timestamp_seconds{database,kind}  newest success (Unix time)
//	dbopsd_job_duration_seconds{database,kind}            duration of the last finished attempt
//	dbopsd_backup_stored_bytes{database,kind}             bytes the last backup stored
//	dbopsd_verification_ok{database}                      1 when the last verification passed, else 0
//	dbopsd_job_failures_total{database,kind}              failed attempts
//	dbopsd_jobs_running                                   jobs running now
//	dbopsd_queue_length                                   jobs waiting
//	dbopsd_config_last_reload_successful                  1 when the last reload was accepted
//	dbopsd_config_last_reload_success_timestamp_seconds
//	dbopsd_request_tls_cert_expiry_timestamp_seconds  when the request listener's certificate expires (Unix time)
//	dbopsd_build_info{version}
//
// kind is full, differential, verify, prune, mirror (and later kinds);
// site-wide jobs have database="". Alert on time() -
// dbopsd_last_success_timestamp_seconds rather than on failures alone, and
// on dbopsd_request_tls_cert_expiry_timestamp_seconds - time() before the
// certificate of daemon.tls_cert runs out. That one exists only with
// daemon.request_listen.
//
// /healthz answers 200 "ok" while the daemon's checks pass and 503 with
// the failing check otherwise.
package metrics
