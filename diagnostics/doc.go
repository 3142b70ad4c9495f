// Package diagnostics will own the daily inspection, the weekly summary and
// the monthly diagnosis (structure and deployment, buffer/cache, sessions,
// locks, fragmentation, space, I/O, error logs, security, backup status):
// checks, findings, metrics history and trends. It is empty until the
// diagnostics issue lands; the engine contract in engines/ and the daemon's
// job registry leave room for it.
package diagnostics
