package mysql

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/internal/fault"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error // fault.ErrTransient, fault.ErrPermanent or nil
	}{
		{&mysql.MySQLError{Number: erAccessDenied, Message: "Access denied for user 'dbops'@'10.0.0.9'"}, fault.ErrPermanent},
		{&mysql.MySQLError{Number: erBadDB, Message: "Unknown database 'queue'"}, fault.ErrPermanent},
		{&mysql.MySQLError{Number: erDiskFull, Message: "Disk full"}, fault.ErrPermanent},
		{&mysql.MySQLError{Number: erConCount, Message: "Too many connections"}, fault.ErrTransient},
		{&mysql.MySQLError{Number: erServerShutdown, Message: "Server shutdown in progress"}, fault.ErrTransient},
		{&mysql.MySQLError{Number: erConnectionKilled, Message: "Connection was killed"}, fault.ErrTransient},
		{&mysql.MySQLError{Number: erLockDeadlock, Message: "Deadlock found when trying to get lock"}, fault.ErrTransient},
		{mysql.ErrInvalidConn, fault.ErrTransient},
		{driver.ErrBadConn, fault.ErrTransient},
		{&mysql.MySQLError{Number: erNoSuchTable, Message: "Table 'queue.t' doesn't exist"}, nil},
		{errors.New("server has gone away"), nil}, // text alone is not read
	} {
		err := classify(fmt.Errorf("dumping table t: %w", tc.err))
		for _, class := range []error{fault.ErrTransient, fault.ErrPermanent} {
			if errors.Is(err, class) != (class == tc.want) {
				t.Errorf("classify(%v): Is(%v) = %v", tc.err, class, errors.Is(err, class))
			}
		}
	}
	// A table's dump that lost its connection is retried with the job.
	if err := tableError("t", "dumping", mysql.ErrInvalidConn); !fault.IsTransient(err) {
		t.Errorf("tableError(lost connection) = %v, not transient", err)
	}
}
