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

// Purposes of scratch databases, as the ledger records them.
const (
	PurposeVerify = "verify"
	PurposeDrill  = "drill"
	// PurposeTableRestore: the whole backup restored under a scratch name
	// by an engine whose table restore needs one (SQL Server), on any
	// target a restore may write to (engineScratch).
	PurposeTableRestore = "table-restore"
)

// ErrScratchInUse is returned by ClaimScratch when the scratch database is
// being used by a job that is still running.
var ErrScratchInUse = errors.New("scratch database in use")

// ScratchSpec says which scratch database a job is about to create.
type ScratchSpec struct {
	// Catalog holds the scratch ledger. Without one (an engine's conformance
	// test) nothing is recorded, and so nothing existing is ever replaced.
	Catalog  *catalog.Catalog
	Engine   engines.Engine
	Target   Target
	Name     string
	Purpose  string // PurposeVerify or PurposeDrill
	Database string // the source database (policy label)
	BackupID string
	JobID    int64 // the catalog job creating it
}

// ScratchClaim is a scratch database recorded in the ledger before it is
// created. The job that claimed it ends the claim with exactly one of Drop,
// Keep or NotCreated; a claim never ended (a crash) is what CleanupStale
// finds.
type ScratchClaim struct {
	Name   string
	Target string
	Server string
	// Replace reports whether an existing database of this name may be
	// replaced: only when the ledger says dbopsd created it there and has
	// not dropped it (a leftover of a crash, or one kept for inspection).
	Replace bool
	// LedgerID is the claim's row in the scratch ledger (0 without one).
	LedgerID int64

	cat    *catalog.Catalog
	engine engines.Engine
	conn   engines.Conn
	ended  bool
}

// ClaimScratch records in the scratch ledger that dbopsd is about to create
// s.Name on the scratch target s.Target, and says whether an existing
// database of that name is dbopsd's to replace. It refuses a name that a
// running job is using (ErrScratchInUse), and any target that is not a
// scratch target.
func ClaimScratch(ctx context.Context, s ScratchSpec) (*ScratchClaim, error) {
	if !s.Target.Scratch {
		return nil, fmt.Errorf("restore target %q is not a scratch target: dbopsd creates and drops scratch databases only on scratch targets", s.Target.Name)
	}
	if err := validName(s.Name); err != nil {
		return nil, err
	}
	c := &ScratchClaim{Name: s.Name, Target: s.Target.Name, Server: ServerOf(s.Engine, s.Target.Conn),
		cat: s.Catalog, engine: s.Engine, conn: s.Target.Conn}
	if s.Catalog == nil {
		return c, nil
	}
	prev, err := s.Catalog.ScratchDatabases(ctx, catalog.ScratchFilter{Target: s.Target.Name, Name: s.Name,
		States: []string{catalog.ScratchCreated, catalog.ScratchKept}})
	if err != nil {
		return nil, fmt.Errorf("claiming scratch database %s on %s: %w", s.Name, s.Target.Name, err)
	}
	var ours []catalog.Scratch
	for _, p := range prev {
		if p.Server != c.Server {
			continue // created when the target named another server: not this database
		}
		if p.JobRunning && p.JobID != s.JobID {
			return nil, fmt.Errorf("scratch database %s on %s is being used by job %d (started %s): %w",
				s.Name, s.Target.Name, p.JobID, p.CreatedAt.Local().Format(time.DateTime), ErrScratchInUse)
		}
		ours = append(ours, p)
	}
	id, err := s.Catalog.RecordScratch(ctx, catalog.Scratch{Target: s.Target.Name, Server: c.Server, Engine: engineName(s.Engine),
		Name: s.Name, Purpose: s.Purpose, Database: s.Database, BackupID: s.BackupID, JobID: s.JobID})
	if err != nil {
		return nil, fmt.Errorf("claiming scratch database %s on %s: %w", s.Name, s.Target.Name, err)
	}
	c.LedgerID = id
	for _, p := range ours {
		note := fmt.Sprintf("replaced by job %d (scratch ledger row %d)", s.JobID, id)
		if err := s.Catalog.SetScratchState(ctx, p.ID, catalog.ScratchDropped, note); err != nil {
			return nil, fmt.Errorf("claiming scratch database %s on %s: %w", s.Name, s.Target.Name, err)
		}
		c.Replace = true
	}
	return c, nil
}

// Drop drops the scratch database and records that in the ledger. When the
// drop fails the claim stays open, so that CleanupStale retries it.
func (c *ScratchClaim) Drop(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	if err := c.engine.DropDatabase(ctx, c.conn, c.Name); err != nil {
		return fmt.Errorf("dropping scratch database %s on %s: %w", c.Name, c.Target, err)
	}
	return c.end(ctx, catalog.ScratchDropped, "dropped by the job that created it")
}

// Keep leaves the scratch database in place on purpose (keep_on_failure, a
// drill that keeps its copy), saying why. It stays dbopsd's: a later job may
// replace it, and CleanupStale drops it only when asked to.
func (c *ScratchClaim) Keep(ctx context.Context, why string) error {
	return c.end(context.WithoutCancel(ctx), catalog.ScratchKept, why)
}

// NotCreated records that the database was not created after all because a
// database of that name, which dbopsd did not create, is in the way (the
// engine said engines.ErrExists): it is left alone and never dropped.
func (c *ScratchClaim) NotCreated(ctx context.Context, why string) error {
	return c.end(context.WithoutCancel(ctx), catalog.ScratchNotCreated, why)
}

func (c *ScratchClaim) end(ctx context.Context, state, note string) error {
	if c.ended {
		return fmt.Errorf("scratch database %s on %s: claim already ended", c.Name, c.Target)
	}
	c.ended = true
	if c.cat == nil {
		return nil
	}
	return c.cat.SetScratchState(ctx, c.LedgerID, state, note)
}

// Cleanup says where CleanupStale looks.
type Cleanup struct {
	Catalog *catalog.Catalog
	// Targets are the restore targets of the current policy, with their
	// engines; ledger rows of other targets are left and reported.
	Targets []CleanupTarget
	// Before: only databases recorded before this time are stale. At the
	// daemon's start that is the start time; while jobs run, the start of
	// the oldest running job, so that no running job loses its database.
	Before time.Time
	// Kept also drops databases kept on purpose (keep_on_failure).
	Kept   bool
	Logger hclog.Logger
}

// CleanupTarget is a restore target and its engine.
type CleanupTarget struct {
	Target Target
	Engine engines.Engine
}

// CleanupReport says what CleanupStale dropped and what it left, and why.
type CleanupReport struct {
	Dropped []catalog.Scratch `json:"dropped"`
	Left    []LeftScratch     `json:"left,omitempty"`
}

// LeftScratch is a stale ledger row CleanupStale did not drop.
type LeftScratch struct {
	catalog.Scratch
	Reason string `json:"reason"`
}

// CleanupStale drops the scratch databases the ledger says dbopsd created
// before c.Before and never dropped: leftovers of a crash (and, with
// c.Kept, those kept for inspection). Only those: a database that is not in
// the ledger is never touched, whatever its name. A row is left alone, and
// reported, when its target is gone from the policy, is no longer a scratch
// target, now names another server or engine. Drop failures are returned
// together; the rows stay open for the next cleanup.
func CleanupStale(ctx context.Context, c Cleanup) (*CleanupReport, error) {
	if c.Catalog == nil {
		return nil, errors.New("cleaning up stale scratch databases: no catalog (the scratch ledger lives there)")
	}
	if c.Before.IsZero() {
		return nil, errors.New("cleaning up stale scratch databases: no cut-off time (Cleanup.Before)")
	}
	log := c.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log = log.Named("scratch")
	states := []string{catalog.ScratchCreated}
	if c.Kept {
		states = append(states, catalog.ScratchKept)
	}
	stale, err := c.Catalog.ScratchDatabases(ctx, catalog.ScratchFilter{States: states, Before: c.Before})
	if err != nil {
		return nil, fmt.Errorf("cleaning up stale scratch databases: %w", err)
	}
	targets := map[string]CleanupTarget{}
	for _, t := range c.Targets {
		targets[t.Target.Name] = t
	}
	rep := &CleanupReport{Dropped: []catalog.Scratch{}}
	var errs []error
	for _, s := range stale {
		t, ok := targets[s.Target]
		reason := ""
		switch {
		case !ok:
			reason = fmt.Sprintf("restore_target %q is no longer in the policy", s.Target)
		case !t.Target.Scratch && s.Purpose != PurposeTableRestore:
			reason = fmt.Sprintf("restore_target %q is no longer a scratch target", s.Target)
		case ServerOf(t.Engine, t.Target.Conn) != s.Server:
			reason = fmt.Sprintf("restore_target %q now names server %s, the database was created on %s", s.Target, ServerOf(t.Engine, t.Target.Conn), s.Server)
		case s.Engine != "" && engineName(t.Engine) != s.Engine:
			reason = fmt.Sprintf("restore_target %q is now %s, the database was created on %s", s.Target, engineName(t.Engine), s.Engine)
		}
		if reason != "" {
			log.Warn("stale scratch database left in place", "target", s.Target, "name", s.Name, "why", reason)
			rep.Left = append(rep.Left, LeftScratch{Scratch: s, Reason: reason})
			continue
		}
		if err := t.Engine.DropDatabase(ctx, t.Target.Conn, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("dropping stale scratch database %s on %s: %w", s.Name, s.Target, err))
			continue
		}
		note := fmt.Sprintf("stale: left by job %d, dropped by the cleanup of %s", s.JobID, time.Now().Format(time.RFC3339))
		if err := c.Catalog.SetScratchState(ctx, s.ID, catalog.ScratchDropped, note); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("stale scratch database dropped", "target", s.Target, "name", s.Name, "job", s.JobID, "created", s.CreatedAt)
		s.State, s.Note = catalog.ScratchDropped, note
		rep.Dropped = append(rep.Dropped, s)
	}
	return rep, errors.Join(errs...)
}

// ServerOf is the host:port (or socket) a connection of engine e names:
// what the ledger records, so that a target later pointed elsewhere is not
// confused with the server a database was created on. It holds no secret.
func ServerOf(e engines.Engine, conn engines.Conn) string {
	return engines.ServerOf(engineName(e), conn.DSN)
}

func engineName(e engines.Engine) string {
	if e == nil {
		return ""
	}
	return e.Name()
}

// engineScratch is the engines.RestoreRequest.Scratch of a table restore:
// the scratch database the engine creates for it is recorded in the
// ledger (PurposeTableRestore) before it exists, and marked dropped when
// the engine has dropped it; CleanupStale drops one a crash left, on
// scratch and allow_restore targets alike. Nil without a catalog or
// tables.
func engineScratch(r Request, m *repository.Manifest, jobID int64) func(context.Context, string) (func(context.Context, bool), error) {
	if r.Catalog == nil || len(r.Tables) == 0 {
		return nil
	}
	on := r.Target
	if r.TableScratch != nil {
		on = *r.TableScratch
	}
	return func(ctx context.Context, name string) (func(context.Context, bool), error) {
		id, err := r.Catalog.RecordScratch(ctx, catalog.Scratch{Target: on.Name, Server: ServerOf(r.Engine, on.Conn),
			Engine: engineName(r.Engine), Name: name, Purpose: PurposeTableRestore, Database: r.Database, BackupID: m.ID, JobID: jobID})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, dropped bool) {
			if !dropped {
				return // left for CleanupStale
			}
			if err := r.Catalog.SetScratchState(context.WithoutCancel(ctx), id, catalog.ScratchDropped, "dropped by the table restore that created it"); err != nil {
				r.Logger.Warn("the scratch ledger still lists a dropped scratch database", "name", name, "error", err)
			}
		}, nil
	}
}
