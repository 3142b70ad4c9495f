package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
)

// JobKind is the catalog job kind of a drill.
const JobKind = "drill"

// FailedError is returned, with the report, when a drill ran and its
// verdict is Fail.
type FailedError struct {
	ID       string
	Problems []string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("drill %s failed: %s", e.ID, strings.Join(e.Problems, "; "))
}

// Run runs a drill: it finds the backup (and its chain), restores it onto
// the target with restore.Restore, compares every restored table's rows and
// checksum with those recorded at backup time, runs the engine's integrity
// checks, and drops the copy when it is a scratch database the drill
// created (unless s.Keep, or keep_on_failure after a failure). It measures
// each step, records the drill as a catalog job (kind "drill") and stores
// the report in s.StateDir.
//
// A drill that ran returns its report, and a *FailedError when the verdict
// is Fail. Other errors (an invalid Spec, the catalog or the report could
// not be written) come with whatever report there is.
func Run(ctx context.Context, s Spec) (*Report, error) {
	if err := s.normalize(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{
		Version: ReportVersion, ID: s.ID, Scenario: s.Scenario, Request: s.Request, Database: s.Database,
		Engine: s.Engine.Name(), SourceServer: s.SourceServer, StartedAt: start, Trigger: s.Trigger, OSUser: s.OSUser,
		Checks: []Check{},
		Target: TargetInfo{Name: s.Target.Name, Server: restore.ServerOf(s.Engine, s.Target.Conn), Scratch: s.Target.Scratch,
			Database: s.As, Replace: s.Replace},
	}
	rep.Host, _ = os.Hostname()
	for _, t := range s.Tables {
		rep.Target.Tables = append(rep.Target.Tables, t.String())
	}
	if s.Catalog != nil {
		id, err := s.Catalog.StartJob(ctx, catalog.Job{Kind: JobKind, Database: s.Database, BackupID: s.BackupID,
			Target: s.Target.Name, TargetDatabase: s.As, Trigger: s.Trigger, OSUser: s.OSUser})
		if err != nil {
			return nil, fmt.Errorf("drill %s: %w", s.ID, err)
		}
		rep.JobID = id
	}
	d := &drill{s: s, rep: rep, log: s.Logger.Named("drill").With("drill", s.ID, "database", s.Database, "target", s.Target.Name, "as", s.As)}
	d.log.Info("drill started", "scenario", s.Scenario, "backup", orNewest(s.BackupID))
	d.run(ctx)
	rep.FinishedAt = time.Now()
	rep.Timings.Total = rep.FinishedAt.Sub(start)
	rep.Verdict = Pass
	for _, c := range rep.Checks {
		if c.Status == Fail {
			rep.Verdict = Fail
			rep.Problems = append(rep.Problems, c.Name+": "+c.Detail)
		}
	}
	var runErr error
	if rep.Verdict == Fail {
		runErr = &FailedError{ID: rep.ID, Problems: rep.Problems}
	}
	d.log.Info("drill finished", "verdict", rep.Verdict, "restore", rep.Timings.Restore.Round(time.Millisecond),
		"checks", rep.Timings.Checks.Round(time.Millisecond), "total", rep.Timings.Total.Round(time.Millisecond))

	var errs []error
	if s.StateDir != "" {
		if err := Save(s.StateDir, rep, s.Language, s.Location); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Catalog != nil {
		details := map[string]any{
			"drill": rep.ID, "scenario": rep.Scenario, "verdict": rep.Verdict,
			"restore_seconds": rep.Timings.Restore.Seconds(), "checks_seconds": rep.Timings.Checks.Seconds(),
			"total_seconds": rep.Timings.Total.Seconds(), "disposition": rep.Target.Disposition,
		}
		if rep.Request != nil {
			details["request"], details["requester"], details["approvers"] = rep.Request.ID, rep.Request.Requester, rep.Request.Approvers
		}
		if len(rep.Problems) > 0 {
			details["problems"] = rep.Problems
		}
		if err := s.Catalog.FinishJob(context.WithoutCancel(ctx), rep.JobID, rep.BackupID(), rep.BytesRead, runErr, details); err != nil {
			errs = append(errs, fmt.Errorf("drill %s: %w", rep.ID, err))
		}
	}
	if runErr != nil {
		errs = append([]error{runErr}, errs...)
	}
	return rep, errors.Join(errs...)
}

// normalize checks the spec and fills in defaults.
func (s *Spec) normalize() error {
	switch {
	case s.Engine == nil:
		return errors.New("drill: no engine")
	case s.Repo == nil:
		return errors.New("drill: no repository")
	case s.Database == "":
		return errors.New("drill: no database")
	case s.As == "":
		return errors.New("drill: no name to restore as")
	case s.Target.Name == "":
		return errors.New("drill: no restore target")
	case !s.Target.Scratch && !s.Target.AllowRestore:
		return fmt.Errorf("drill: restore target %q is neither a scratch target nor has allow_restore = true: refusing to write to it", s.Target.Name)
	}
	if s.ID == "" && s.Request != nil {
		s.ID = s.Request.ID
	}
	if s.ID == "" {
		s.ID = NewID(time.Now())
	}
	if err := checkID(s.ID); err != nil {
		return err
	}
	if s.Scenario == "" {
		s.Scenario = ScenarioOf(s.Tables, s.SourceServer, restore.ServerOf(s.Engine, s.Target.Conn))
	}
	switch s.Scenario {
	case ScenarioTable:
		if len(s.Tables) == 0 {
			return fmt.Errorf("drill %s: a single-table drill needs tables", s.ID)
		}
	case ScenarioFull, ScenarioRedirected:
		if len(s.Tables) > 0 {
			return fmt.Errorf("drill %s: a %s drill restores the whole database; tables belong to a %s drill", s.ID, s.Scenario, ScenarioTable)
		}
	default:
		return fmt.Errorf("drill %s: unknown scenario %q (want %s, %s or %s)", s.ID, s.Scenario, ScenarioFull, ScenarioTable, ScenarioRedirected)
	}
	lang, err := NormalizeLang(s.Language)
	if err != nil {
		return fmt.Errorf("drill %s: %w", s.ID, err)
	}
	s.Language = lang
	if s.Parallel < 1 {
		s.Parallel = 2
	}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
	return nil
}

// NewID returns a drill id for a drill without a request: the UTC start
// time and randomness, e.g. "D20260301-101500-3f9a2c".
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "D" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func orNewest(id string) string {
	if id == "" {
		return "newest"
	}
	return id
}

// drill is one run in progress.
type drill struct {
	s   Spec
	rep *Report
	log hclog.Logger
	// claim is the ledger's record of the copy, when the drill created it
	// on a scratch target (nil otherwise).
	claim *restore.ScratchClaim
}

func (d *drill) check(name, status string, took time.Duration, format string, a ...any) {
	d.rep.Checks = append(d.rep.Checks, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...), Duration: took})
}

func (d *drill) skipRest(why string, names ...string) {
	for _, n := range names {
		d.check(n, Skip, 0, "%s", why)
	}
}

func (d *drill) run(ctx context.Context) {
	s, rep := d.s, d.rep
	t0 := time.Now()
	m, err := s.Repo.FindBackup(ctx, s.Database, s.BackupID)
	if err != nil {
		d.check(CheckBackup, Fail, time.Since(t0), "%v", err)
		d.skipRest("not run: no backup to restore", CheckRestore, CheckStatistics, CheckIntegrity, CheckCleanup)
		rep.Target.Disposition, rep.Target.DispositionNote = Left, "nothing was restored"
		return
	}
	b := backupInfo(m)
	rep.Backup = &b
	rep.Chain = d.chain(ctx, m)
	what := fmt.Sprintf("backup %s (%s", m.ID, m.Type)
	if m.Type == repository.Differential {
		what += " of full " + m.Base
	}
	d.check(CheckBackup, Pass, time.Since(t0), "%s), taken %s, %d tables, %d rows", what,
		m.StartedAt.UTC().Format(time.RFC3339), b.Tables, b.Rows)

	replace, err := d.claimScratch(ctx, m)
	if err != nil {
		d.check(CheckRestore, Fail, 0, "%v", err)
		d.skipRest("not run: nothing was restored", CheckStatistics, CheckIntegrity)
		d.cleanup(ctx, true, true)
		return
	}

	t0 = time.Now()
	res, err := restore.Restore(ctx, restore.Request{
		Database: s.Database, BackupID: m.ID, Engine: s.Engine, Repo: s.Repo, Target: s.Target, As: s.As,
		Tables: s.Tables, Replace: replace, Parallel: s.Parallel, Trigger: s.Trigger, OSUser: s.OSUser,
		Logger: s.Logger, Progress: s.Progress,
	})
	rep.Timings.Restore = time.Since(t0)
	if res != nil {
		rep.Timings.Restore, rep.BytesRead, rep.Restore = res.Duration, res.Bytes, res.Report
	}
	if err != nil {
		d.check(CheckRestore, Fail, rep.Timings.Restore, "%v", err)
		if errors.Is(err, engines.ErrExists) && d.claim != nil {
			// Not ours: the name is taken by a database dbopsd did not create.
			d.endClaim(ctx, d.claim.NotCreated(ctx, "a database of this name that dbopsd did not create was in the way"))
			d.claim = nil
			rep.Target.Disposition, rep.Target.DispositionNote = Left, "a database of that name already existed and was not dbopsd's: left untouched"
		}
		d.skipRest("not run: the restore failed", CheckStatistics, CheckIntegrity)
		d.cleanup(ctx, true, true)
		return
	}
	what = "the whole database"
	if len(s.Tables) > 0 {
		what = strings.Join(rep.Target.Tables, ", ")
	}
	d.check(CheckRestore, Pass, rep.Timings.Restore, "restored %s of backup %s onto %s as %q (%d bytes read)", what, m.ID, s.Target.Name, s.As, rep.BytesRead)

	d.compare(ctx, m)
	d.integrity(ctx)
	rep.Timings.Checks = rep.Timings.Compare + rep.Timings.Integrity
	failed := slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Status == Fail })
	d.cleanup(ctx, failed, false)
}

// chain lists the backups the restored one belongs to, full first. A
// differential's manifest names every chunk it needs, so an unreadable full
// is a warning here, not a failure.
func (d *drill) chain(ctx context.Context, m *repository.Manifest) []BackupInfo {
	if m.Type != repository.Differential || m.Base == "" {
		return []BackupInfo{backupInfo(m)}
	}
	full, err := d.s.Repo.FindBackup(ctx, d.s.Database, m.Base)
	fi := BackupInfo{ID: m.Base, Type: repository.Full, Generation: m.Generation}
	if err != nil {
		fi.Error = err.Error()
		d.rep.Warnings = append(d.rep.Warnings, fmt.Sprintf("the full backup %s of this differential does not read: %v", m.Base, err))
	} else {
		fi = backupInfo(full)
	}
	return []BackupInfo{fi, backupInfo(m)}
}

// claimScratch records the copy in the scratch ledger when the drill is
// about to create it on a scratch target, and says whether an existing
// database may be replaced: when the request signed replace, or the ledger
// says dbopsd created it. Tables restored into an existing database that
// dbopsd did not create are restored, but that database is never dropped.
func (d *drill) claimScratch(ctx context.Context, m *repository.Manifest) (replace bool, err error) {
	s := d.s
	if !s.Target.Scratch {
		d.rep.Target.Disposition = Kept
		d.rep.Target.DispositionNote = "the target is not a scratch target: the restored database stays (dbopsd drops only scratch databases it created)"
		return s.Replace, nil
	}
	existed := false
	if len(s.Tables) > 0 {
		existed, err = s.Engine.DatabaseExists(ctx, s.Target.Conn, s.As)
		if err != nil {
			return false, fmt.Errorf("checking whether %q exists on %s: %w", s.As, s.Target.Name, err)
		}
	}
	claim, err := restore.ClaimScratch(ctx, restore.ScratchSpec{Catalog: s.Catalog, Engine: s.Engine, Target: s.Target, Name: s.As,
		Purpose: restore.PurposeDrill, Database: s.Database, BackupID: m.ID, JobID: d.rep.JobID})
	if err != nil {
		return false, err
	}
	if existed && !claim.Replace {
		// The tables go into a database someone else made: not ours to drop.
		d.endClaim(ctx, claim.NotCreated(ctx, "tables restored into an existing database that dbopsd did not create"))
		d.rep.Target.Disposition = Left
		d.rep.Target.DispositionNote = "the tables were restored into an existing database that dbopsd did not create: it is left in place"
		return s.Replace, nil
	}
	d.claim = claim
	return s.Replace || claim.Replace, nil
}

func (d *drill) endClaim(ctx context.Context, err error) {
	if err != nil {
		d.rep.Warnings = append(d.rep.Warnings, fmt.Sprintf("scratch ledger: %v", err))
		d.log.Warn("recording the scratch database in the ledger failed", "error", err)
	}
}

// compare computes the statistics of the restored tables and compares them
// with those the backup recorded (DESIGN.md decision 4).
func (d *drill) compare(ctx context.Context, m *repository.Manifest) {
	s, rep := d.s, d.rep
	var want []engines.TableStats
	if len(s.Tables) == 0 {
		want = append(want, m.Snapshot.Tables...)
	} else {
		for _, t := range s.Tables {
			if ts, ok := m.Snapshot.Table(t); ok {
				want = append(want, ts)
			}
		}
	}
	engines.SortTables(want)
	refs := make([]engines.TableRef, len(want))
	var rows int64
	for i, t := range want {
		refs[i] = t.Table
		rows += t.Rows
	}
	t0 := time.Now()
	got, err := s.Engine.TableStats(ctx, s.Target.Conn, s.As, refs)
	rep.Timings.Compare = time.Since(t0)
	if err != nil {
		d.check(CheckStatistics, Fail, rep.Timings.Compare, "computing the statistics of the restored copy: %v", err)
		return
	}
	byTable := map[engines.TableRef]engines.TableStats{}
	for _, g := range got {
		byTable[g.Table] = g
	}
	for _, w := range want {
		g, ok := byTable[w.Table]
		tr := TableResult{Table: w.Table.String(), BackupRows: w.Rows, BackupChecksum: w.Checksum}
		if ok {
			tr.RestoredRows, tr.RestoredChecksum = g.Rows, g.Checksum
			tr.Equal = g.Rows == w.Rows && g.Checksum == w.Checksum
		}
		rep.Tables = append(rep.Tables, tr)
	}
	if diffs := engines.CompareStats(want, got); len(diffs) > 0 {
		d.check(CheckStatistics, Fail, rep.Timings.Compare, "%s", strings.Join(diffs, "; "))
		return
	}
	d.check(CheckStatistics, Pass, rep.Timings.Compare, "%d table(s), %d rows: row counts and content checksums equal those recorded at backup time", len(want), rows)
}

// integrity runs the engine's own checks on the restored copy.
func (d *drill) integrity(ctx context.Context) {
	s, rep := d.s, d.rep
	t0 := time.Now()
	ir, err := s.Engine.CheckIntegrity(ctx, s.Target.Conn, s.As)
	rep.Timings.Integrity = time.Since(t0)
	rep.Integrity = ir
	switch {
	case err != nil:
		d.check(CheckIntegrity, Fail, rep.Timings.Integrity, "%v", err)
	case ir == nil:
		d.check(CheckIntegrity, Warn, rep.Timings.Integrity, "the engine returned no integrity report")
	case len(ir.Findings) > 0:
		d.check(CheckIntegrity, Fail, rep.Timings.Integrity, "%s: %d finding(s): %s", ir.Tool, len(ir.Findings), strings.Join(ir.Findings, "; "))
	case ir.Skipped != "":
		d.check(CheckIntegrity, Warn, rep.Timings.Integrity, "not run: %s", ir.Skipped)
	default:
		d.check(CheckIntegrity, Pass, rep.Timings.Integrity, "%s: no findings", ir.Tool)
	}
}

// cleanup drops the copy when the drill created it on a scratch target,
// unless it is to be kept.
func (d *drill) cleanup(ctx context.Context, failed, restoreFailed bool) {
	s, rep := d.s, d.rep
	t0 := time.Now()
	defer func() { rep.Timings.Cleanup = time.Since(t0) }()
	if d.claim == nil {
		if rep.Target.Disposition == "" {
			rep.Target.Disposition, rep.Target.DispositionNote = Left, "nothing to drop"
		}
		d.check(CheckCleanup, Pass, 0, "%s: %s", rep.Target.Disposition, rep.Target.DispositionNote)
		return
	}
	claim := d.claim
	d.claim = nil
	var why string
	switch {
	case s.Keep:
		why = "kept: the drill asked to keep its restored copy"
	case failed && s.Target.KeepOnFailure:
		why = "kept for inspection after a failed drill (keep_on_failure)"
	}
	gone := false
	if restoreFailed {
		// Engines remove a half-restored database themselves: then there
		// is nothing to keep, and the drop below only closes the claim.
		ok, err := s.Engine.DatabaseExists(context.WithoutCancel(ctx), s.Target.Conn, s.As)
		gone = err == nil && !ok
	}
	if gone {
		why = ""
	}
	if why != "" {
		d.endClaim(ctx, claim.Keep(ctx, why))
		rep.Target.Disposition, rep.Target.DispositionNote = Kept, why
		d.check(CheckCleanup, Pass, time.Since(t0), "%s", why)
		return
	}
	if err := claim.Drop(ctx); err != nil {
		rep.Target.Disposition = Kept
		rep.Target.DispositionNote = fmt.Sprintf("dropping the copy failed (%v); the cleanup at the daemon's next start retries", err)
		d.check(CheckCleanup, Warn, time.Since(t0), "%s", rep.Target.DispositionNote)
		return
	}
	if gone {
		rep.Target.Disposition, rep.Target.DispositionNote = Dropped, "nothing left to drop: the engine removed the half-restored database"
		d.check(CheckCleanup, Pass, time.Since(t0), "%q does not exist on %s: %s", s.As, s.Target.Name, rep.Target.DispositionNote)
		return
	}
	rep.Target.Disposition, rep.Target.DispositionNote = Dropped, "the scratch copy the drill created was dropped"
	d.check(CheckCleanup, Pass, time.Since(t0), "dropped %q on %s (recorded in the scratch ledger)", s.As, s.Target.Name)
}
