package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"
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
