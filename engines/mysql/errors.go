package mysql

import (
	"database/sql/driver"
	"errors"
	"regexp"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The adapter's retry classification (ARCHITECTURE.md, "Errors and
// retries"), by the server's error numbers and the driver's errors. Nothing
// above this package reads error text.

// erConCount is ER_CON_COUNT_ERROR, "Too many connections".
const erConCount = 1040

// classify marks err as permanent (access denied, no such database, out of
// space, which is fault.NoSpace besides) or transient (the connection lost, the server shutting down or
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
			return fault.NoSpace(fault.Permanent(err))
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

// errno28 is ENOSPC as a number in a server message: EE_WRITE's "Error
// writing file '...' (Errcode: 28 "No space left on device")", MariaDB's
// "(errno: 28 ...)", ER_GET_ERRNO's "Got error 28 ...". The number, not the
// words, which a server in another language translates.
var errno28 = regexp.MustCompile(`(?i)\b(?:errcode|errno|error):? 28\b`)

// outOfSpace reports errors that say the server ran out of space: a full
// table/tablespace (ER_RECORD_FILE_FULL), a full disk (ER_DISK_FULL), or a
// write that failed with ENOSPC (errno 28). Retrying does not help until
// someone frees or adds space.
func outOfSpace(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erRecordFileFull, erDiskFull:
		return true
	}
	return errno28.MatchString(me.Message)
}
