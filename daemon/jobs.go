package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// Kind is one kind of job the daemon can run.
type Kind struct {
	Name string
	// Plan adds the kind's entries to the plan; nil when another planner
	// (schedule.Backups, Prune, Mirror) already does.
	Plan schedule.Planner
	// Run runs one task. It records the attempt in the catalog (the
	// library runners do so themselves); ctx carries the attempt number
	// for catalog.StartJob.
	Run func(ctx context.Context, env *Env, t *schedule.Task) error
	// Alert is the event raised when the kind fails for good, and
	// resolved by its next success ("" for none).
	Alert string
	// NotRunAlert, when set, is raised instead of Alert when the job
	// could not run (catalog.ErrNotRun: a verification whose scratch
	// target was down), which says nothing of what it checks. The next
	// success resolves it too.
	NotRunAlert string
	// CatalogKind is the kind its jobs have in the catalog (default Name).
	CatalogKind string
}

func (k *Kind) catalogKind() string {
	if k.CatalogKind != "" {
		return k.CatalogKind
	}
	return k.Name
}

// Env is what a job runs with: the configuration in force when it started.
type Env struct {
	Config  *config.Config
	Catalog *catalog.Catalog
	Logger  hclog.Logger
	// Prune and Mirror run the repository's maintenance (maintenance.go).
	Prune  Pruner
	Mirror Mirrorer
	// Alerts raises and clears the diagnostics' alerts (diagnostics.go).
	Alerts Alerter
}

// run is what a job of task t takes from the daemon (site.Run).
func (e *Env) run(repo *repository.Repo, t *schedule.Task) site.Run {
	return site.Run{Repo: repo, Catalog: e.Catalog, Trigger: t.Trigger, OSUser: t.OSUser, Logger: e.Logger}
}

// requestRun is run for the job of a signed request: its trigger is the
// request's whatever the task says.
func (e *Env) requestRun(repo *repository.Repo, t *schedule.Task) site.Run {
	r := e.run(repo, t)
	r.Trigger = schedule.TriggerRequest
	return r
}

// OpenRepo opens the repository on its primary storage.
func (e *Env) OpenRepo(ctx context.Context) (*repository.Repo, error) {
	return site.OpenRepository(ctx, e.Config, "", e.Logger)
}

// Registry holds the kinds of job, by name.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]*Kind
	order []string
	env   func() *Env
	log   hclog.Logger
}

// NewRegistry returns a registry with the built-in kinds; env gives each
// task its environment.
func NewRegistry(env func() *Env, logger hclog.Logger) *Registry {
	r := &Registry{kinds: map[string]*Kind{}, env: env, log: logger}
	for _, k := range builtinKinds() {
		if err := r.Register(k); err != nil {
			panic(err) // the built-in kinds are distinct
		}
	}
	return r
}

// Register adds a kind. Names are unique.
func (r *Registry) Register(k Kind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k.Name == "" || k.Run == nil {
		return errors.New("a job kind needs a name and a Run function")
	}
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("job kind %q is registered twice", k.Name)
	}
	r.kinds[k.Name] = &k
	r.order = append(r.order, k.Name)
	return nil
}

// Kind returns the kind called name.
func (r *Registry) Kind(name string) (*Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Planners are the planners of the registered kinds, for schedule.NewPlan.
func (r *Registry) Planners() []schedule.Planner {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var ps []schedule.Planner
	for _, name := range r.order {
		if p := r.kinds[name].Plan; p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// Run runs t by its kind: the schedule.Runner of the daemon. Every job row
// the task records in the catalog, by the kind or by the library it calls
// (backup, restore, mirror, prune), carries the task's attempt, so that the
// job log tells a retry from a new run. A panic is recovered, recorded in
// the catalog as the job's failure, and returned as its error.
func (r *Registry) Run(ctx context.Context, t *schedule.Task) (err error) {
	k, ok := r.Kind(t.Kind)
	if !ok {
		return fault.Permanent(fmt.Errorf("no job kind %q in this build", t.Kind))
	}
	ctx = catalog.WithAttempt(ctx, t.Attempt)
	env := r.env()
	start := time.Now()
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		err = fmt.Errorf("%s of %s panicked: %v", t.Kind, orSite(t.Database), p)
		r.log.Error("job panicked", "job", t.Kind, "database", t.Database, "panic", p, "stack", string(debug.Stack()))
		rctx := context.WithoutCancel(ctx)
		n, ferr := env.Catalog.FailUnfinished(rctx, t.Database, k.catalogKind(), start, err.Error())
		if ferr == nil && n == 0 {
			_, ferr = env.Catalog.RecordJob(rctx, catalogJob(k, t), err)
		}
		if ferr != nil {
			r.log.Error("recording the panic in the catalog failed", "error", ferr)
		}
	}()
	return k.Run(ctx, env, t)
}

var _ schedule.Runner = (*Registry)(nil)

func orSite(db string) string {
	if db == "" {
		return "the repository"
	}
	return db
}

func catalogJob(k *Kind, t *schedule.Task) catalog.Job {
	j := catalog.Job{Kind: k.catalogKind(), Database: t.Database, Trigger: t.Trigger, OSUser: t.OSUser, BackupID: t.Backup, Attempt: t.Attempt}
	if schedule.IsBackup(t.Kind) {
		j.RequestedType = t.Kind
	}
	return j
}

// recordFailure writes a job that failed before the runner that records
// it could start (the repository did not open, the engine is unknown).
func recordFailure(ctx context.Context, env *Env, k *Kind, t *schedule.Task, err error) error {
	if _, rerr := env.Catalog.RecordJob(context.WithoutCancel(ctx), catalogJob(k, t), err); rerr != nil {
		env.Logger.Error("recording a failed job in the catalog failed", "job", t.Kind, "database", t.Database, "error", rerr)
	}
	return err
}

// ---- the built-in kinds ----

// DefaultCheck is when the repository's structure is checked: Sundays at
// noon.
const DefaultCheck = "0 12 * * 0"

// KindCheck is the repository check.
const KindCheck = "check"

func builtinKinds() []Kind {
	backupKind := func(name string) Kind {
		return Kind{Name: name, Run: runBackup, Alert: config.EventBackupFailed, CatalogKind: "backup"}
	}
	return append([]Kind{
		backupKind(schedule.KindFull),
		backupKind(schedule.KindDifferential),
		{Name: schedule.KindVerify, Run: runVerify, Alert: config.EventVerifyFailed, NotRunAlert: config.EventVerifyNotRun},
		{Name: schedule.KindPrune, Run: runPrune, Alert: config.EventCheckFailed},
		{Name: schedule.KindMirror, Run: runMirror, Alert: config.EventCheckFailed},
		{Name: KindCheck, Plan: planCheck, Run: runCheck, Alert: config.EventCheckFailed},
		reconcileKind(),
		{Name: KindVolume, Plan: planVolume, Run: runVolume},
	}, append(reportKinds(), diagnosticsKinds()...)...) // report.go, diagnostics.go
}

func runBackup(ctx context.Context, env *Env, t *schedule.Task) error {
	k := &Kind{Name: t.Kind, CatalogKind: "backup"}
	cfg := env.Config
	db, err := cfg.Database(t.Database)
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	if _, err := site.Engine(db.Engine); err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordFailure(ctx, env, k, t, fmt.Errorf("%s backup of %s: %w", t.Kind, t.Database, err))
	}
	job, err := site.BackupJob(cfg, db, t.Kind, env.run(repo, t))
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	job.Progress = t.AddBytes
	job.CopyOnly = outsideSchedule(t.Trigger)
	_, err = backup.Run(ctx, job)
	return err
}

// outsideSchedule reports whether a backup task of trigger was asked for
// by hand (dbopsd run, a signed request): a full of it leaves the server's
// native chain alone (SQL Server COPY_ONLY). One on time, caught up or
// retried is the chain's.
func outsideSchedule(trigger string) bool {
	return trigger == schedule.TriggerCLI || trigger == schedule.TriggerRequest
}

func runVerify(ctx context.Context, env *Env, t *schedule.Task) error {
	k := &Kind{Name: schedule.KindVerify}
	cfg := env.Config
	db, err := cfg.Database(t.Database)
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	target, err := site.VerifyTarget(cfg, db)
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordFailure(ctx, env, k, t, fmt.Errorf("verifying %s: %w", t.Database, err))
	}
	req, err := site.VerifyRequest(cfg, db, target, t.Backup, env.run(repo, t))
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	req.Progress = t.SetProgress
	_, err = restore.Verify(ctx, req)
	return err
}

func runPrune(ctx context.Context, env *Env, t *schedule.Task) error {
	if env.Prune == nil {
		return fault.Permanent(errors.New("prune is not available in this build"))
	}
	return env.Prune.Prune(ctx, env, t.Trigger, t.OSUser)
}

func runMirror(ctx context.Context, env *Env, t *schedule.Task) error {
	if env.Mirror == nil {
		return fault.Permanent(errors.New("mirror is not available in this build"))
	}
	return env.Mirror.Mirror(ctx, env, t.Trigger, t.OSUser)
}

// planCheck schedules the weekly check of the repository's structure.
func planCheck(cfg *config.Config) ([]schedule.Entry, error) {
	spec, err := schedule.ParseSpec(DefaultCheck, cfg.Daemon.Location)
	if err != nil {
		return nil, err
	}
	return []schedule.Entry{{
		Kind: KindCheck, Spec: spec, Schedule: "weekly " + DefaultCheck,
		Due: func(f schedule.Facts, now time.Time) schedule.Due {
			last := f.Site[KindCheck]
			if last.IsZero() {
				if hasBackups(f) {
					return schedule.Due{Due: true, Why: "the repository was never checked"}
				}
				return schedule.Due{}
			}
			if n := spec.Next(last); !n.After(now) {
				return schedule.Due{Due: true, Missed: n, Slots: schedule.Slots(spec, last, now, 1000),
					Why: "last check " + last.Format(time.RFC3339)}
			}
			return schedule.Due{}
		},
	}}, nil
}

func hasBackups(f schedule.Facts) bool {
	for _, df := range f.DB {
		if df.BackupID != "" {
			return true
		}
	}
	return false
}

// runCheck checks the repository's structure (every manifest opens, every
// chunk it names exists with the right size) and records the job.
func runCheck(ctx context.Context, env *Env, t *schedule.Task) error {
	k := &Kind{Name: KindCheck}
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordFailure(ctx, env, k, t, fmt.Errorf("checking the repository: %w", err))
	}
	id, err := env.Catalog.StartJob(ctx, catalogJob(k, t))
	if err != nil {
		return err
	}
	res, err := repo.Check(ctx, repository.CheckOptions{})
	details := map[string]any{}
	if err == nil {
		details["backups"], details["chunks"], details["problems"] = res.Backups, res.Chunks, len(res.Problems)
		if !res.OK() {
			var ps []string
			for _, p := range res.Problems[:min(len(res.Problems), 5)] {
				ps = append(ps, p.Object+": "+p.Problem)
			}
			err = fault.Permanent(fmt.Errorf("the repository check found %d problems (damaged backups: %s): %s",
				len(res.Problems), strings.Join(res.Damaged, ", "), strings.Join(ps, "; ")))

		}
	}
	if ferr := env.Catalog.FinishJob(context.WithoutCancel(ctx), id, "", 0, err, details); ferr != nil && err == nil {
		err = ferr
	}
	return err
}
