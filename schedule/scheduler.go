package schedule

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/config"
)

// History tells the scheduler the newest successes (the catalog, in the
// daemon).
type History interface {
	Facts(ctx context.Context) (Facts, error)
}

// Observer hears what the scheduler does. Its methods are called without
// the scheduler's lock held, in no particular goroutine; they must return
// quickly.
type Observer interface {
	// Finished is called after every attempt of every task.
	Finished(t TaskInfo, o Outcome)
	// Gap is called when an evaluation after a gap (the daemon's start, a
	// sleep of the machine) found runs that were missed.
	Gap(g Gap)
}

// Outcome is the end of one attempt.
type Outcome struct {
	Err      error
	Duration time.Duration
	// Final: no further attempt follows (success, a permanent error, or
	// the attempts are used up).
	Final bool
	// Retry is when the next attempt may start, when not Final.
	Retry time.Time
}

// Gap is a stretch of time in which the scheduler did not run, and what it
// is catching up.
type Gap struct {
	From, To time.Time // From is zero when unknown (first start)
	Missed   []Missed
}

// Missed is an entry whose scheduled runs passed without a success.
type Missed struct {
	Key
	Slot  time.Time // the first scheduled run missed
	Slots int       // how many scheduled runs passed
}

// Options configure a Scheduler.
type Options struct {
	History History
	Runner  Runner
	// Observer is optional.
	Observer Observer
	// Clock defaults to the real clock.
	Clock  clockwork.Clock
	Logger hclog.Logger
	Retry  RetryPolicy
	// SweepInterval is how often every entry is evaluated again whatever
	// the timers did. Default 1 minute.
	SweepInterval time.Duration
	// Grace is how late after its slot a run still counts as on time.
	// Default 5 minutes.
	Grace time.Duration
	// FailureCooldown is how long a sweep waits before trying again an
	// entry whose last attempt failed for good; a new slot of its schedule
	// tries at once. Default 1 hour.
	FailureCooldown time.Duration
	// DrainTimeout is how long running tasks may go on after Run's
	// context ends before they are cancelled. Default 5 minutes.
	DrainTimeout time.Duration
	// LastSeen is when the daemon last ran (its heartbeat); a start more
	// than GapThreshold after it is reported as a gap. Zero: unknown.
	LastSeen     time.Time
	GapThreshold time.Duration // default 10 minutes
	// OnRequest are kinds that run only when asked for (signed restores
	// and drills): no plan entry schedules them, and Enqueue takes them for
	// any database of the plan, with a Ref saying what to run.
	OnRequest []string
}

// Scheduler runs a Plan's tasks. Create it with New, start it with Run.
type Scheduler struct {
	opts  Options
	clock clockwork.Clock
	log   hclog.Logger

	mu       sync.Mutex
	plan     *Plan
	facts    Facts
	queue    []*Task
	running  map[int64]*Task
	recent   []*Task // finished, newest last
	failedAt map[Key]time.Time
	nextID   int64
	seq      uint64
	draining bool
	started  bool
	armed    bool // gocron's timers are set
	ready    chan struct{}

	wakeTimer clockwork.Timer
	wakeAt    time.Time

	cron       gocron.Scheduler
	groups     map[string]*group // gocron jobs by name
	lastSweep  time.Time
	jobsCtx    context.Context
	cancelJobs context.CancelFunc
	wg         sync.WaitGroup
	notes      []func() // observer calls waiting for the lock to be released
	inflight   atomic.Int64
}

// group is one gocron job: the entries of one policy (or one site-wide
// kind) fire together at the union of their schedules.
type group struct {
	name       string
	spec       Spec
	job        gocron.Job
	registered time.Time
	fired      int // tasks run by gocron; for tests
}

const recentLimit = 200

// New makes a scheduler for plan.
func New(plan *Plan, opts Options) (*Scheduler, error) {
	if opts.History == nil || opts.Runner == nil {
		return nil, errors.New("schedule: History and Runner are required")
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	opts.Retry.defaults()
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Minute
	}
	if opts.FailureCooldown <= 0 {
		opts.FailureCooldown = time.Hour
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Minute
	}
	if opts.GapThreshold <= 0 {
		opts.GapThreshold = 10 * time.Minute
	}
	s := &Scheduler{
		opts: opts, clock: opts.Clock, log: opts.Logger.Named("schedule"),
		plan: plan, running: map[int64]*Task{}, failedAt: map[Key]time.Time{}, groups: map[string]*group{},
		ready: make(chan struct{}),
	}
	s.jobsCtx, s.cancelJobs = context.WithCancel(context.Background())
	return s, nil
}

// Run loads the history, evaluates every entry (catching up what was
// missed), arms the timers and runs tasks until ctx ends. Then it starts
// nothing more, lets running tasks finish for up to DrainTimeout, cancels
// the rest and returns when all have returned.
func (s *Scheduler) Run(ctx context.Context) error {
	facts, err := s.opts.History.Facts(ctx)
	if err != nil {
		return fmt.Errorf("reading the history for the scheduler: %w", err)
	}
	cron, err := gocron.NewScheduler(gocron.WithClock(s.clock), gocron.WithLocation(s.plan.Location),
		gocron.WithLogger(gocronLogger{s.log.Named("gocron")}))
	if err != nil {
		return fmt.Errorf("starting the scheduler: %w", err)
	}
	s.mu.Lock()
	s.facts = facts
	s.cron = cron
	s.started = true
	plan := s.plan
	s.mu.Unlock()

	if err := s.arm(plan); err != nil {
		_ = cron.Shutdown()
		return err
	}
	sweep, err := cron.NewJob(gocron.DurationJob(s.opts.SweepInterval), gocron.NewTask(s.sweep), gocron.WithName("sweep"))
	if err != nil {
		_ = cron.Shutdown()
		return fmt.Errorf("arming the sweep: %w", err)
	}

	s.mu.Lock()
	now := s.clock.Now()
	s.groups["sweep"] = &group{name: "sweep", spec: every{start: now, d: s.opts.SweepInterval}, job: sweep, registered: now}
	s.lastSweep = now
	missed := s.evaluate(now, nil, false)
	s.dispatch(now)
	if len(missed) > 0 || (!s.opts.LastSeen.IsZero() && now.Sub(s.opts.LastSeen) > s.opts.GapThreshold) {
		g := Gap{From: s.opts.LastSeen, To: now, Missed: missed}
		s.note(func(o Observer) { o.Gap(g) })
	}
	s.unlock()
	cron.Start() // returns once every timer is armed
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("scheduler started", "entries", len(plan.Entries), "max_parallel", plan.MaxParallel, "max_per_server", plan.PerServer)

	<-ctx.Done()
	return s.drain()
}

// drain stops starting tasks, waits for running ones up to DrainTimeout,
// then cancels them.
func (s *Scheduler) drain() error {
	s.mu.Lock()
	s.draining = true
	if s.wakeTimer != nil {
		s.wakeTimer.Stop()
		s.wakeTimer, s.wakeAt = nil, time.Time{}
	}
	n := len(s.running)
	s.mu.Unlock()
	if err := s.cron.Shutdown(); err != nil {
		s.log.Warn("stopping the timers", "error", err)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	if n > 0 {
		s.log.Info("draining: waiting for running jobs", "running", n, "timeout", s.opts.DrainTimeout)
	}
	select {
	case <-done:
	case <-s.clock.After(s.opts.DrainTimeout):
		s.log.Warn("drain timeout: cancelling running jobs", "running", s.Running())
		s.cancelJobs()
		<-done
	}
	s.cancelJobs()
	s.log.Info("scheduler stopped")
	return nil
}

// Ready is closed once Run has evaluated the plan and armed the timers.
func (s *Scheduler) Ready() <-chan struct{} { return s.ready }

// CancelRunning cancels every running task now instead of waiting for the
// drain timeout (a second SIGTERM).
func (s *Scheduler) CancelRunning() { s.cancelJobs() }

// Healthy returns an error when the scheduler has not swept for three
// sweep intervals (stuck, or not started).
func (s *Scheduler) Healthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return errors.New("the scheduler has not started")
	}
	if d := s.clock.Since(s.lastSweep); d > 3*s.opts.SweepInterval+s.opts.Grace {
		return fmt.Errorf("the scheduler has not evaluated the plan for %s", d.Round(time.Second))
	}
	return nil
}

// Running is the number of tasks running.
func (s *Scheduler) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// QueueLength is the number of tasks waiting.
func (s *Scheduler) QueueLength() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// arm registers one gocron job per group of plan, replacing any from an
// earlier plan.
func (s *Scheduler) arm(plan *Plan) error {
	type spec struct {
		specs []Spec
		seen  map[string]bool
	}
	groups := map[string]*spec{}
	var names []string
	for i := range plan.Entries {
		e := &plan.Entries[i]
		if e.Spec == nil {
			continue
		}
		name := groupName(e)
		g := groups[name]
		if g == nil {
			g = &spec{seen: map[string]bool{}}
			groups[name] = g
			names = append(names, name)
		}
		if !g.seen[e.Spec.String()] {
			g.seen[e.Spec.String()] = true
			g.specs = append(g.specs, e.Spec)
		}
	}
	s.mu.Lock()
	old := s.groups
	s.mu.Unlock()
	for name, g := range old {
		if name == "sweep" {
			continue
		}
		if err := s.cron.RemoveJob(g.job.ID()); err != nil {
			return fmt.Errorf("removing the timer of %s: %w", name, err)
		}
	}
	fresh := map[string]*group{}
	for _, name := range names {
		var sp Spec = Union(groups[name].specs)
		if len(groups[name].specs) == 1 {
			sp = groups[name].specs[0]
		}
		name := name
		job, err := s.cron.NewJob(gocron.CronJob(sp.String(), false), gocron.NewTask(func() { s.fire(name) }),
			gocron.WithName(name), gocron.WithCronImplementation(&gocronSpec{spec: sp}))
		if err != nil {
			return fmt.Errorf("arming the timer of %s (%s): %w", name, sp, err)
		}
		fresh[name] = &group{name: name, spec: sp, job: job, registered: s.clock.Now()}
	}
	s.mu.Lock()
	if sw := old["sweep"]; sw != nil {
		fresh["sweep"] = sw
	}
	s.groups = fresh
	s.mu.Unlock()
	return nil
}

func groupName(e *Entry) string {
	if e.Policy != "" {
		return "policy:" + e.Policy
	}
	if e.Database != "" {
		return e.Kind + ":" + e.Database
	}
	return "site:" + e.Kind
}

// gocronSpec lets gocron arm its timers from a Spec.
type gocronSpec struct{ spec Spec }

func (g *gocronSpec) IsValid(_ string, _ *time.Location, now time.Time) error {
	if g.spec.Next(now).IsZero() {
		return fmt.Errorf("schedule %q never runs", g.spec)
	}
	return nil
}

func (g *gocronSpec) Next(last time.Time) time.Time { return g.spec.Next(last) }

// fire is a gocron job's task: evaluate the entries of its group.
func (s *Scheduler) fire(name string) {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	s.wakeCheck(now)
	s.evaluate(now, func(e *Entry) bool { return groupName(e) == name }, true)
	s.dispatch(now)
	if g := s.groups[name]; g != nil {
		g.fired++
	}
}

// sweep evaluates every entry with fresh facts, whatever the timers did.
func (s *Scheduler) sweep() {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	if !s.wakeCheck(now) {
		s.refresh()
		s.lastSweep = now
		s.evaluate(now, nil, false)
		s.dispatch(now)
	}
	if g := s.groups["sweep"]; g != nil {
		g.fired++
	}
}

// wakeCheck notices that the clock jumped since the last sweep (the machine
// slept, the process was stopped): it evaluates every entry at once and
// reports the gap with what it catches up. Whichever timer fires first
// after the jump does it, so the report is complete. It returns whether it
// evaluated. Caller holds s.mu.
func (s *Scheduler) wakeCheck(now time.Time) bool {
	if now.Sub(s.lastSweep) <= 2*s.opts.SweepInterval+s.opts.Grace {
		return false
	}
	from := s.lastSweep
	s.refresh()
	s.lastSweep = now
	missed := s.evaluate(now, nil, false)
	s.dispatch(now)
	s.log.Warn("the clock jumped: the scheduler did not run for a while", "from", from.In(s.plan.Location).Format(time.RFC3339), "to", now.In(s.plan.Location).Format(time.RFC3339), "missed", len(missed))
	if len(missed) > 0 {
		g := Gap{From: from, To: now, Missed: missed}
		s.note(func(o Observer) { o.Gap(g) })
	}
	return true
}

// refresh reads the facts from the history. It runs under s.mu, so that
// facts read before a task finished can never replace those read after
// it: that would make the finished task look due again. Caller holds s.mu.
func (s *Scheduler) refresh() {
	facts, err := s.opts.History.Facts(s.jobsCtx)
	switch {
	case err == nil:
		s.facts = facts
	case !errors.Is(err, context.Canceled):
		s.log.Warn("reading the history failed; using what was read before", "error", err)
	}
}

// evaluate queues the due entries that filter accepts (nil: all) and
// returns those that had missed runs. atSlot is true when a timer of the
// entries fired, so that a failed entry is tried again at a new slot.
// Caller holds s.mu.
func (s *Scheduler) evaluate(now time.Time, filter func(*Entry) bool, atSlot bool) []Missed {
	if s.draining {
		return nil
	}
	var missed []Missed
	for i := range s.plan.Entries {
		e := &s.plan.Entries[i]
		if filter != nil && !filter(e) {
			continue
		}
		k := e.Key()
		if s.waiting(k) {
			continue
		}
		failed, hasFailed := s.failedAt[k]
		if hasFailed && !atSlot && now.Sub(failed) < s.opts.FailureCooldown {
			continue
		}
		d := e.Due(s.facts, now)
		if !d.Due {
			continue
		}
		trigger := TriggerSchedule
		switch {
		case e.Spec == nil:
			trigger = TriggerAfterBackup
		case hasFailed && !atSlot:
			trigger = TriggerRetry // the cooldown after a failure has passed
		case hasFailed:
			// A new slot after a failed one: its own run, not a missed one.
		case d.Missed.IsZero():
			trigger = TriggerCatchUp // never succeeded
		case d.Slots > 1 || now.Sub(d.Missed) > s.opts.Grace:
			trigger = TriggerCatchUp
			missed = append(missed, Missed{Key: k, Slot: d.Missed, Slots: d.Slots})
			s.log.Warn("missed scheduled run; catching up once", "job", k.Kind, "database", k.Database,
				"missed", d.Missed.In(s.plan.Location).Format(time.RFC3339), "slots_missed", d.Slots)
		}
		s.push(&Task{Kind: e.Kind, Database: e.Database, Trigger: trigger, Why: d.Why, Critical: e.Critical,
			Server: e.Server, Window: e.Window, Backup: s.backupFor(e), recheck: true}, now)
	}
	return missed
}

// backupFor names the backup a verify entry should verify.
func (s *Scheduler) backupFor(e *Entry) string {
	if e.Kind != KindVerify {
		return ""
	}
	df := s.facts.DB[e.Database]
	if e.Schedule == "after_full" {
		return df.FullID
	}
	return df.BackupID
}

// waiting reports whether a task for k is queued or running. Caller holds
// s.mu.
func (s *Scheduler) waiting(k Key) bool {
	for _, t := range s.queue {
		if t.Key() == k && t.Trigger != TriggerCLI {
			return true
		}
	}
	for _, t := range s.running {
		if t.Key() == k {
			return true
		}
	}
	return false
}

// push queues t. Caller holds s.mu.
func (s *Scheduler) push(t *Task, now time.Time) {
	s.nextID++
	s.seq++
	t.ID, t.seq, t.Enqueued, t.Attempt = s.nextID, s.seq, now, 1
	s.queue = append(s.queue, t)
	s.log.Debug("queued", "id", t.ID, "job", t.Kind, "database", t.Database, "trigger", t.Trigger, "why", t.Why)
}

// ordered returns the queue in start order: critical databases first, then
// databases in the order they started waiting, then by kind and arrival.
// Caller holds s.mu.
func (s *Scheduler) ordered() []*Task {
	first := map[string]uint64{}
	for _, t := range s.queue {
		if f, ok := first[t.Database]; !ok || t.seq < f {
			first[t.Database] = t.seq
		}
	}
	q := slices.Clone(s.queue)
	sort.SliceStable(q, func(i, j int) bool {
		a, b := q[i], q[j]
		if a.Critical != b.Critical {
			return a.Critical
		}
		if fa, fb := first[a.Database], first[b.Database]; fa != fb {
			return fa < fb
		}
		if ra, rb := kindRank(a.Kind), kindRank(b.Kind); ra != rb {
			return ra < rb
		}
		return a.seq < b.seq
	})
	return q
}

// blocked says why t cannot start now ("" = it can). Caller holds s.mu.
func (s *Scheduler) blocked(t *Task, now time.Time) string {
	if t.NotBefore.After(now) {
		return "retry at " + t.NotBefore.In(s.plan.Location).Format("2006-01-02 15:04:05")
	}
	if IsBackup(t.Kind) && !t.IgnoreWindow && !t.Window.Contains(now.In(s.plan.Location)) {
		return "window " + t.Window.String()
	}
	perServer := 0
	for _, r := range s.running {
		if r.Database == t.Database {
			return "another job of the same database"
		}
		if t.Server != "" && r.Server == t.Server {
			perServer++
		}
	}
	if len(s.running) >= s.plan.MaxParallel {
		return fmt.Sprintf("max_parallel (%d)", s.plan.MaxParallel)
	}
	if s.plan.PerServer > 0 && perServer >= s.plan.PerServer {
		return fmt.Sprintf("max_per_server (%d on %s)", s.plan.PerServer, t.Server)
	}
	return ""
}

// dispatch starts every task that may start, in queue order, and arms the
// wake-up for the first one waiting on time. Caller holds s.mu.
func (s *Scheduler) dispatch(now time.Time) {
	if s.draining || !s.started {
		return
	}
	for _, t := range s.ordered() {
		if len(s.running) >= s.plan.MaxParallel {
			break
		}
		if s.blocked(t, now) != "" {
			continue
		}
		s.remove(t)
		if t.recheck {
			e := s.plan.Entry(t.Key())
			if e == nil || !e.Due(s.facts, now).Due {
				s.log.Debug("no longer due; dropped", "job", t.Kind, "database", t.Database)
				s.retire(t, now, StateDropped, "")
				continue
			}
		}
		s.start(t, now)
	}
	s.armWake(now)
}

func (s *Scheduler) remove(t *Task) {
	if i := slices.Index(s.queue, t); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
}

// armWake sets the one timer that wakes the dispatcher when a waiting task
// reaches its window or its retry time. Caller holds s.mu.
func (s *Scheduler) armWake(now time.Time) {
	var at time.Time
	for _, t := range s.queue {
		var w time.Time
		switch {
		case t.NotBefore.After(now):
			w = t.NotBefore
		case IsBackup(t.Kind) && !t.IgnoreWindow && !t.Window.Contains(now.In(s.plan.Location)):
			w = nextOpen(t.Window, now.In(s.plan.Location))
		default:
			continue
		}
		if at.IsZero() || w.Before(at) {
			at = w
		}
	}
	if at.Equal(s.wakeAt) {
		return
	}
	if s.wakeTimer != nil {
		s.wakeTimer.Stop()
		s.wakeTimer, s.wakeAt = nil, time.Time{}
	}
	if at.IsZero() {
		return
	}
	s.wakeAt = at
	s.wakeTimer = s.clock.AfterFunc(at.Sub(now), s.wake)
}

func (s *Scheduler) wake() {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	if !s.wakeAt.IsZero() && s.wakeAt.After(now) {
		return // a stale timer; a newer one is armed
	}
	s.wakeTimer, s.wakeAt = nil, time.Time{}
	s.dispatch(now)
}

// nextOpen is when w next opens after now (in the plan's location).
func nextOpen(w config.Window, now time.Time) time.Time {
	y, m, d := now.Date()
	for i := range 3 {
		open := time.Date(y, m, d+i, 0, 0, 0, 0, now.Location()).Add(w.Start)
		if open.After(now) {
			return open
		}
	}
	return now.Add(24 * time.Hour)
}

// start runs t. Caller holds s.mu.
func (s *Scheduler) start(t *Task, now time.Time) {
	t.Started = now
	ctx, cancel := context.WithCancel(s.jobsCtx)
	t.cancel = cancel
	s.running[t.ID] = t
	s.log.Info("job started", "id", t.ID, "job", t.Kind, "database", t.Database, "trigger", t.Trigger, "attempt", t.Attempt)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		err := s.safeRun(ctx, t)
		s.finish(t, err)
	}()
}

// safeRun runs t, turning a panic into that task's failure.
func (s *Scheduler) safeRun(ctx context.Context, t *Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job panicked", "id", t.ID, "job", t.Kind, "database", t.Database, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s of %s panicked: %v", t.Kind, t.Database, r)
		}
	}()
	return s.opts.Runner.Run(ctx, t)
}

// finish records the end of an attempt, queues a retry or follow-ups, and
// starts what can start now.
func (s *Scheduler) finish(t *Task, err error) {
	s.mu.Lock()
	defer s.unlock()
	s.refresh()
	now := s.clock.Now()
	delete(s.running, t.ID)
	o := Outcome{Err: err, Duration: now.Sub(t.Started), Final: true}
	cancelled := s.jobsCtx.Err() != nil
	switch {
	case err == nil:
		delete(s.failedAt, t.Key())
		s.log.Info("job finished", "id", t.ID, "job", t.Kind, "database", t.Database, "duration", o.Duration.Round(time.Millisecond))
	case !cancelled && !s.draining && t.Attempt < s.opts.Retry.MaxAttempts && s.opts.Retry.Retryable != nil && s.opts.Retry.Retryable(err):
		o.Final = false
		o.Retry = now.Add(s.opts.Retry.Backoff(t.Attempt))
		s.log.Warn("job failed; will retry", "id", t.ID, "job", t.Kind, "database", t.Database,
			"attempt", t.Attempt, "retry_at", o.Retry.In(s.plan.Location).Format("2006-01-02T15:04:05.000Z07:00"), "error", err)
	default:
		s.failedAt[t.Key()] = now
		s.log.Error("job failed", "id", t.ID, "job", t.Kind, "database", t.Database, "attempt", t.Attempt, "error", err)
	}
	state := StateOK
	if err != nil {
		state = StateFailed
	}
	info := t.info(now, state)
	info.Finished, info.Error = now, errString(err)
	s.note(func(ob Observer) { ob.Finished(info, o) })
	if o.Final {
		s.retire(t, now, state, errString(err))
	} else {
		// Back into its place in the queue.
		next := &Task{ID: t.ID, Kind: t.Kind, Database: t.Database, Backup: t.Backup, Trigger: t.Trigger, OSUser: t.OSUser,
			Why: t.Why, Critical: t.Critical, Server: t.Server, Window: t.Window, IgnoreWindow: t.IgnoreWindow,
			Attempt: t.Attempt + 1, Enqueued: t.Enqueued, NotBefore: o.Retry, recheck: t.recheck, seq: t.seq, Ref: t.Ref}
		s.queue = append(s.queue, next)
	}
	// Follow-ups (verify after a backup, mirror) and anything of this
	// database that came due while it ran.
	s.evaluate(now, func(e *Entry) bool { return e.Database == t.Database || e.Database == "" || e.Spec == nil }, false)
	s.dispatch(now)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// retire keeps a finished or dropped task for status. Caller holds s.mu.
func (s *Scheduler) retire(t *Task, now time.Time, state, msg string) {
	t.finished, t.state, t.err = now, state, msg
	s.recent = append(s.recent, t)
	if len(s.recent) > recentLimit {
		s.recent = slices.Delete(s.recent, 0, len(s.recent)-recentLimit)
	}
}

// note defers an observer call until the lock is released. Caller holds
// s.mu.
func (s *Scheduler) note(f func(Observer)) {
	if s.opts.Observer == nil {
		return
	}
	s.inflight.Add(1)
	s.notes = append(s.notes, func() { f(s.opts.Observer); s.inflight.Add(-1) })
}

// unlock releases s.mu and then makes the observer calls noted under it.
func (s *Scheduler) unlock() {
	notes := s.notes
	s.notes = nil
	s.mu.Unlock()
	for _, n := range notes {
		n()
	}
}

// Request is a task asked for from outside (the CLI, a signed request).
type Request struct {
	Kind     string
	Database string
	Backup   string // verify: the backup ("" = newest)
	OSUser   string
	// Ref tells the runner what the task is for (a signed request's id);
	// required for the OnRequest kinds. Requests with different Refs are
	// never merged into one task.
	Ref string
	// Trigger goes into the job log; default TriggerCLI.
	Trigger string
	// Server, when set, is the server max_per_server counts the task
	// against: a restore loads its target's server, not the source's.
	Server string
	// Why is shown in status; default "requested by <OSUser>".
	Why string
}

// ErrUnknown is wrapped by Enqueue's errors for a database or kind the plan
// does not have.
var ErrUnknown = errors.New("not in the plan")

// Enqueue queues a request through the same queue and limits as scheduled
// tasks; only the policy's window does not apply (the operator asked for
// now).
func (s *Scheduler) Enqueue(r Request) (TaskInfo, error) {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	if s.draining {
		return TaskInfo{}, errors.New("the daemon is shutting down")
	}
	var t *Task
	if r.Database != "" {
		db, ok := s.plan.Databases[r.Database]
		if !ok {
			return TaskInfo{}, fmt.Errorf("database %q: %w", r.Database, ErrUnknown)
		}
		switch r.Kind {
		case KindFull, KindDifferential:
		case KindVerify:
			if !db.CanVerify {
				return TaskInfo{}, fmt.Errorf("database %q: its policy %q has no verify_target to verify on", r.Database, db.Policy)
			}
		default:
			if slices.Contains(s.opts.OnRequest, r.Kind) {
				if r.Ref == "" {
					return TaskInfo{}, fmt.Errorf("%w: job %q runs only for a request (Ref)", ErrUnknown, r.Kind)
				}
				break
			}
			if s.plan.Entry(Key{Kind: r.Kind, Database: r.Database}) == nil {
				return TaskInfo{}, fmt.Errorf("job %q for database %q: %w", r.Kind, r.Database, ErrUnknown)
			}
		}
		t = &Task{Kind: r.Kind, Database: r.Database, Backup: r.Backup, Critical: db.Critical, Server: db.Server, Window: db.Window}
		if r.Kind == KindVerify {
			t.Server = db.VerifyServer
		}
		if r.Server != "" {
			t.Server = r.Server
		}
	} else {
		if s.plan.Entry(Key{Kind: r.Kind}) == nil {
			return TaskInfo{}, fmt.Errorf("site job %q: %w", r.Kind, ErrUnknown)
		}
		t = &Task{Kind: r.Kind}
	}
	for _, q := range s.queue {
		if q.Key() == t.Key() && q.Trigger == TriggerCLI && q.Backup == r.Backup && q.Ref == r.Ref {
			return q.info(now, StateQueued), nil // asked twice: once is enough
		}
	}
	t.Trigger, t.OSUser, t.IgnoreWindow, t.Why, t.Ref = TriggerCLI, r.OSUser, true, "requested by "+orUnknown(r.OSUser), r.Ref
	if r.Trigger != "" {
		t.Trigger = r.Trigger
	}
	if r.Why != "" {
		t.Why = r.Why
	}
	s.push(t, now)
	s.dispatch(now)
	return s.infoLocked(t, now), nil
}

func orUnknown(u string) string {
	if u == "" {
		return "an unknown user"
	}
	return u
}

// infoLocked describes t wherever it is. Caller holds s.mu.
func (s *Scheduler) infoLocked(t *Task, now time.Time) TaskInfo {
	if _, ok := s.running[t.ID]; ok && s.running[t.ID] == t {
		return t.info(now, StateRunning)
	}
	if slices.Contains(s.queue, t) {
		ti := t.info(now, StateQueued)
		ti.Waiting = s.blocked(t, now)
		return ti
	}
	if t.state != "" {
		return t.info(now, t.state)
	}
	return t.info(now, StateQueued)
}

// Task returns the state of task id, if it is still known (queued,
// running or among the last finished).
func (s *Scheduler) Task(id int64) (TaskInfo, bool) {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	if t, ok := s.running[id]; ok {
		return t.info(now, StateRunning), true
	}
	for _, t := range s.queue {
		if t.ID == id {
			return s.infoLocked(t, now), true
		}
	}
	for i := len(s.recent) - 1; i >= 0; i-- {
		if t := s.recent[i]; t.ID == id {
			return t.info(now, t.state), true
		}
	}
	return TaskInfo{}, false
}

// Status is a snapshot of the scheduler.
type Status struct {
	Now     time.Time     `json:"now"`
	Running []TaskInfo    `json:"running"`
	Queued  []TaskInfo    `json:"queued"`
	Recent  []TaskInfo    `json:"recent"`
	Entries []EntryStatus `json:"entries"`
}

// EntryStatus is one entry of the plan and when it runs next.
type EntryStatus struct {
	Kind     string    `json:"kind"`
	Database string    `json:"database,omitempty"`
	Schedule string    `json:"schedule"`
	Window   string    `json:"window,omitempty"`
	Critical bool      `json:"critical,omitempty"`
	Next     time.Time `json:"next,omitzero"` // next scheduled run (zero for event-driven entries)
	Due      bool      `json:"due"`
	Why      string    `json:"why,omitempty"`
}

// Status describes the queue, running tasks and every entry.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	st := Status{Now: now, Running: []TaskInfo{}, Queued: []TaskInfo{}, Recent: []TaskInfo{}}
	for _, t := range s.running {
		st.Running = append(st.Running, t.info(now, StateRunning))
	}
	sort.Slice(st.Running, func(i, j int) bool { return st.Running[i].ID < st.Running[j].ID })
	for _, t := range s.ordered() {
		ti := t.info(now, StateQueued)
		ti.Waiting = s.blocked(t, now)
		st.Queued = append(st.Queued, ti)
	}
	for _, t := range s.recent {
		st.Recent = append(st.Recent, t.info(now, t.state))
	}
	for i := range s.plan.Entries {
		e := &s.plan.Entries[i]
		es := EntryStatus{Kind: e.Kind, Database: e.Database, Schedule: e.Schedule, Window: e.Window.String(), Critical: e.Critical}
		if e.Spec != nil {
			es.Next = e.Spec.Next(now)
			if IsBackup(e.Kind) && !e.Window.Contains(es.Next.In(s.plan.Location)) {
				es.Next = nextOpen(e.Window, es.Next.In(s.plan.Location))
			}
		}
		d := e.Due(s.facts, now)
		es.Due, es.Why = d.Due, d.Why
		st.Entries = append(st.Entries, es)
	}
	return st
}

// Plan returns the plan in force.
func (s *Scheduler) Plan() *Plan {
	s.mu.Lock()
	defer s.unlock()
	return s.plan
}

// Reload puts plan in force and returns the changes from the old one.
// Queued tasks of entries that are gone are dropped; running ones finish.
func (s *Scheduler) Reload(plan *Plan) ([]string, error) {
	s.mu.Lock()
	old := s.plan
	changes := plan.Diff(old)
	s.plan = plan
	now := s.clock.Now()
	kept := s.queue[:0]
	for _, t := range s.queue {
		if t.Trigger == TriggerCLI || t.Ref != "" {
			if db, ok := plan.Databases[t.Database]; ok || t.Database == "" {
				t.Critical, t.Window = db.Critical, db.Window
				switch {
				case t.Ref != "":
					// Its server was chosen when it was asked for.
				case t.Kind == KindVerify:
					t.Server = db.VerifyServer
				default:
					t.Server = db.Server
				}
				kept = append(kept, t)
				continue
			}
		} else if e := plan.Entry(t.Key()); e != nil {
			t.Critical, t.Server, t.Window = e.Critical, e.Server, e.Window
			kept = append(kept, t)
			continue
		}
		s.retire(t, now, StateDropped, "removed from the policy")
	}
	s.queue = kept
	started := s.started && !s.draining
	s.unlock()
	if !started {
		return changes, nil
	}
	if err := s.arm(plan); err != nil {
		return changes, err
	}
	s.mu.Lock()
	defer s.unlock()
	now = s.clock.Now()
	s.evaluate(now, nil, false)
	s.dispatch(now)
	return changes, nil
}

// gocronLogger sends gocron's logs to hclog.
type gocronLogger struct{ l hclog.Logger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Trace(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Debug(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warn(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Error(msg, args...) }
