package engines

import (
	"errors"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// ErrExists is returned by Restore when the target database (or table) exists
// and Replace was not asked for.
var ErrExists = errors.New("already exists")

// Retry classification: an adapter marks the errors of its driver and its
// client programs at the source, with internal/fault, from what only it
// knows (SQLSTATEs, server error numbers, its tools' messages). Refused and
// timed-out connections are transient without a mark. See ARCHITECTURE.md,
// "Errors and retries".

// ErrPermanent is fault.ErrPermanent.
//
// Deprecated: use fault.ErrPermanent. Kept so that branches merged at the
// same time still build; rewrite with
// `gofmt -w -r 'engines.ErrPermanent -> fault.ErrPermanent'`.
var ErrPermanent = fault.ErrPermanent

// Permanent is fault.Permanent: err marked as not worth a retry.
//
// Deprecated: use fault.Permanent (see ErrPermanent).
func Permanent(err error) error { return fault.Permanent(err) }
