package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// JobKind is the kind of a maintenance run in the catalog's job log.
const JobKind = "maintenance"

// ErrNoSpace: the file system a rewrite writes to has no room for a copy
// of the table.
var ErrNoSpace = errors.New("not enough free space for a copy of the table")

// Spec is one approved operation to run.
type Spec struct {
	Target    Target
	Operation maintmodel.Operation
	// Comments are the changes of a Comment operation.
	Comments []maintmodel.CommentChange
	// Policy gives the maintenance window and the lock timeout; Location
	// is the time zone the window is read in (daemon.timezone).
	Policy   *config.Policy
	Location *time.Location
	// Catalog, when set, records the run as a job of kind JobKind, with
	// Trigger, OSUser and Request (the signed request's id).
	Catalog                  *catalog.Catalog
	Trigger, OSUser, Request string
	Logger                   hclog.Logger
	// Progress hears the server's progress lines (besides the log).
	Progress      func(string)
	ProgressEvery time.Duration
	// Step, when set, hears each step the run comes to, and the server's
	// progress lines as part of the step that runs the statement: what
	// the daemon's status shows.
	Step func(Step)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Step is where a run is: step I of N, what it does, and the server's
// newest progress line while the statement runs.
type Step struct {
	I, N      int
	Operation maintmodel.Operation
	What      string
	Server    string
}

// String is the step in one line: "3/4 vacuum_full public.t: running the
// statement (server: ...)".
func (s Step) String() string {
	out := fmt.Sprintf("%d/%d %s: %s", s.I, s.N, s.Operation, s.What)
	if s.Server != "" {
		out += " (server: " + s.Server + ")"
	}
	return out
}

// steps numbers the steps of one run for spec.Step.
type steps struct {
	spec Spec
	i, n int
}

func (s *steps) next(what string) { s.i++; s.report(what, "") }

func (s *steps) report(what, server string) {
	if s.spec.Step != nil {
		s.spec.Step(Step{I: s.i, N: s.n, Operation: s.spec.Operation, What: what, Server: server})
	}
}

// Result is what a run did: the numbers the register and the job log keep.
type Result struct {
	Database  string               `json:"database"`
	Request   string               `json:"request,omitempty"`
	Operation maintmodel.Operation `json:"operation"`
	Statement string               `json:"statement"`
	Started   time.Time            `json:"started"`
	Duration  time.Duration        `json:"duration_ns"`
	// Before and After are the table's statistics around the run (After
	// is nil when the statement did not run to its end).
	Before *maintmodel.TableFacts `json:"before,omitempty"`
	After  *maintmodel.TableFacts `json:"after,omitempty"`
	// Space is the disk-space check's verdict ("" when the operation
	// writes no copy).
	Space string `json:"space,omitempty"`
	// Comments are the changes of a comment operation as they ran.
	Comments []maintmodel.CommentResult `json:"comments,omitempty"`
	Outcome  string                     `json:"outcome"` // one of the Outcome constants
	Error    string                     `json:"error,omitempty"`
}

// Outcomes.
const (
	Succeeded   = "succeeded"
	Failed      = "failed"
	LockTimeout = "lock timeout"
	NotRun      = "not run"
)

// Summary is the result in one line, for the register and the log.
func (r *Result) Summary() string {
	if r.Operation.Op == maintmodel.Comment {
		return r.commentSummary()
	}
	s := fmt.Sprintf("%s: %s in %s", r.Statement, r.Outcome, r.Duration.Round(time.Millisecond))
	if r.Before != nil {
		s += fmt.Sprintf("; before %s", facts(r.Before))
	}
	if r.After != nil {
		s += fmt.Sprintf("; after %s", facts(r.After))
	}
	if r.Space != "" {
		s += "; disk space: " + r.Space
	}
	return s
}

func facts(f *maintmodel.TableFacts) string {
	s := fmt.Sprintf("%s (%d bytes)", formatBytes(f.TotalBytes), f.TotalBytes)
	if f.DeadTuples >= 0 {
		s += fmt.Sprintf(", %d dead rows", f.DeadTuples)
	}
	if f.DataFree >= 0 {
		s += fmt.Sprintf(", DATA_FREE %s", formatBytes(f.DataFree))
	}
	return s
}

// CheckWindow returns ErrOutsideWindow, with when it next opens, when the
// policy's maintenance_window does not contain now (in loc).
func CheckWindow(p *config.Policy, loc *time.Location, now time.Time) error {
	if p == nil || p.MaintenanceWindow.Contains(now.In(loc)) {
		return nil
	}
	w := p.MaintenanceWindow
	return fmt.Errorf("%w: policy %q allows maintenance %s (%s) only; it is %s, the window next opens %s",
		ErrOutsideWindow, p.Name, w, loc, now.In(loc).Format("15:04"), w.NextOpen(now.In(loc)).Format("2006-01-02 15:04"))
}

// lockTimeout is the policy's maintenance_lock_timeout, or the default.
func lockTimeout(p *config.Policy) time.Duration {
	if p != nil && p.MaintenanceLockTimeout > 0 {
		return p.MaintenanceLockTimeout
	}
	return config.DefaultMaintenanceLockTimeout
}

// rewrites are the operations that write a copy of the table.
func rewrites(op maintmodel.Op) bool {
	return op == maintmodel.VacuumFull || op == maintmodel.Optimize || op == maintmodel.Rebuild
}

// Run runs spec.Operation: inside the maintenance window only, after the
// disk-space check for a rewrite, under the policy's lock timeout, with the
// table measured before and after. The returned Result is never nil; the
// error says why the run failed or did not happen. Cancelling ctx
// (SIGTERM) cancels the statement on the server, which leaves the table as
// it was.
func Run(ctx context.Context, spec Spec) (*Result, error) {
	now := time.Now
	if spec.Now != nil {
		now = spec.Now
	}
	log := spec.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	t := spec.Target
	op := spec.Operation
	res := &Result{Database: t.Database.Name, Request: spec.Request, Operation: op, Started: now(), Outcome: NotRun}
	log = log.With("database", t.Database.Name, "operation", op.String())
	body := run
	var err error
	if op.Op == maintmodel.Comment {
		body = runComments
		res.Statement, err = commentStatement(spec)
	} else {
		res.Statement, err = t.Engine.MaintenanceStatement(op)
	}
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	loc := spec.Location
	if loc == nil {
		loc = time.Local
	}
	if err := CheckWindow(spec.Policy, loc, now()); err != nil {
		res.Error = err.Error()
		log.Warn("maintenance not run", "error", err)
		return res, err
	}

	var jobID int64
	if spec.Catalog != nil {
		if jobID, err = spec.Catalog.StartJob(ctx, catalog.Job{Kind: JobKind, Database: t.Database.Name, Trigger: spec.Trigger,
			OSUser: spec.OSUser, RequestedType: string(op.Op), TargetDatabase: op.Table.String()}); err != nil {
			res.Error = err.Error()
			return res, err
		}
	}
	runErr := body(ctx, spec, res, log)
	res.Duration = now().Sub(res.Started)
	if runErr != nil {
		res.Error = runErr.Error()
		if res.Outcome == "" || res.Outcome == Succeeded {
			res.Outcome = Failed
		}
		log.Error("maintenance failed", "outcome", res.Outcome, "duration", res.Duration.Round(time.Millisecond), "error", runErr)
	} else {
		log.Info("maintenance done", "summary", res.Summary())
	}
	if spec.Catalog != nil {
		var bytes int64
		if res.Before != nil && res.After != nil {
			bytes = res.Before.TotalBytes - res.After.TotalBytes
		}
		if ferr := spec.Catalog.FinishJob(context.WithoutCancel(ctx), jobID, "", bytes, runErr, res.details()); ferr != nil && runErr == nil {
			runErr = ferr
		}
	}
	return res, runErr
}

// run is Run's work for an operation on a table, once the window is open
// and the job started: measure, check the space, run, measure again.
func run(ctx context.Context, spec Spec, res *Result, log hclog.Logger) error {
	t, op := spec.Target, spec.Operation
	lock := lockTimeout(spec.Policy)
	measure := func() (*maintmodel.TableFacts, error) {
		fs, err := t.Engine.MaintenanceFacts(ctx, t.Conn, t.DatabaseName, []engines.TableRef{op.Table}, lock)
		if err != nil {
			return nil, err
		}
		if len(fs) == 0 {
			return nil, fmt.Errorf("table %s does not exist in %s", op.Table, t.Database.Name)
		}
		return &fs[0], nil
	}
	st := &steps{spec: spec, n: 3}
	if rewrites(op.Op) {
		st.n = 4
	}
	var err error
	st.next("measuring the table")
	if res.Before, err = measure(); err != nil {
		if errors.Is(err, maintmodel.ErrLockTimeout) {
			// Even measuring the table waits behind the lock holder.
			res.Outcome = LockTimeout
			return fmt.Errorf("gave up after the lock timeout of %s, before the statement: %w", lock, err)
		}
		return err
	}
	if rewrites(op.Op) {
		st.next("checking the disk space for a copy of the table")
		if err := checkSpace(ctx, t, op, res); err != nil {
			return err
		}
	}
	log.Info("maintenance starting", "statement", res.Statement, "lock_timeout", lock, "before", facts(res.Before), "disk_space", res.Space)
	res.Outcome = ""
	const running = "running the statement"
	st.next(running)
	err = t.Engine.RunMaintenance(ctx, t.Conn, t.DatabaseName, op, maintmodel.RunOptions{
		LockTimeout: lock, ProgressEvery: spec.ProgressEvery,
		Progress: func(line string) {
			log.Info("maintenance progress", "progress", line)
			st.report(running, line)
			if spec.Progress != nil {
				spec.Progress(line)
			}
		},
	})
	switch {
	case errors.Is(err, maintmodel.ErrLockTimeout):
		res.Outcome = LockTimeout
		return fmt.Errorf("gave up after the lock timeout of %s: %w", lock, err)
	case err != nil:
		res.Outcome = Failed
		return err
	}
	res.Outcome = Succeeded
	// The statistics views lag a little behind (PostgreSQL reports a
	// vacuum's dead-row count when the statement's stats are flushed);
	// the sizes are exact.
	st.next("measuring the table again")
	if res.After, err = measure(); err != nil {
		return fmt.Errorf("the operation succeeded, but measuring the table afterwards failed: %w", err)
	}
	return nil
}

// checkSpace refuses a rewrite that cannot fit a copy of the table where
// it is measurable, and records "not checked" (with why) where it is not.
func checkSpace(ctx context.Context, t Target, op maintmodel.Operation, res *Result) error {
	sp, err := t.Engine.MaintenanceSpace(ctx, t.Conn, t.DatabaseName, op.Table)
	if err != nil {
		return fmt.Errorf("checking free space: %w", err)
	}
	if !sp.Local {
		res.Space = "not checked: " + sp.Why
		return nil
	}
	free, err := freeBytes(sp.Dir)
	if err != nil {
		res.Space = fmt.Sprintf("not checked: %v", err)
		return nil
	}
	need := res.Before.TotalBytes + res.Before.TotalBytes/10
	res.Space = fmt.Sprintf("%s free in %s, a copy needs about %s", formatBytes(free), sp.Dir, formatBytes(need))
	if free < need {
		return fmt.Errorf("%w: %s", ErrNoSpace, res.Space)
	}
	return nil
}

// details is the result as the job log keeps it.
func (r *Result) details() map[string]any {
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return map[string]any{"maintenance": m, "summary": r.Summary()}
}

// Month returns the maintenance runs the job log holds for database ("" for
// every database) started in the month of month (in its location), oldest
// first: what the monthly report lists.
func Month(ctx context.Context, cat *catalog.Catalog, database string, month time.Time) ([]Result, error) {
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, month.Location())
	end := start.AddDate(0, 1, 0)
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Database: database, Kind: JobKind, Since: start})
	if err != nil {
		return nil, fmt.Errorf("reading the month's maintenance: %w", err)
	}
	var out []Result
	for _, j := range jobs {
		if !j.StartedAt.Before(end) {
			continue
		}
		var r Result
		if b, err := json.Marshal(j.Details["maintenance"]); err == nil {
			_ = json.Unmarshal(b, &r)
		}
		if r.Statement == "" {
			// A run that could not record its result (the daemon stopped).
			r = Result{Database: j.Database, Operation: maintmodel.Operation{Op: maintmodel.Op(j.RequestedType)}, Outcome: j.Status, Error: j.Error}
		}
		r.Started = j.StartedAt
		out = append(out, r)
	}
	return out, nil
}
