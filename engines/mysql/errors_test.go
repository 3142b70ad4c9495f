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

// A full disk is marked at the source, beside its permanent class: restore
// then records a verification that hit it as not run. ENOSPC counts only as
// a number in the message.
func TestClassifyNoSpace(t *testing.T) {
	for _, tc := range []struct {
		err  *mysql.MySQLError
		want bool
	}{
		{&mysql.MySQLError{Number: erRecordFileFull, Message: "The table 't' is full"}, true},
		{&mysql.MySQLError{Number: erDiskFull, Message: "Disk full (./hall/t.ibd); waiting for someone to free some space..."}, true},
		{&mysql.MySQLError{Number: eeWrite, Message: `Error writing file './hall/t.ibd' (Errcode: 28 "No space left on device")`}, true},
		{&mysql.MySQLError{Number: 1030, Message: `Got error 28 "No space left on device" from storage engine InnoDB`}, true},
		{&mysql.MySQLError{Number: 3, Message: `Error writing file '/tmp/MYfd=42' (errno: 28 "No space left on device")`}, true},
		{&mysql.MySQLError{Number: 1026, Message: "Error writing file './hall/t.MYD' (OS errno 28 - No space left on device)"}, true},
		// Words without the number are not read: a server in another
		// language says them otherwise.
		{&mysql.MySQLError{Number: 1030, Message: "No space left on device"}, false},
		{&mysql.MySQLError{Number: 1030, Message: `Got error 280 from storage engine`}, false},
		{&mysql.MySQLError{Number: 1030, Message: `Got error 128 "Too many active concurrent transactions" from storage engine InnoDB`}, false},
		{&mysql.MySQLError{Number: erLockDeadlock, Message: "Deadlock found when trying to get lock"}, false},
	} {
		err := classify(fmt.Errorf("loading table t: %w", tc.err))
		if fault.IsNoSpace(err) != tc.want {
			t.Errorf("classify(%v): IsNoSpace = %v, want %v", tc.err, !tc.want, tc.want)
		}
		if tc.want && !errors.Is(err, fault.ErrPermanent) {
			t.Errorf("classify(%v) is not permanent", tc.err)
		}
		if tc.want && !fault.IsNoSpace(spaceError("loading table t", tc.err)) {
			t.Errorf("spaceError(%v) is not marked out of space", tc.err)
		}
	}
	if fault.IsNoSpace(classify(errors.New(`Got error 28 "No space left on device"`))) {
		t.Error("classify marked the text of an error that is not the server's")
	}
}
