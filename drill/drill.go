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
	"github.com/dbopsd/dbopsd/i18n"
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
	lang, err := i18n.NormalizeLang(s.Language)
	if err != nil {
		return fmt.Errorf("drill %s: %w", s.ID, err)
	}
	s.Language = string(lang)
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

// check records a check's result: m, and its English as the Detail.
func (d *drill) check(name, status string, took time.Duration, m *Message) {
	d.rep.Checks = append(d.rep.Checks, Check{Name: name, Status: status, Detail: englishText(m), Message: m, Duration: took})
}

func (d *drill) skipRest(key string, names ...string) {
	for _, n := range names {
		d.check(n, Skip, 0, &Message{Key: key})
	}
}

// dispose records what became of the restored copy, and why.
func (d *drill) dispose(disposition string, why *Message) {
	t := &d.rep.Target
	t.Disposition, t.DispositionNote, t.DispositionMessage = disposition, englishText(why), why
}

func (d *drill) warn(m *Message) {
	d.rep.Warnings = append(d.rep.Warnings, englishText(m))
	d.rep.WarningMessages = append(d.rep.WarningMessages, *m)
}

func (d *drill) run(ctx context.Context) {
	s, rep := d.s, d.rep
	t0 := time.Now()
	m, err := s.Repo.FindBackup(ctx, s.Database, s.BackupID)
	if err != nil {
		d.check(CheckBackup, Fail, time.Since(t0), errMessage(msgBackupError, err))
		d.skipRest(msgSkipNoBackup, CheckRestore, CheckStatistics, CheckIntegrity, CheckCleanup)
		d.dispose(Left, &Message{Key: msgNothingRestored})
		return
	}
	b := backupInfo(m)
	rep.Backup = &b
	rep.Chain = d.chain(ctx, m)
	found := &Message{Key: msgBackupFound, Backup: m.ID, BackupType: m.Type, Taken: m.StartedAt, Tables: b.Tables, Rows: b.Rows}
	if m.Type == repository.Differential {
		found.Key, found.Base = msgBackupFoundDiff, m.Base
	}
	d.check(CheckBackup, Pass, time.Since(t0), found)

	replace, err := d.claimScratch(ctx, m)
	if err != nil {
		d.check(CheckRestore, Fail, 0, errMessage(msgRestorePrepare, err))
		d.skipRest(msgSkipNothing, CheckStatistics, CheckIntegrity)
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
		d.check(CheckRestore, Fail, rep.Timings.Restore, errMessage(msgRestoreError, err))
		if errors.Is(err, engines.ErrExists) && d.claim != nil {
			// Not ours: the name is taken by a database dbopsd did not create.
			d.endClaim(ctx, d.claim.NotCreated(ctx, "a database of this name that dbopsd did not create was in the way"))
			d.claim = nil
			d.dispose(Left, &Message{Key: msgForeignExists})
		}
		d.skipRest(msgSkipRestoreFailed, CheckStatistics, CheckIntegrity)
		d.cleanup(ctx, true, true)
		return
	}
	restored := &Message{Key: msgRestoredDatabase, Backup: m.ID, Target: s.Target.Name, Database: s.As, Bytes: rep.BytesRead}
	if len(s.Tables) > 0 {
		restored.Key, restored.TableNames, restored.Tables = msgRestoredTables, rep.Target.Tables, len(rep.Target.Tables)
	}
	d.check(CheckRestore, Pass, rep.Timings.Restore, restored)

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
		d.warn(&Message{Key: msgFullUnreadable, Base: m.Base, Error: err.Error()})
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
		d.dispose(Kept, &Message{Key: msgNotScratch})
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
		d.dispose(Left, &Message{Key: msgIntoExisting})
		return s.Replace, nil
	}
	d.claim = claim
	return s.Replace || claim.Replace, nil
}

func (d *drill) endClaim(ctx context.Context, err error) {
	if err != nil {
		d.warn(errMessage(msgLedger, err))
		d.log.Warn("recording the scratch database in the ledger failed", "error", err)
	}
}

// compare computes the statistics of the restored tables and compares them
// with those the backup recorded (ARCHITECTURE.md, "Verification").
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
		d.check(CheckStatistics, Fail, rep.Timings.Compare, errMessage(msgStatisticsError, err))
		return
	}
	byTable := map[engines.TableRef]engines.TableStats{}
	for _, g := range got {
		byTable[g.Table] = g
	}
	var mismatches []Mismatch
	for _, w := range want {
		g, ok := byTable[w.Table]
		tr := TableResult{Table: w.Table.String(), BackupRows: w.Rows, BackupChecksum: w.Checksum}
		if ok {
			tr.RestoredRows, tr.RestoredChecksum = g.Rows, g.Checksum
			tr.Equal = g.Rows == w.Rows && g.Checksum == w.Checksum
		}
		rep.Tables = append(rep.Tables, tr)
		// The same differences, in the same order, as engines.CompareStats.
		mm := Mismatch{Table: tr.Table, BackupRows: w.Rows, RestoredRows: g.Rows, BackupChecksum: w.Checksum, RestoredChecksum: g.Checksum}
		switch {
		case !ok:
			mm.Kind = MismatchMissing
		case g.Rows != w.Rows:
			mm.Kind = MismatchRows
		case g.Checksum != w.Checksum:
			mm.Kind = MismatchChecksum
		default:
			continue
		}
		mismatches = append(mismatches, mm)
	}
	if len(mismatches) > 0 {
		d.check(CheckStatistics, Fail, rep.Timings.Compare, &Message{Key: msgStatisticsMismatch, Tables: len(want), Mismatches: mismatches})
		return
	}
	d.check(CheckStatistics, Pass, rep.Timings.Compare, &Message{Key: msgStatisticsEqual, Tables: len(want), Rows: rows})
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
		d.check(CheckIntegrity, Fail, rep.Timings.Integrity, errMessage(msgIntegrityError, err))
	case ir == nil:
		d.check(CheckIntegrity, Warn, rep.Timings.Integrity, &Message{Key: msgIntegrityNoReport})
	case len(ir.Findings) > 0:
		d.check(CheckIntegrity, Fail, rep.Timings.Integrity, &Message{Key: msgIntegrityFindings, Tool: ir.Tool, Findings: ir.Findings})
	case ir.Skipped != "":
		d.check(CheckIntegrity, Warn, rep.Timings.Integrity, &Message{Key: msgIntegritySkipped, Tool: ir.Tool, Reason: ir.Skipped, ReasonMessage: ir.SkippedMessage})
	default:
		d.check(CheckIntegrity, Pass, rep.Timings.Integrity, &Message{Key: msgIntegrityOK, Tool: ir.Tool})
	}
}

// cleanup drops the copy when the drill created it on a scratch target,
// unless it is to be kept.
func (d *drill) cleanup(ctx context.Context, failed, restoreFailed bool) {
	s, rep := d.s, d.rep
	t0 := time.Now()
	defer func() { rep.Timings.Cleanup = time.Since(t0) }()
	// disposed reports what became of the copy as the cleanup check.
	disposed := func(status string) {
		d.check(CheckCleanup, status, time.Since(t0), &Message{Key: msgCleanup, Disposition: rep.Target.Disposition, Cause: rep.Target.DispositionMessage})
	}
	if d.claim == nil {
		if rep.Target.Disposition == "" {
			d.dispose(Left, &Message{Key: msgNothingToDrop})
		}
		disposed(Pass)
		return
	}
	claim := d.claim
	d.claim = nil
	var why *Message
	switch {
	case s.Keep:
		why = &Message{Key: msgKeepAsked}
	case failed && s.Target.KeepOnFailure:
		why = &Message{Key: msgKeepOnFailure}
	}
	gone := false
	if restoreFailed {
		// Engines remove a half-restored database themselves: then there
		// is nothing to keep, and the drop below only closes the claim.
		ok, err := s.Engine.DatabaseExists(context.WithoutCancel(ctx), s.Target.Conn, s.As)
		gone = err == nil && !ok
	}
	if gone {
		why = nil
	}
	if why != nil {
		d.dispose(Kept, why)
		d.endClaim(ctx, claim.Keep(ctx, rep.Target.DispositionNote))
		disposed(Pass)
		return
	}
	if err := claim.Drop(ctx); err != nil {
		d.dispose(Kept, errMessage(msgDropFailed, err))
		disposed(Warn)
		return
	}
	if gone {
		d.dispose(Dropped, &Message{Key: msgEngineRemoved})
		d.check(CheckCleanup, Pass, time.Since(t0), &Message{Key: msgCleanupGone, Database: s.As, Target: s.Target.Name, Cause: rep.Target.DispositionMessage})
		return
	}
	d.dispose(Dropped, &Message{Key: msgDropped})
	d.check(CheckCleanup, Pass, time.Since(t0), &Message{Key: msgCleanupDropped, Database: s.As, Target: s.Target.Name})
}
