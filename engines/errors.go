package engines

import "errors"

// ErrExists is returned by Restore when the target database (or table) exists
// and Replace was not asked for.
var ErrExists = errors.New("already exists")

// ErrPermanent marks errors that retrying will not fix (access denied, a
// missing database, a bad request). The daemon retries other errors.
var ErrPermanent = errors.New("permanent")

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ error }

func (p permanent) Is(target error) bool { return target == ErrPermanent }
func (p permanent) Unwrap() error        { return p.error }
