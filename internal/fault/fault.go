// Package fault is the one retry classification of dbopsd: whether an
// error is worth another attempt. Storage backends, engine adapters and the
// repository mark their errors at the source, where the backend's, driver's
// or client program's own codes are known; the storage retry decorator and
// the daemon's scheduler ask IsTransient and nothing else. Nobody above the
// source matches error text (see ARCHITECTURE.md, "Errors and retries").
//
// The markers wrap an error without changing its message; errors.Is(err,
// ErrTransient) and errors.Is(err, ErrPermanent) find them through any
// wrapping with %w.
//
// # Causes
//
// Beside the two classes, a source marks one cause that callers decide on:
// NoSpace, the disk or file system where the error arose is full. It says
// nothing about retrying (IsTransient ignores it; mark the class too where
// one applies): a verification whose scratch target ran out of space is not
// run rather than failed (IsNoSpace), whatever its retry class.
package fault

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
)

var (
	// ErrTransient marks an error worth a retry: the network, a server
	// starting or shutting down, storage 5xx and throttling, a lock held by
	// another job.
	ErrTransient = errors.New("transient")
	// ErrPermanent marks an error that retrying will not fix: access
	// denied, a missing database, a bad request, a wrong passphrase, a
	// failed verification. It wins over ErrTransient and over a transient
	// cause it wraps.
	ErrPermanent = errors.New("permanent")
	// ErrNoSpace marks an error caused by a full disk or file system: a
	// server's SQLSTATE or error number that says so, or a write that
	// failed with ENOSPC.
	ErrNoSpace = errors.New("no space")
)

// Transient marks err as worth a retry. A nil err stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrTransient}
}

// Permanent marks err as not worth a retry. A nil err stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrPermanent}
}

// NoSpace marks err as caused by a full disk or file system. A nil err
// stays nil.
func NoSpace(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrNoSpace}
}

// IsNoSpace reports whether err was caused by a full disk or file system:
// it is marked NoSpace, or ENOSPC or EDQUOT (a quota is a full disk to
// whoever hits it) is in its chain.
func IsNoSpace(err error) bool {
	return errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

type marked struct {
	error
	class error
}

func (m marked) Is(target error) bool { return target == m.class }
func (m marked) Unwrap() error        { return m.error }

// transientCauses are the standard library's errors that mean a passing
// trouble whoever returns them: refused or dropped connections, timeouts.
var transientCauses = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EHOSTUNREACH,
	syscall.ENETUNREACH, syscall.ETIMEDOUT, syscall.EPIPE, context.DeadlineExceeded, os.ErrDeadlineExceeded,
}

// IsTransient reports whether err is worth a retry. In order: nil and
// cancellation are not; an error marked Permanent is not; an error marked
// Transient is; so is one caused by a refused, reset or unreachable
// connection or a timeout (the errno, context.DeadlineExceeded, or a
// net.Error whose Timeout is true). Anything else is not: an unknown error
// fails the job and alerts rather than being retried blindly.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrPermanent) {
		return false
	}
	if errors.Is(err, ErrTransient) {
		return true
	}
	for _, cause := range transientCauses {
		if errors.Is(err, cause) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
