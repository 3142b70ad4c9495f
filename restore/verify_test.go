package restore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/restore"
)

// cancellingEngine is the real engine, with the verification cancelled as
// its restore starts (a SIGTERM, a Ctrl-C).
type cancellingEngine struct {
	engines.Engine
	cancel context.CancelFunc
}

func (e cancellingEngine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, src engines.PartSource) (*engines.RestoreReport, error) {
	e.cancel()
	return e.Engine.Restore(ctx, target, req, src)
}

// failingStats is the real engine, whose statistics of the restored copy
// fail while the target answers.
type failingStats struct{ engines.Engine }

func (failingStats) TableStats(context.Context, engines.Conn, string, []engines.TableRef) ([]engines.TableStats, error) {
	return nil, errors.New("the checksum query failed")
}

// fullTarget is the real engine on a target whose disk fills: its restore
// or its statistics fail with an out-of-space error as the adapter marks
// it, while the target answers.
type fullTarget struct {
	engines.Engine
	restoreErr, statsErr error
}

func (e fullTarget) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, src engines.PartSource) (*engines.RestoreReport, error) {
	rep, err := e.Engine.Restore(ctx, target, req, src)
	if err == nil && e.restoreErr != nil {
		return rep, e.restoreErr
	}
	return rep, err
}

func (e fullTarget) TableStats(ctx context.Context, target engines.Conn, db string, tables []engines.TableRef) ([]engines.TableStats, error) {
	if e.statsErr != nil {
		return nil, e.statsErr
	}
	return e.Engine.TableStats(ctx, target, db, tables)
}

// TestVerifyNotRun: a verification that could not run (the target does not
// answer, the run was cancelled) returns a *restore.NotRunError, records
// the job as not run with its cause (also a disk that ran full), leaves the backup's verification state
// and claims no scratch database it did not create. A step that fails
// while the target answers still fails the backup.
func TestVerifyNotRun(t *testing.T) {
	f := newFixture(t)
	verifyState := func() string {
		t.Helper()
		bs, err := f.cat.Backups(t.Context(), "hall")
		if err != nil || len(bs) != 1 {
			t.Fatalf("backups: %+v %v", bs, err)
		}
		return bs[0].VerifyStatus
	}
	lastVerify := func() catalog.Job {
		t.Helper()
		jobs, err := f.cat.Jobs(t.Context(), catalog.JobFilter{Kind: "verify"})
		if err != nil || len(jobs) == 0 {
			t.Fatalf("verify jobs: %+v %v", jobs, err)
		}
		return jobs[len(jobs)-1]
	}
	notRun := func(t *testing.T, v *restore.Verification, err error, cause string) {
		t.Helper()
		var nerr *restore.NotRunError
		if !errors.As(err, &nerr) || !errors.Is(err, catalog.ErrNotRun) || nerr.BackupID != f.full.ID {
			t.Fatalf("verify: %v, want a NotRunError", err)
		}
		if v == nil || v.Verified || !strings.Contains(v.NotRun, cause) || len(v.Problems) != 0 {
			t.Errorf("verification: %+v", v)
		}
		if j := lastVerify(); j.Status != catalog.StatusNotRun || !strings.Contains(j.Error, cause) || j.Details["problems"] != nil {
			t.Errorf("job: %s %q %v", j.Status, j.Error, j.Details)
		}
		if s := verifyState(); s != "" {
			t.Errorf("verification state of the backup: %q, want none", s)
		}
		if f.exists(t, restore.ScratchName("hall", f.full.ID)) {
			t.Error("the scratch database is left on the target")
		}
	}

	t.Run("target down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		req := f.request()
		req.Target.Conn = engines.Conn{DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
		v, err := restore.Verify(t.Context(), req)
		notRun(t, v, err, fmt.Sprint(port))
		if rows := f.ledger(t, restore.ScratchName("hall", f.full.ID)); len(rows) != 0 {
			t.Errorf("a scratch database was claimed on a target that did not answer: %+v", rows)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req := f.request()
		req.Engine = cancellingEngine{Engine: f.eng, cancel: cancel}
		v, err := restore.Verify(ctx, req)
		notRun(t, v, err, "cancelled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled verification is not context.Canceled: %v", err)
		}
	})

	// The adapters mark their servers' disk-full errors (SQLSTATE 53100,
	// ER_DISK_FULL, errno 28) with fault.NoSpace; the target still answers
	// when asked again, so only the mark tells it from a failure.
	diskFull := fault.Permanent(fault.NoSpace(errors.New(`loading table public.staff: ERROR: could not extend file "base/16384/16402": No space left on device (SQLSTATE 53100)`)))
	for _, tc := range []struct {
		name string
		eng  fullTarget
	}{
		{"disk full during the restore", fullTarget{Engine: f.eng, restoreErr: diskFull}},
		{"disk full during the statistics", fullTarget{Engine: f.eng, statsErr: fmt.Errorf("checksum of public.staff: %w",
			&os.PathError{Op: "write", Path: "/var/lib/postgresql/tmp/pgsql_tmp.1", Err: syscall.ENOSPC})}},
		{"quota full during the statistics", fullTarget{Engine: f.eng, statsErr: fmt.Errorf("checksum of public.staff: %w", syscall.EDQUOT)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request()
			req.Engine = tc.eng
			v, err := restore.Verify(t.Context(), req)
			cause := "space"
			if tc.eng.statsErr != nil {
				cause = tc.eng.statsErr.Error()
			}
			notRun(t, v, err, cause)
		})
	}

	t.Run("statistics fail, target answers", func(t *testing.T) {
		req := f.request()
		req.Engine = failingStats{f.eng}
		_, err := restore.Verify(t.Context(), req)
		var verr *restore.VerifyError
		if !errors.As(err, &verr) || errors.Is(err, catalog.ErrNotRun) || !strings.Contains(err.Error(), "the checksum query failed") {
			t.Fatalf("verify: %v, want a VerifyError", err)
		}
		if j := lastVerify(); j.Status != catalog.StatusFailed {
			t.Errorf("job: %s %q", j.Status, j.Error)
		}
		if s := verifyState(); s != catalog.StatusFailed {
			t.Errorf("verification state: %q, want failed", s)
		}
	})
}
