package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error // fault.ErrTransient, fault.ErrPermanent or nil
	}{
		{"28P01", fault.ErrPermanent}, // invalid_password
		{"3D000", fault.ErrPermanent},
		{"42501", fault.ErrPermanent},
		{"57P03", fault.ErrTransient}, // the database system is starting up
		{"57P01", fault.ErrTransient},
		{"08006", fault.ErrTransient},
		{"53300", fault.ErrTransient},
		{"40P01", fault.ErrTransient},
		{"23505", nil}, // unique_violation: a bug or bad data, not passing trouble
	} {
		err := classify(fmt.Errorf("listing tables: %w", &pgconn.PgError{Severity: "FATAL", Code: tc.code}))
		for _, class := range []error{fault.ErrTransient, fault.ErrPermanent} {
			if errors.Is(err, class) != (class == tc.want) {
				t.Errorf("classify(SQLSTATE %s): Is(%v) = %v", tc.code, class, errors.Is(err, class))
			}
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

// A full disk is marked at the source, whatever its retry class: restore
// then records a verification that hit it as not run.
func TestClassifyNoSpace(t *testing.T) {
	for _, tc := range []struct {
		code string
		want bool
	}{
		{"53100", true},  // disk_full
		{"53200", false}, // out_of_memory: not a disk
		{"53300", false}, // too_many_connections
		{"54000", false}, // program_limit_exceeded
		{"23505", false},
	} {
		err := classify(fmt.Errorf("loading table t: %w", &pgconn.PgError{Severity: "ERROR", Code: tc.code,
			Message: `could not extend file "base/16384/16385": No space left on device`}))
		if fault.IsNoSpace(err) != tc.want {
			t.Errorf("classify(SQLSTATE %s): IsNoSpace = %v, want %v", tc.code, !tc.want, tc.want)
		}
	}
	if err := classify(errors.New("could not write: No space left on device")); fault.IsNoSpace(err) {
		t.Errorf("classify read the text of a driver error: %v", err)
	}
	for _, tc := range []struct {
		stderr string
		want   bool
		class  error
	}{
		{"pg_restore: error: could not execute query: ERROR:  could not extend file \"base/16384/16402\": No space left on device\n" +
			"HINT:  Check free disk space.", true, nil},
		{"pg_dump: error: could not write to output file: No space left on device", true, nil},
		{"pg_restore: error: could not execute query: server closed the connection unexpectedly\n" +
			"pg_restore: error: could not write to file: No space left on device", true, fault.ErrTransient},
		{"pg_restore: error: could not read input file: end of file", false, nil},
	} {
		err := classifyStderr(errors.New("pg_restore 17.2: exit status 1: "+tc.stderr), tc.stderr)
		if fault.IsNoSpace(err) != tc.want {
			t.Errorf("classifyStderr(%q): IsNoSpace = %v", tc.stderr, !tc.want)
		}
		for _, class := range []error{fault.ErrTransient, fault.ErrPermanent} {
			if errors.Is(err, class) != (class == tc.class) {
				t.Errorf("classifyStderr(%q): Is(%v) = %v", tc.stderr, class, errors.Is(err, class))
			}
		}
	}
}

func TestClassifyStderr(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   error
	}{
		{`pg_dump: error: connection to server at "10.1.1.11", port 5432 failed: Connection refused`, fault.ErrTransient},
		{"pg_dump: error: connection to server at \"h\", port 5432 failed: FATAL:  the database system is starting up", fault.ErrTransient},
		{"pg_restore: error: could not execute query: server closed the connection unexpectedly", fault.ErrTransient},
		{"pg_dump: error: connection to server at \"h\", port 5432 failed: FATAL:  sorry, too many clients already", fault.ErrTransient},
		{"pg_dump: error: connection to server at \"h\", port 5432 failed: FATAL:  password authentication failed for user \"dbops\"", fault.ErrPermanent},
		// A permanent line wins over a transient-looking one.
		{"pg_dump: error: connection to server at \"h\", port 5432 failed: Connection refused\n" +
			"connection to server at \"h\", port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.9\"", fault.ErrPermanent},
		{"pg_dump: error: aborting because of server version mismatch", fault.ErrPermanent},
		{"pg_restore: error: could not read input file: end of file", nil},
	} {
		err := classifyStderr(errors.New("pg_dump 17.2: exit status 1: "+tc.stderr), tc.stderr)
		for _, class := range []error{fault.ErrTransient, fault.ErrPermanent} {
			if errors.Is(err, class) != (class == tc.want) {
				t.Errorf("classifyStderr(%q): Is(%v) = %v", tc.stderr, class, errors.Is(err, class))
			}
		}
	}
}

// A real pg_dump that cannot reach its server fails with an error the
// daemon retries: the exit status alone says nothing, the adapter reads the
// message.
func TestToolErrorClassified(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pgDump, err := New().findTool(ctx, "", "pg_dump", 9)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := newChildConn(engines.Conn{DSN: fmt.Sprintf("postgres://dbops@127.0.0.1:%d/queue?sslmode=disable", port)}, "queue")
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(ctx, pgDump, []string{"--no-password", "--schema-only", cc.conninfo}, cc, nil)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("pg_dump against a closed port = %v, want an exit status", err)
	}
	if !errors.Is(err, fault.ErrTransient) || !fault.IsTransient(err) {
		t.Fatalf("pg_dump against a closed port: not marked transient: %v", err)
	}
}
