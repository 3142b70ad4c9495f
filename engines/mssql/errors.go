package mssql

import (
	"database/sql/driver"
	"errors"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The adapter's retry classification (ARCHITECTURE.md, "Errors and
// retries"), by SQL Server's error numbers. Nothing above this package
// reads error text.

// SQL Server error numbers the classification knows.
const (
	errLoginFailed        = 18456 // Login failed for user
	errPermissionDenied   = 229   // The %ls permission was denied on the object
	errNoPermission       = 262   // %ls permission denied in database
	errNoServerPermission = 300   // %ls permission was denied on object
	errNoDatabase         = 911   // Database does not exist
	errDBCCNoDatabase     = 2520  // Could not find database (DBCC)
	errCannotOpenDatabase = 4060  // Cannot open database requested by the login
	errDiskFull           = 1105  // Could not allocate space ... filegroup is full
	errLogFull            = 9002  // The transaction log for database is full
	errBackupDeviceError  = 3201  // Cannot open backup device (the listener, the credential)
	errDeadlock           = 1205  // chosen as the deadlock victim
	errLockTimeout        = 1222  // Lock request time out period exceeded
	errServerPaused       = 17142 // server is paused
	errDatabaseInUse      = 3101  // Exclusive access could not be obtained because the database is in use
)

// classify marks err: permanent for what no retry fixes (logins,
// permissions, databases that do not exist, full disks), transient for
// what passes (deadlocks, lock time-outs, a paused server, a database
// briefly in use, a lost connection). Anything else passes unmarked. A
// backup device that cannot be opened is left unmarked: it is the listener
// unreachable or its certificate untrusted, which a DBA must fix but which
// may also be a listener restarting.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var me mssqldb.Error
	if errors.As(err, &me) {
		for _, e := range append(me.All, me) {
			switch e.Number {
			case errLoginFailed, errPermissionDenied, errNoPermission, errNoServerPermission,
				errNoDatabase, errDBCCNoDatabase, errCannotOpenDatabase, errDiskFull, errLogFull:
				return fault.Permanent(err)
			case errDeadlock, errLockTimeout, errServerPaused, errDatabaseInUse:
				return fault.Transient(err)
			}
		}
	}
	if errors.Is(err, driver.ErrBadConn) {
		return fault.Transient(err)
	}
	return err
}
