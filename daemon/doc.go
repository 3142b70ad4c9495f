// Package daemon is `dbopsd agent`: it composes the long-running
// components — the scheduler (schedule), the local API on daemon.socket
// (api), the signed-request routes over HTTPS on daemon.request_listen
// when it is set (https.go), /metrics and /healthz on daemon.http_listen
// (metrics), the alerts (notify), a heartbeat and the stale-backup watch —
// each a function that returns when its context ends, and stops them in
// order: first the scheduler drains its running jobs, then the rest.
//
// # Job kinds
//
// What the daemon can run is a Registry of Kinds (jobs.go): full,
// differential, verify, prune, mirror and check today, and restore, drill
// and maintenance, which nothing schedules: they run only for a signed
// request (maintenance: maintenance_request.go). A
// Kind names its job, may add entries to the plan (a Planner), runs a
// task, and says which alert its failure raises. Diagnostics and reports
// plug in as more Kinds.
//
// # Signed requests
//
// The signed-request service (requestService, requests.go) is one of the
// components: it owns the nonce store, the restore register and the Gate
// in force. POST /v1/requests hands a request file to the Gate, which
// checks it and records every decision in the restore register. An
// accepted restore or drill is queued like any job (max_parallel,
// max_per_server counted on its target's server, one job per database,
// critical databases first); its task records the backup it used, its
// start and its outcome in the register. A request runs at most once: its
// failures are not retried, and requests still queued when the daemon
// stops, or left open by a crash, are closed as failed (at stop, or at the
// next start); the DBA submits a new one. A drill of a whole database that
// passes verifies its backup in the catalog, as a scheduled verification
// would. SIGHUP builds a new Gate for the new policy around the same nonce
// store and register. The register's head is anchored in the repository's
// storage every Options.AnchorEvery (an hour) while it moves, and once more
// as the agent stops (after the running jobs have finished).
//
// # Start
//
// Jobs a previous run left running are recorded as failed, then, before
// any job starts, the scratch databases they created and never dropped
// are dropped (restore.CleanupStale: only those the scratch ledger
// records).
//
// # Lifecycle
//
// SIGHUP reloads the policy file: it is validated whole first; a bad file
// is refused with its diagnostics (file:line:col) in the log and the old
// configuration stays. SIGTERM or SIGINT drains: nothing new starts,
// running jobs get Options.DrainTimeout, then they are cancelled (a
// cancelled backup leaves nothing listed: backup.Run aborts before its
// manifest). A second signal cancels at once. A panic in a job is
// recovered and recorded as that job's failure.
//
// # Alerts
//
// backup_failed, verify_failed and check_failed (repository check, prune
// or mirror) are raised when a job fails for good (after its retries) and
// resolved by the next success; verify_not_run instead of verify_failed
// when the verification could not run (its scratch target was down), which
// says nothing about the backup; stale when a database has had no
// successful backup for StaleAfter past its schedule; daemon_gap when the
// daemon starts (or wakes) after missing scheduled runs, listing what it
// is catching up.
package daemon
