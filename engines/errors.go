package engines

import "errors"

// ErrExists is returned by Restore when the target database (or table) exists
// and Replace was not asked for.
var ErrExists = errors.New("already exists")

// Retry classification: an adapter marks the errors of its driver and its
// client programs at the source, with internal/fault, from what only it
// knows (SQLSTATEs, server error numbers, its tools' messages). Refused and
// timed-out connections are transient without a mark. See ARCHITECTURE.md,
// "Errors and retries".
