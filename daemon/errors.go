package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/storage"
)

// transientText are the phrases of errors worth another attempt when they
// come only as text (from pg_dump, mysqldump, a driver's message).
var transientText = []string{
	"connection refused", "connection reset", "broken pipe", "no route to host", "network is unreachable",
	"i/o timeout", "timeout expired", "timed out", "the database system is starting up",
	"the database system is shutting down", "the database system is in recovery mode",
	"too many connections", "server closed the connection unexpectedly", "server has gone away",
	"lost connection to", "can't connect to", "could not connect to server",
}

// Transient reports whether err is worth retrying: the network, a server
// restarting, storage 5xx and timeouts, a backup lock held by another
// backup. Permanent errors (engines.ErrPermanent: access denied, no such
// database; a wrong repository passphrase; a failed verification) and
// cancellation are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var verr *restore.VerifyError
	if errors.Is(err, engines.ErrPermanent) || errors.Is(err, repository.ErrWrongPassphrase) || errors.As(err, &verr) {
		return false
	}
	var locked *repository.LockedError
	if storage.IsTransient(err) || errors.As(err, &locked) {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.ETIMEDOUT, syscall.EPIPE, context.DeadlineExceeded, os.ErrDeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range transientText {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
