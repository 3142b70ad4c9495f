// Package api is the daemon's API: HTTP over the unix socket named by
// daemon.socket, created with mode 0600 so that only the daemon's own user
// (and root) can talk to it, and, when daemon.request_listen is set, the
// signed-request routes alone over HTTPS for DBAs on other machines. The
// CLI (dbopsd status, dbopsd run, dbopsd request submit and status) is its
// client.
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
//
// # HTTPS
//
// ServeHTTPS serves POST /v1/requests and GET /v1/requests/{id} only
// (RequestHandler; anything else is 404 or 405), with the same handlers,
// and so the same request.Gate in the daemon, as the socket: a request is
// authenticated by its SSH signatures and the policy's approvals, never by
// the connection, so the listener needs no client certificates. What the
// connection gives is the client's address: it is the caller
// (Caller.Remote), limits submissions per address (per /64 for IPv6) and
// is recorded as the request's source ("https from 10.1.2.3:50122"). TLS
// 1.2 or later; the certificate comes from a callback at each handshake,
// so the daemon swaps in a renewed one on SIGHUP. Timeouts bound slow
// clients (headers 10 s, the whole request 1 min, the answer 2 min, idle
// connections 2 min), headers are at most 16 KiB, and a request file is
// read to at most request.MaxSize+1 bytes, as over the socket.
//
// NewHTTPSClient is the other end: https:// only, the server's certificate
// checked against the system's roots or a site CA file; its errors wrap
// ErrUntrusted (certificate not trusted, for another name, expired) or
// ErrNoDaemon (nothing answers) so that the CLI can say what to do.
package api
