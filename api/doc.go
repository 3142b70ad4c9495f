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
//
// Errors come back as {"error": "..."} with a 4xx or 5xx status. The
// caller's OS user is taken from the socket's peer credentials
// (SO_PEERCRED), not from the request, and goes into the job log.
package api
