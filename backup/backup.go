package backup

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
)

// Job is one backup to run.
type Job struct {
	Database string // the database's name in the policy
	Engine   engines.Engine
	Conn     engines.Conn
	// Type is what was asked: repository.Full or repository.Differential.
	Type string
	// MaxDiffRatio: a differential that would store more than this fraction
	// of its full's stored bytes becomes a full (0 = no limit).
	MaxDiffRatio float64
	Parallel     int
	Repo         *repository.Repo
	Catalog      *catalog.Catalog
	Trigger      string // "cli", "schedule", "catch-up", ...
	OSUser       string
	RetainUntil  time.Time
	Logger       hclog.Logger
	// Progress, when set, receives byte counts as they move.
	Progress func(raw, stored int64)
	// TempDir is where a row-level differential spills rows (the state
	// directory's "tmp"; empty: the system's). See repository/rows.go.
	TempDir string
	// CopyOnly: a full of this job is taken outside the schedule, leaving
	// the server's native backup chain as it is (engines.BackupOptions).
	// Set for backups asked for by hand; a full that replaces a
	// differential keeps the job's setting.
	CopyOnly bool
	// NoCompression turns the engine's native backup compression off.
	NoCompression bool
}

// Result is a finished backup.
type Result struct {
	Manifest *repository.Manifest
	JobID    int64
}

// Run runs the backup and records the attempt in the catalog.
func Run(ctx context.Context, j Job) (*Result, error) {
	if j.Logger == nil {
		j.Logger = hclog.NewNullLogger()
	}
	log := j.Logger.Named("backup").With("database", j.Database)
	var jobID int64
	if j.Catalog != nil {
		id, err := j.Catalog.StartJob(ctx, catalog.Job{Kind: "backup", Database: j.Database, RequestedType: j.Type, Trigger: j.Trigger, OSUser: j.OSUser})
		if err != nil {
			return nil, err
		}
		jobID = id
	}
	m, err := run(ctx, j, log)
	if j.Catalog != nil {
		// Record the outcome even if ctx was cancelled.
		rctx := context.WithoutCancel(ctx)
		var id string
		var stored int64
		details := map[string]any{}
		if m != nil {
			id, stored = m.ID, m.Stats.StoredBytes
			details["type"], details["raw_bytes"], details["reason"] = m.Type, m.Stats.RawBytes, m.Reason
			if cerr := j.Catalog.AddBackup(rctx, catalog.FromManifest(m)); cerr != nil && err == nil {
				err = cerr
			}
		}
		if ferr := j.Catalog.FinishJob(rctx, jobID, id, stored, err, details); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		return nil, err
	}
	return &Result{Manifest: m, JobID: jobID}, nil
}

func run(ctx context.Context, j Job, log hclog.Logger) (*repository.Manifest, error) {
	// The lock refuses a second backup of the database while this one
	// runs, and keeps prune off its chunks; losing it stops the backup.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lock, err := j.Repo.AcquireLock(ctx, j.Database, repository.LockOptions{OnLost: cancel})
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", j.Database, err)
	}
	defer func() {
		if err := lock.Release(ctx); err != nil {
			log.Warn("the backup lock stays until it expires", "error", err)
		}
	}()
	p, err := decide(ctx, j.Repo, j.Database, j.Type)
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", j.Database, err)
	}
	if p.Reason != "" {
		log.Info(p.Reason)
	}
	m, err := attempt(ctx, j, p, lock, log)
	if errors.Is(err, errTooLarge) {
		reason := fmt.Sprintf("differential would store more than %.0f%% of its full (%s): took a full", j.MaxDiffRatio*100, p.Base.ID)
		log.Info(reason)
		m, err = attempt(ctx, j, plan{Type: repository.Full, Reason: reason}, lock, log)
	}
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", j.Database, err)
	}
	return m, nil
}

// attempt writes one backup according to p.
func attempt(ctx context.Context, j Job, p plan, lock *repository.Lock, log hclog.Logger) (*repository.Manifest, error) {
	id := repository.NewBackupID(time.Now())
	gen := id
	if p.Base != nil {
		gen = p.Base.Generation
	}
	if err := lock.SetBackup(ctx, id, gen); err != nil {
		return nil, err
	}
	var w *repository.Writer
	var limit int64
	if p.Type == repository.Differential && j.MaxDiffRatio > 0 {
		limit = int64(j.MaxDiffRatio * float64(p.Base.Stats.StoredBytes))
	}
	var stored atomic.Int64
	opts := repository.BackupOptions{
		ID: id, Database: j.Database, Engine: j.Engine.Name(), Type: p.Type, Base: p.Base, Reason: p.Reason,
		Trigger: j.Trigger, RetainUntil: j.RetainUntil, TempDir: j.TempDir,
		Progress: func(raw, st int64) {
			if j.Progress != nil {
				j.Progress(raw, st)
			}
			if limit > 0 && stored.Add(st) > limit {
				w.Cancel(errTooLarge)
			}
		},
	}
	w, err := j.Repo.NewBackup(ctx, opts)
	if err != nil {
		return nil, err
	}
	log.Info("backup started", "id", w.ID(), "type", p.Type, "generation", w.Generation())
	snap, err := j.Engine.Backup(ctx, j.Conn, engines.BackupOptions{
		Type: p.Type, Parallel: max(j.Parallel, 1), Logger: log,
		Base: baseSnapshot(p), CopyOnly: j.CopyOnly && p.Type == repository.Full, NoCompression: j.NoCompression,
	}, w)
	if err != nil {
		if cause := w.Err(); cause != nil {
			err = cause // the writer's reason (storage failure, too large) is the real one
		}
		w.Abort(err)
		return nil, err
	}
	m, err := w.Commit(ctx, snap)
	if err != nil {
		w.Abort(err)
		return nil, err
	}
	log.Info("backup finished", "id", m.ID, "type", m.Type, "raw_bytes", m.Stats.RawBytes,
		"stored_bytes", m.Stats.StoredBytes, "duration", m.Duration().Round(time.Millisecond),
		"temp_bytes", w.TempBytes(), "temp_dir", w.TempDir())
	for _, p := range m.Parts {
		if p.Method != "" {
			log.Info("table part stored as "+p.Method, "part", p.Name, "why", p.MethodReason)
		}
	}
	return m, nil
}

func baseSnapshot(p plan) *engines.Snapshot {
	if p.Base == nil {
		return nil
	}
	return p.Base.Snapshot
}
