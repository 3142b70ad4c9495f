package postgres

import (
	"errors"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The adapter's retry classification (ARCHITECTURE.md, "Errors and
// retries"): errors from pgx by SQLSTATE, errors of the client programs by
// their messages. Nothing above this package reads error text.

// classify marks err, from pgx or the server, as transient or permanent by
// its SQLSTATE, and a full disk (53100 disk_full) as fault.NoSpace with no
// class; other errors pass unmarked (a refused or timed-out connection is
// transient without a mark).
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "53100": // disk_full
			return fault.NoSpace(err)
		case strings.HasPrefix(code, "28"), // invalid authorization / password
			code == "3D000", // database does not exist
			code == "42501": // insufficient privilege
			return fault.Permanent(err)
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", // admin_shutdown: the server is stopping
			code == "57P02", // crash_shutdown
			code == "57P03", // cannot_connect_now: starting up, or in recovery
			code == "53300", // too_many_connections
			code == "40001", // serialization_failure
			code == "40P01", // deadlock_detected
			code == "55P03": // lock_not_available (lock_timeout)
			return fault.Transient(err)
		}
		return err
	}
	// The connection broke before or during the exchange.
	if pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fault.Transient(err)
	}
	return err
}

// Messages of pg_dump, pg_restore and pg_amcheck (libpq's and the server's,
// run with LC_MESSAGES=C so they are in English) that say whether another
// attempt can succeed. A permanent message wins: "no pg_hba.conf entry" can
// come with a line that looks transient.
var (
	permanentStderr = []string{
		"password authentication failed", "no pg_hba.conf entry", "authentication failed",
		"permission denied", "must be owner of", "server version mismatch",
		"no password supplied",
	}
	transientStderr = []string{
		"connection refused", "connection reset", "connection timed out", "timeout expired",
		"no route to host", "network is unreachable", "could not connect to server",
		"the database system is starting up", "the database system is shutting down",
		"the database system is in recovery mode", "the database system is not yet accepting connections",
		"too many clients already", "remaining connection slots are reserved",
		"server closed the connection unexpectedly", "could not receive data from server",
		"could not send data to server", "terminating connection due to administrator command",
		"ssl syscall error", "canceling statement due to conflict with recovery",
	}
)

// noSpaceStderr is ENOSPC as the C library words it (strerror(28) in the C
// locale): the programs print the server's "could not extend file ...: No
// space left on device" and their own failed writes without its number.
const noSpaceStderr = "no space left on device"

// classifyStderr marks err, the failure of a client program whose standard
// error ended with stderr, by the messages it printed; a full disk is
// fault.NoSpace besides.
func classifyStderr(err error, stderr string) error {
	msg := strings.ToLower(stderr)
	if strings.Contains(msg, noSpaceStderr) {
		err = fault.NoSpace(err)
	}
	for _, s := range permanentStderr {
		if strings.Contains(msg, s) {
			return fault.Permanent(err)
		}
	}
	for _, s := range transientStderr {
		if strings.Contains(msg, s) {
			return fault.Transient(err)
		}
	}
	return err
}
