// Package api is the daemon's local API: HTTP over the unix socket named
// by daemon.socket, created with mode 0600 so that only the daemon's own
// user (and root) can talk to it. The CLI (dbopsd status, dbopsd run) is
// its client.
//
// # Endpoints
//
//	GET  /v1/status       the daemon, every database, running and queued jobs
//	POST /v1/run          {"database": "queue", "type": "full"}: queue a job now
//	GET  /v1/tasks/{id}   one job's state (dbopsd run --wait polls it)
//	POST /v1/requests     a signed request file as the body (dbopsd request submit):
//	                      202 {"id", "state", "task"} when accepted and queued,
//	                      403 {"error", "refusal", "register_seq"} when refused
//	GET  /v1/requests/{id}  its state (received, refused, queued, running, done,
//	                      failed) from the restore register, with the job's progress
//
// Errors come back as {"error": "..."} with a 4xx or 5xx status. The
// caller's OS user is taken from the socket's peer credentials
// (SO_PEERCRED), not from the request, and goes into the job log and, as
// the request's source, into the restore register. Request submissions are
// limited per caller (RequestBurst, then one every RequestEvery; 429 with
// Retry-After beyond that), because every one, refused or not, is written
// to the register for good.
package api
