package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("backup of queue: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{fmt.Errorf("put chunk: %w: 503 Service Unavailable", fault.ErrTransient), true},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		// The engine adapters mark their tools' and servers' messages at the
		// source (engines/postgres TestClassifyStderr, TestToolErrorClassified);
		// the daemon reads no error text.
		{fault.Transient(errors.New("pg_dump: error: connection to server at \"10.1.1.11\", port 5432 failed: Connection refused")), true},
		{fault.Transient(errors.New("FATAL: the database system is starting up")), true},
		{errors.New("pg_dump: error: connection to server at \"10.1.1.11\", port 5432 failed: Connection refused"), false},
		{fmt.Errorf("backup of queue: %w", &repository.LockedError{}), true},
		{fmt.Errorf("backup of queue: %w", fault.Permanent(errors.New("password authentication failed for user \"dbops\""))), false},
		// Permanent wins over a transient-looking message.
		{fault.Permanent(errors.New("connection refused by pg_hba.conf")), false},
		{fmt.Errorf("opening the repository: %w", repository.ErrWrongPassphrase), false},
		{&restore.VerifyError{BackupID: "x", Problems: []string{"table t: 10 rows, backup has 11"}}, false},
		{context.Canceled, false},
		{errors.New("disk quota exceeded"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
