package restore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
)

// Target is where a restore goes.
type Target struct {
	Name          string // restore_target label
	Conn          engines.Conn
	Scratch       bool
	AllowRestore  bool
	KeepOnFailure bool
}

// Request is one restore.
type Request struct {
	Database string // the source database's name in the policy
	BackupID string // "" = newest
	Engine   engines.Engine
	Repo     *repository.Repo
	Catalog  *catalog.Catalog
	Target   Target
	As       string             // database name on the target
	Tables   []engines.TableRef // empty = whole database
	Replace  bool
	Parallel int
	Trigger  string
	OSUser   string
	Logger   hclog.Logger
	// Progress, when set, is told the bytes read so far and the total.
	Progress func(done, total int64)
	// TableScratch, for a table restore, is the scratch target an engine
	// that restores the whole backup first (SQL Server) restores it on
	// instead of Target's server; nil: Target.
	TableScratch *Target
}

// Result is a finished restore.
type Result struct {
	Backup   *repository.Manifest   `json:"-"`
	BackupID string                 `json:"backup_id"`
	Target   string                 `json:"target"`
	As       string                 `json:"as"`
	Tables   []engines.TableRef     `json:"tables,omitempty"`
	Report   *engines.RestoreReport `json:"report"`
	Duration time.Duration          `json:"duration_ns"`
	Bytes    int64                  `json:"bytes"`
	JobID    int64                  `json:"job_id"`
}

// Restore restores a backup onto a target that allows it.
func Restore(ctx context.Context, r Request) (*Result, error) {
	if !r.Target.Scratch && !r.Target.AllowRestore {
		return nil, fmt.Errorf("restore target %q is neither a scratch target nor has allow_restore = true: refusing to write to it", r.Target.Name)
	}
	if err := validName(r.As); err != nil {
		return nil, err
	}
	if r.Logger == nil {
		r.Logger = hclog.NewNullLogger()
	}
	return record(ctx, r, "restore", func(ctx context.Context, m *repository.Manifest, jobID int64) (*Result, error) {
		return load(ctx, r, m, jobID)
	})
}

// record finds the backup, runs fn (with the catalog job's id, 0 without a
// catalog) and writes the attempt to the catalog.
func record(ctx context.Context, r Request, kind string, fn func(context.Context, *repository.Manifest, int64) (*Result, error)) (*Result, error) {
	if r.Logger == nil {
		r.Logger = hclog.NewNullLogger()
	}
	var jobID int64
	if r.Catalog != nil {
		id, err := r.Catalog.StartJob(ctx, catalog.Job{Kind: kind, Database: r.Database, BackupID: r.BackupID,
			Target: r.Target.Name, TargetDatabase: r.As, Trigger: r.Trigger, OSUser: r.OSUser})
		if err != nil {
			return nil, err
		}
		jobID = id
	}
	m, err := r.Repo.FindBackup(ctx, r.Database, r.BackupID)
	var res *Result
	if err == nil {
		res, err = fn(ctx, m, jobID)
	}
	if r.Catalog != nil {
		rctx := context.WithoutCancel(ctx)
		var id string
		var bytes int64
		details := map[string]any{}
		if m != nil {
			id = m.ID
		}
		if res != nil {
			bytes = res.Bytes
			details["duration_seconds"] = res.Duration.Seconds()
			if rep := res.Report; rep != nil {
				details["skipped"], details["notes"] = rep.Skipped, rep.Notes
				// The same as Notes, for a reader in another language.
				if len(rep.SkippedMessages) > 0 {
					details["skipped_messages"] = rep.SkippedMessages
				}
				if len(rep.NoteMessages) > 0 {
					details["note_messages"] = rep.NoteMessages
				}
			}
		}
		var verr *VerifyError
		if errors.As(err, &verr) {
			details["problems"] = verr.Problems
		}
		if ferr := r.Catalog.FinishJob(rctx, jobID, id, bytes, err, details); ferr != nil && err == nil {
			err = ferr
		}
	}
	if res != nil {
		res.JobID = jobID
	}
	return res, err
}

// load restores m onto the target as r.As, for catalog job jobID.
func load(ctx context.Context, r Request, m *repository.Manifest, jobID int64) (*Result, error) {
	log := r.Logger.Named("restore").With("database", r.Database, "backup", m.ID, "target", r.Target.Name, "as", r.As)
	for _, t := range r.Tables {
		if _, ok := m.Snapshot.Table(t); !ok {
			return nil, fmt.Errorf("backup %s of %s has no table %s%s", m.ID, r.Database, t, didYouMeanTable(m.Snapshot.Tables, t))
		}
	}
	src := r.Repo.Source(m)
	total := bytesToRead(m, r.Tables)
	stop := make(chan struct{})
	defer close(stop)
	if r.Progress != nil {
		go func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					r.Progress(src.Read(), total)
				}
			}
		}()
	}
	log.Info("restore started", "type", m.Type, "tables", len(r.Tables))
	start := time.Now()
	if len(r.Tables) == 0 {
		// A whole restore reads every chunk the manifest lists, the row
		// fingerprints too, first: damage anywhere fails it before the
		// engine creates anything (repository/rows.go).
		if err := src.ReadFingerprints(ctx); err != nil {
			return nil, fmt.Errorf("restoring backup %s of %s onto %s as %q: %w", m.ID, r.Database, r.Target.Name, r.As, err)
		}
	}
	req := engines.RestoreRequest{
		Database: r.As, Tables: r.Tables, Replace: r.Replace, Parallel: max(r.Parallel, 1),
		Snapshot: m.Snapshot, Logger: log, Scratch: engineScratch(r, m, jobID),
	}
	if r.TableScratch != nil && len(r.Tables) > 0 {
		c := r.TableScratch.Conn
		req.ScratchTarget = &c
	}
	if m.Type == repository.Differential && m.Base != "" {
		req.BaseSource = func(ctx context.Context) (engines.PartSource, error) {
			full, err := r.Repo.FindBackup(ctx, r.Database, m.Base)
			if err != nil {
				return nil, fmt.Errorf("the full backup %s of differential %s: %w", m.Base, m.ID, err)
			}
			return r.Repo.Source(full), nil
		}
	}
	rep, err := r.Engine.Restore(ctx, r.Target.Conn, req, src)
	if err != nil {
		return nil, fmt.Errorf("restoring backup %s of %s onto %s as %q: %w", m.ID, r.Database, r.Target.Name, r.As, err)
	}
	if r.Progress != nil {
		r.Progress(src.Read(), total)
	}
	res := &Result{Backup: m, BackupID: m.ID, Target: r.Target.Name, As: r.As, Tables: r.Tables, Report: rep,
		Duration: time.Since(start), Bytes: src.Read()}
	log.Info("restore finished", "duration", res.Duration.Round(time.Millisecond))
	return res, nil
}

func validName(s string) error {
	if s == "" {
		return errors.New("no name for the restored database (--as)")
	}
	if len(s) > 63 {
		return fmt.Errorf("database name %q is longer than 63 bytes", s)
	}
	return nil
}

// bytesToRead is what a restore of tables (all when empty) reads: the
// schema and metadata parts, and the data parts of those tables.
func bytesToRead(m *repository.Manifest, tables []engines.TableRef) int64 {
	if len(tables) == 0 {
		return m.Stats.RawBytes
	}
	want := map[engines.TableRef]bool{}
	for _, t := range tables {
		want[t] = true
	}
	var n int64
	for _, p := range m.Parts {
		if p.Table == nil || want[*p.Table] {
			n += p.Size
		}
	}
	return n
}
