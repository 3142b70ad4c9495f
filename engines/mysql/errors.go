package mysql

import (
	"database/sql/driver"
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The adapter's retry classification (ARCHITECTURE.md, "Errors and
// retries"), by the server's error numbers and the driver's errors. Nothing
// above this package reads error text.

// erConCount is ER_CON_COUNT_ERROR, "Too many connections".
const erConCount = 1040

// classify marks err as permanent (access denied, no such database, out of
// space) or transient (the connection lost, the server shutting down or
// full of connections, a lock conflict); other errors pass unmarked (a
// refused or timed-out connection is transient without a mark).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erDBAccessDenied, erAccessDenied, erAccessDeniedNoPass, erBadDB,
			erTableAccessDenied, erColumnAccessDenied, erSpecificAccess:
			return fault.Permanent(err)
		case erConCount, erLockDeadlock, erLockWaitTimeout:
			return fault.Transient(err)
		}
		if outOfSpace(err) {
			return fault.Permanent(err)
		}
	}
	if lostConnection(err) {
		return fault.Transient(err)
	}
	return err
}

// lostConnection reports an error that means the connection is gone: the
// server went away or someone killed the session.
func lostConnection(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errNumber(err) == erConnectionKilled || errNumber(err) == erServerShutdown
}
