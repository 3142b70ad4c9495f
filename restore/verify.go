package restore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/repository"
)

// Verification is the outcome of a verify.
type Verification struct {
	BackupID    string                   `json:"backup_id"`
	Database    string                   `json:"database"`
	Target      string                   `json:"target"`
	Scratch     string                   `json:"scratch_database"`
	Verified    bool                     `json:"verified"`
	Problems    []string                 `json:"problems,omitempty"`
	Tables      int                      `json:"tables"`
	Rows        int64                    `json:"rows"`
	Integrity   *engines.IntegrityReport `json:"integrity,omitempty"`
	RestoreTime time.Duration            `json:"restore_ns"`
	CompareTime time.Duration            `json:"compare_ns"`
	CheckTime   time.Duration            `json:"check_ns"`
	Total       time.Duration            `json:"total_ns"`
	Kept        bool                     `json:"kept,omitempty"`
	JobID       int64                    `json:"job_id"`
	// Restored and Compared say which steps completed: a failed restore
	// compared nothing, and says so rather than "0 tables".
	Restored bool `json:"restored"`
	Compared bool `json:"compared"`
	// NotRun says why the verification could not run (NotRunError); the
	// other figures are then zero: nothing was restored or compared.
	NotRun string `json:"not_run,omitempty"`
}

// VerifyError is returned when a backup fails verification.
type VerifyError struct {
	BackupID string
	Problems []string
}

// Is makes a failed verification permanent (fault.ErrPermanent): the same
// backup fails the same way again.
func (e *VerifyError) Is(target error) bool { return target == fault.ErrPermanent }

func (e *VerifyError) Error() string {
	return fmt.Sprintf("backup %s failed verification: %s", e.BackupID, strings.Join(e.Problems, "; "))
}

// NotRunError is a verification that could not run: the scratch target
// did not answer (or stopped answering), the verification was cancelled,
// or the disk ran full. It says nothing about the backup, whose
// verification state stays as it was; the catalog records the job as
// catalog.StatusNotRun. Cause is what stopped it (unwrapped, so that
// retrying and cancellation see it).
type NotRunError struct {
	BackupID, Database, Target string
	Cause                      error
}

func (e *NotRunError) Error() string {
	return fmt.Sprintf("the verification of backup %s of %s on %s did not run: %v", e.BackupID, e.Database, e.Target, e.Cause)
}

func (e *NotRunError) Unwrap() error { return e.Cause }

// Is makes a NotRunError catalog.ErrNotRun.
func (e *NotRunError) Is(target error) bool { return target == catalog.ErrNotRun }

// ScratchName is the database a verification restores into.
func ScratchName(database, backupID string) string {
	n := "dbopsd_verify_" + sanitize.ReplaceAllString(strings.ToLower(database), "_") + "_" + sanitize.ReplaceAllString(strings.ToLower(backupID), "_")
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

var sanitize = regexp.MustCompile(`[^a-z0-9_]+`)

// Verify restores the backup into a scratch database on a scratch target,
// compares per-table statistics with the manifest, runs the engine's
// integrity checks and drops the scratch database. It returns a
// *VerifyError (with the Verification) when the backup is not good, and a
// *NotRunError (with the Verification, its NotRun saying why) when the
// verification could not run; only a verification that ran changes the
// backup's verification state in the catalog.
//
// The scratch database is recorded in the scratch ledger (r.Catalog) before
// it is created and marked when it is dropped or kept (ClaimScratch). An
// existing database of the scratch name is replaced only when the ledger
// says dbopsd created it; any other is left alone, and the verification
// fails saying so. Without a catalog nothing existing is replaced.
func Verify(ctx context.Context, r Request) (*Verification, error) {
	if !r.Target.Scratch {
		return nil, fmt.Errorf("restore target %q is not a scratch target (scratch = true): verification only restores onto scratch targets", r.Target.Name)
	}
	if r.Logger == nil {
		r.Logger = hclog.NewNullLogger()
	}
	var v *Verification
	start := time.Now()
	res, err := record(ctx, r, "verify", func(ctx context.Context, m *repository.Manifest, jobID int64) (*Result, error) {
		v = &Verification{BackupID: m.ID, Database: r.Database, Target: r.Target.Name, Scratch: ScratchName(r.Database, m.ID)}
		// The target answers before anything is claimed or restored: a
		// target that is down is no verdict on the backup.
		if _, err := r.Engine.DatabaseExists(ctx, r.Target.Conn, v.Scratch); err != nil {
			return nil, notRun(ctx, v, fmt.Errorf("the scratch target did not answer: %w", err))
		}
		claim, err := ClaimScratch(ctx, ScratchSpec{Catalog: r.Catalog, Engine: r.Engine, Target: r.Target, Name: v.Scratch,
			Purpose: PurposeVerify, Database: r.Database, BackupID: m.ID, JobID: jobID})
		if err != nil {
			return nil, fmt.Errorf("verifying backup %s of %s: %w", m.ID, r.Database, err)
		}
		r.As, r.Replace = claim.Name, claim.Replace
		res, err := verify(ctx, r, m, v, claim)
		v.Total = time.Since(start)
		return res, err
	})
	if v != nil && res != nil {
		v.JobID = res.JobID
	}
	var verr *VerifyError
	if r.Catalog != nil && v != nil && v.BackupID != "" && (err == nil || errors.As(err, &verr)) {
		status := "ok"
		if err != nil {
			status = "failed"
		}
		_ = r.Catalog.SetVerified(context.WithoutCancel(ctx), v.BackupID, status, time.Now())
	}
	return v, err
}

func verify(ctx context.Context, r Request, m *repository.Manifest, v *Verification, claim *ScratchClaim) (*Result, error) {
	log := r.Logger.Named("verify").With("database", r.Database, "backup", m.ID)
	res, err := load(ctx, r, m, 0) // a whole restore: the engine creates no scratch database of its own
	if res != nil {
		v.RestoreTime = res.Duration
	}
	// drop ends the claim: the scratch database is dropped, or kept for
	// inspection. A failed drop leaves the claim open for CleanupStale.
	drop := func() {
		var derr error
		if v.Kept {
			derr = claim.Keep(ctx, fmt.Sprintf("kept for inspection after a failed verification of %s (keep_on_failure)", m.ID))
		} else {
			derr = claim.Drop(ctx)
		}
		if derr != nil {
			log.Warn("ending the scratch database failed; the cleanup at the next start retries", "scratch", v.Scratch, "error", derr)
		}
	}
	if errors.Is(err, engines.ErrExists) {
		v.Problems = append(v.Problems, fmt.Sprintf("%s: the scratch ledger has no record that dbopsd created it, so it was left alone (drop it by hand if nobody needs it)", err))
		if nerr := claim.NotCreated(ctx, "a database of this name that dbopsd did not create was in the way"); nerr != nil {
			log.Warn("recording the scratch database as not created failed", "scratch", v.Scratch, "error", nerr)
		}
		return res, &VerifyError{BackupID: m.ID, Problems: v.Problems}
	}
	if err != nil && couldNotRun(ctx, r, v, err) {
		drop()
		return res, notRun(ctx, v, err)
	}
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		v.Kept = r.Target.KeepOnFailure
		if v.Kept {
			// Engines remove a half-restored database themselves: then
			// there is nothing to keep.
			ok, xerr := r.Engine.DatabaseExists(context.WithoutCancel(ctx), r.Target.Conn, v.Scratch)
			v.Kept = ok || xerr != nil
		}
		drop()
		return res, &VerifyError{BackupID: m.ID, Problems: v.Problems}
	}
	defer drop()
	v.Restored = true

	t0 := time.Now()
	want := m.Snapshot.Tables
	tables := make([]engines.TableRef, len(want))
	for i, t := range want {
		tables[i] = t.Table
		v.Rows += t.Rows
	}
	v.Tables = len(want)
	got, err := r.Engine.TableStats(ctx, r.Target.Conn, v.Scratch, tables)
	v.CompareTime = time.Since(t0)
	if err != nil && couldNotRun(ctx, r, v, err) {
		return res, notRun(ctx, v, fmt.Errorf("computing statistics of the restored copy: %w", err))
	}
	if err != nil {
		v.Problems = append(v.Problems, fmt.Sprintf("computing statistics of the restored copy: %v", err))
	} else {
		v.Compared = true
		v.Problems = append(v.Problems, engines.CompareStats(want, got)...)
	}

	t0 = time.Now()
	ir, err := r.Engine.CheckIntegrity(ctx, r.Target.Conn, v.Scratch)
	v.CheckTime = time.Since(t0)
	v.Integrity = ir
	if err != nil && couldNotRun(ctx, r, v, err) {
		return res, notRun(ctx, v, fmt.Errorf("integrity check: %w", err))
	}
	switch {
	case err != nil:
		v.Problems = append(v.Problems, fmt.Sprintf("integrity check: %v", err))
	case ir != nil && len(ir.Findings) > 0:
		for _, f := range ir.Findings {
			v.Problems = append(v.Problems, "integrity: "+f)
		}
	case ir != nil && ir.Skipped != "":
		log.Warn("integrity check skipped", "why", ir.Skipped)
	}
	if len(v.Problems) > 0 {
		v.Kept = r.Target.KeepOnFailure
		return res, &VerifyError{BackupID: m.ID, Problems: v.Problems}
	}
	v.Verified = true
	log.Info("backup verified", "tables", v.Tables, "rows", v.Rows, "restore", v.RestoreTime.Round(time.Millisecond))
	return res, nil
}

// couldNotRun reports whether a step of the verification (the restore, the
// statistics, the integrity check) failed for a cause outside the backup:
// the verification was cancelled, a disk ran full (fault.IsNoSpace: the
// adapters mark their servers' disk-full errors at the source, and ENOSPC
// counts wherever it arose), or the target stopped answering (asked again
// once the step failed).
func couldNotRun(ctx context.Context, r Request, v *Verification, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || fault.IsNoSpace(err) {
		return true
	}
	_, perr := r.Engine.DatabaseExists(context.WithoutCancel(ctx), r.Target.Conn, v.Scratch)
	return perr != nil
}

// notRun records in v, and returns, that the verification did not run
// because of cause.
func notRun(ctx context.Context, v *Verification, cause error) error {
	switch cerr := ctx.Err(); {
	case cerr != nil && errors.Is(cause, cerr):
		cause = fmt.Errorf("cancelled: %w", cause)
	case cerr != nil:
		cause = fmt.Errorf("cancelled (%w): %w", cerr, cause)
	}
	v.NotRun = cause.Error()
	return &NotRunError{BackupID: v.BackupID, Database: v.Database, Target: v.Target, Cause: cause}
}
