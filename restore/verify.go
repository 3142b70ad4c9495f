package restore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
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
}

// VerifyError is returned when a backup fails verification.
type VerifyError struct {
	BackupID string
	Problems []string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("backup %s failed verification: %s", e.BackupID, strings.Join(e.Problems, "; "))
}

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
// *VerifyError (with the Verification) when the backup is not good.
func Verify(ctx context.Context, r Request) (*Verification, error) {
	if !r.Target.Scratch {
		return nil, fmt.Errorf("restore target %q is not a scratch target (scratch = true): verification only restores onto scratch targets", r.Target.Name)
	}
	var v *Verification
	start := time.Now()
	res, err := record(ctx, r, "verify", func(ctx context.Context, m *repository.Manifest) (*Result, error) {
		r.As = ScratchName(r.Database, m.ID)
		r.Replace = true // the scratch name is ours; a leftover from a crash is replaced
		v = &Verification{BackupID: m.ID, Database: r.Database, Target: r.Target.Name, Scratch: r.As}
		res, err := verify(ctx, r, m, v)
		v.Total = time.Since(start)
		return res, err
	})
	if v != nil && res != nil {
		v.JobID = res.JobID
	}
	if r.Catalog != nil && v != nil && v.BackupID != "" {
		status := "ok"
		if err != nil {
			status = "failed"
		}
		_ = r.Catalog.SetVerified(context.WithoutCancel(ctx), v.BackupID, status, time.Now())
	}
	return v, err
}

func verify(ctx context.Context, r Request, m *repository.Manifest, v *Verification) (*Result, error) {
	log := r.Logger.Named("verify").With("database", r.Database, "backup", m.ID)
	r.As = v.Scratch
	res, err := load(ctx, r, m)
	if res != nil {
		v.RestoreTime = res.Duration
	}
	drop := func() {
		if v.Kept {
			return
		}
		if derr := r.Engine.DropDatabase(context.WithoutCancel(ctx), r.Target.Conn, v.Scratch); derr != nil {
			log.Warn("dropping the scratch database failed", "scratch", v.Scratch, "error", derr)
		}
	}
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
		v.Kept = r.Target.KeepOnFailure
		drop()
		return res, &VerifyError{BackupID: m.ID, Problems: v.Problems}
	}
	defer drop()

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
	if err != nil {
		v.Problems = append(v.Problems, fmt.Sprintf("computing statistics of the restored copy: %v", err))
	} else {
		v.Problems = append(v.Problems, engines.CompareStats(want, got)...)
	}

	t0 = time.Now()
	ir, err := r.Engine.CheckIntegrity(ctx, r.Target.Conn, v.Scratch)
	v.CheckTime = time.Since(t0)
	v.Integrity = ir
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
