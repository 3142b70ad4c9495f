package schedule

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/config"
	_ "github.com/dbopsd/dbopsd/engines/all" // config validates engines through their registrations
	"github.com/dbopsd/dbopsd/internal/testlog"
)

// simPolicy is the site of the simulations: seven databases on five
// servers, with monthly, quarterly and cron fulls, weekly and biweekly
// differentials, the three kinds of verification, a window, a mirror.
const simPolicy = `
daemon {
  state_dir      = "/nonexistent/state"
  max_parallel   = 2
  max_per_server = 1
  timezone       = "Asia/Shanghai"
}
storage "primary" {
  type = "local"
  path = "/nonexistent/repo"
}
storage "dr" {
  type = "local"
  path = "/nonexistent/dr"
}
repository {
  storage    = "primary"
  mirrors    = ["dr"]
  passphrase = env("DBOPS_SIM_UNSET")
}
restore_target "scratch-pg" {
  engine  = "postgres"
  dsn     = "postgres://dbops@10.0.0.50:5432/postgres"
  scratch = true
}
restore_target "scratch-my" {
  engine  = "mysql"
  dsn     = "dbops@tcp(10.0.0.51:3306)/"
  scratch = true
}
policy "important" {
  full          = "monthly"
  differential  = "weekly"
  verify        = "after_each"
  verify_target = "scratch-pg"
}
policy "standard" {
  full          = "monthly"
  differential  = "biweekly"
  window        = "03:00-05:00"
  verify        = "after_full"
  verify_target = "scratch-my"
}
policy "archive" {
  full          = "quarterly"
  differential  = "biweekly"
  verify        = "0 6 * * 6"
  verify_target = "scratch-pg"
}
policy "monthend" {
  full         = "0 12 31 * *"
  differential = "none"
  verify       = "none"
}
database "queue" {
  engine   = "postgres"
  dsn      = "postgres://dbops@10.0.0.11:5432/queue"
  policy   = "important"
  critical = true
}
database "acceptance" {
  engine   = "postgres"
  dsn      = "host=10.0.0.11 port=5432 user=dbops dbname=acceptance"
  policy   = "important"
  critical = true
}
database "selfservice" {
  engine = "mariadb"
  dsn    = "dbops@tcp(10.0.0.12:3306)/selfservice"
  policy = "standard"
}
database "rating" {
  engine = "mysql"
  dsn    = "dbops@tcp(10.0.0.12:3306)/rating"
  policy = "standard"
}
database "windows" {
  engine = "mysql"
  dsn    = "dbops@tcp(10.0.0.14:3306)/windows"
  policy = "standard"
}
database "performance" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.15:5432/performance"
  policy = "archive"
}
database "ledger" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.16:5432/ledger"
  policy = "monthend"
}
`

func loadSimConfig(t testing.TB, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(src), "sim.hcl")
	if diags.HasErrors() {
		t.Fatalf("sim policy: %v", diags)
	}
	return cfg
}

// ---- a history kept in memory ----

type simBackup struct {
	id, db, typ string
	started     time.Time
	verify      string
}

type memHistory struct {
	mu       sync.Mutex
	backups  []*simBackup
	verified map[string]time.Time
	site     map[string]time.Time
	n        int
}

func newMemHistory() *memHistory {
	return &memHistory{verified: map[string]time.Time{}, site: map[string]time.Time{}}
}

func (h *memHistory) Facts(context.Context) (Facts, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := Facts{DB: map[string]DBFacts{}, Site: map[string]time.Time{}}
	for _, b := range h.backups {
		df := f.DB[b.db]
		if b.typ == KindFull && !b.started.Before(df.Full) {
			df.Full, df.FullID, df.FullVerify = b.started, b.id, b.verify
		}
		if !b.started.Before(df.Backup) {
			df.Backup, df.BackupID, df.BackupVerify = b.started, b.id, b.verify
		}
		f.DB[b.db] = df
	}
	for db, at := range h.verified {
		df := f.DB[db]
		df.Verified = at
		f.DB[db] = df
	}
	for k, v := range h.site {
		f.Site[k] = v
	}
	return f, nil
}

func (h *memHistory) addBackup(db, typ string, at time.Time, verify string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	id := fmt.Sprintf("%s-%s-%d", db, typ, h.n)
	h.backups = append(h.backups, &simBackup{id: id, db: db, typ: typ, started: at, verify: verify})
	return id
}

func (h *memHistory) verify(db, id string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.backups) - 1; i >= 0; i-- {
		b := h.backups[i]
		if b.db == db && (id == "" || b.id == id) {
			b.verify = "ok"
			break
		}
	}
	h.verified[db] = at
}

// ---- a runner that takes simulated time ----

type simRun struct {
	task     *Task
	key      Key
	server   string
	trigger  string
	start    time.Time
	end      time.Time
	release  chan struct{}
	released bool
}

type simRunner struct {
	t        testing.TB
	clock    *clockwork.FakeClock
	hist     *memHistory
	loc      *time.Location
	max      int
	perSrv   int
	duration map[string]time.Duration

	mu      sync.Mutex
	active  []*simRun
	done    []*simRun
	started int
	errs    []string
	// fail, when set, decides the outcome of a run.
	fail func(r *simRun) error
	// record, when set, writes a successful run's outcome instead of hist.
	record func(r *simRun) error
}

func (r *simRunner) Run(ctx context.Context, t *Task) error {
	now := r.clock.Now()
	run := &simRun{task: t, key: t.Key(), server: t.Server, trigger: t.Trigger, start: now,
		end: now.Add(r.duration[t.Kind]), release: make(chan struct{})}
	r.mu.Lock()
	perDB, perSrv := 0, 0
	for _, a := range r.active {
		if a.key.Database == run.key.Database {
			perDB++
		}
		if run.server != "" && a.server == run.server {
			perSrv++
		}
	}
	if perDB > 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s: %s started while another job of %q ran", now, run.key, run.key.Database))
	}
	if len(r.active) >= r.max {
		r.errs = append(r.errs, fmt.Sprintf("%s: %s started with %d jobs running (max_parallel %d)", now, run.key, len(r.active), r.max))
	}
	if r.perSrv > 0 && perSrv >= r.perSrv {
		r.errs = append(r.errs, fmt.Sprintf("%s: %s started with %d jobs on %s", now, run.key, perSrv, run.server))
	}
	r.active = append(r.active, run)
	r.started++
	r.mu.Unlock()

	select {
	case <-run.release:
	case <-ctx.Done():
		r.mu.Lock()
		r.removeActive(run)
		r.mu.Unlock()
		return ctx.Err()
	}
	if r.fail != nil {
		if err := r.fail(run); err != nil {
			return err
		}
	}
	if r.record != nil {
		return r.record(run)
	}
	switch t.Kind {
	case KindFull, KindDifferential:
		r.hist.addBackup(t.Database, t.Kind, run.start, "")
	case KindVerify:
		r.hist.verify(t.Database, t.Backup, run.start)
	default:
		r.hist.mu.Lock()
		r.hist.site[t.Kind] = run.start
		r.hist.mu.Unlock()
	}
	return nil
}

// removeActive: caller holds r.mu.
func (r *simRunner) removeActive(run *simRun) {
	for i, a := range r.active {
		if a == run {
			r.active = append(r.active[:i], r.active[i+1:]...)
			break
		}
	}
}

// releaseDue lets every run whose end has come finish.
func (r *simRunner) releaseDue(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < len(r.active); i++ {
		a := r.active[i]
		if !a.end.After(now) && !a.released {
			a.released = true
			r.removeActive(a)
			r.done = append(r.done, a)
			close(a.release)
			i--
		}
	}
}

func (r *simRunner) nActive() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active)
}

func (r *simRunner) runs() []*simRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*simRun(nil), r.done...)
}

// ---- the simulation ----

type sim struct {
	t        testing.TB
	cfg      *config.Config
	plan     *Plan
	clock    *clockwork.FakeClock
	hist     *memHistory
	runner   *simRunner
	logs     *testlog.Buffer
	gaps     []Gap
	finished []finishedTask
	gapMu    sync.Mutex
	opts     Options // extra options for start
	history  History // what the scheduler reads; default hist

	s      *Scheduler
	cancel context.CancelFunc
	done   chan error
	// expected gocron firings, counted from the specs themselves
	expect map[*group]*expectation
}

type expectation struct {
	n    int
	next time.Time
	// rearm: gocron has fired this job and must set its timer again
	// before the clock may move on.
	rearm bool
}

func (m *sim) Finished(ti TaskInfo, o Outcome) {
	m.gapMu.Lock()
	defer m.gapMu.Unlock()
	m.finished = append(m.finished, finishedTask{ti, o})
}

func (m *sim) outcomes() []finishedTask {
	m.gapMu.Lock()
	defer m.gapMu.Unlock()
	return append([]finishedTask(nil), m.finished...)
}

type finishedTask struct {
	TaskInfo
	Outcome
}

func (m *sim) Gap(g Gap) {
	m.gapMu.Lock()
	defer m.gapMu.Unlock()
	m.gaps = append(m.gaps, g)
}

var simDurations = map[string]time.Duration{
	KindFull: 50 * time.Minute, KindDifferential: 15 * time.Minute, KindVerify: 25 * time.Minute,
	KindPrune: 5 * time.Minute, KindMirror: 10 * time.Minute,
}

func newSim(t testing.TB, src string, start time.Time) *sim {
	cfg := loadSimConfig(t, src)
	plan, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(start)
	hist := newMemHistory()
	m := &sim{t: t, cfg: cfg, plan: plan, clock: clock, hist: hist, logs: &testlog.Buffer{},
		runner: &simRunner{t: t, clock: clock, hist: hist, loc: plan.Location, max: plan.MaxParallel, perSrv: plan.PerServer, duration: simDurations}}
	return m
}

// seed records, for every entry, a success at its last slot before start,
// so that the simulation starts from a site that was up to date.
func (m *sim) seed() {
	start := m.clock.Now()
	for _, e := range m.plan.Entries {
		if e.Spec == nil {
			continue
		}
		prev := Prev(e.Spec, start, 120*24*time.Hour)
		switch e.Kind {
		case KindFull:
			m.hist.addBackup(e.Database, KindFull, prev, "ok")
		case KindVerify:
			m.hist.verified[e.Database] = prev
		case KindPrune:
			m.hist.site[KindPrune] = prev
		}
	}
	for _, e := range m.plan.Entries {
		if e.Kind == KindDifferential {
			if prev := Prev(e.Spec, start, 30*24*time.Hour); prev.After(m.lastBackup(e.Database)) {
				m.hist.addBackup(e.Database, KindDifferential, prev, "ok")
			}
		}
	}
	m.hist.site[KindMirror] = start
}

func (m *sim) lastBackup(db string) time.Time {
	f, _ := m.hist.Facts(context.Background())
	return f.DB[db].Backup
}

// start runs a scheduler on the simulation's clock, history and runner.
func (m *sim) start(lastSeen time.Time) {
	logger := hclog.New(&hclog.LoggerOptions{Output: m.logs, Level: hclog.Info})
	opts := m.opts
	opts.History, opts.Runner, opts.Observer, opts.Clock, opts.Logger = m.hist, m.runner, m, m.clock, logger
	if m.history != nil {
		opts.History = m.history
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = time.Hour
	}
	opts.LastSeen = lastSeen
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = time.Minute
	}
	s, err := New(m.plan, opts)
	if err != nil {
		m.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.s, m.cancel, m.done = s, cancel, make(chan error, 1)
	go func() { m.done <- s.Run(ctx) }()
	// Wait until the timers are armed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		ready := s.armed
		s.mu.Unlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			m.t.Fatal("scheduler did not start")
		}
		time.Sleep(time.Millisecond)
	}
	m.expect = map[*group]*expectation{}
	m.settle()
}

// stop ends the scheduler (the daemon going down), letting running jobs
// end at once: the drain waits for them.
func (m *sim) stop() {
	m.t.Helper()
	m.cancel()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-m.done:
			if err != nil {
				m.t.Fatal(err)
			}
			m.s = nil
			return
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatal("scheduler did not stop")
		}
		m.runner.releaseDue(m.clock.Now().Add(365 * 24 * time.Hour))
		time.Sleep(time.Millisecond)
	}
}

// settled reports whether everything the clock set off has happened: each
// gocron job has run its task for every slot passed, no wake-up is
// overdue, and every task the scheduler started has reached the runner
// (or, once released, come back).
func (m *sim) settled() (bool, string) {
	now := m.clock.Now()
	s := m.s
	s.mu.Lock()
	var rearm []*group
	for _, g := range s.groups {
		x := m.expect[g]
		if x == nil {
			x = &expectation{next: g.spec.Next(g.registered)}
			m.expect[g] = x
		}
		for !x.next.IsZero() && !x.next.After(now) {
			x.n++
			x.next = g.spec.Next(x.next)
			x.rearm = true
		}
		if g.fired < x.n {
			why := fmt.Sprintf("gocron job %s fired %d of %d times", g.name, g.fired, x.n)
			s.mu.Unlock()
			return false, why
		}
		if x.rearm {
			rearm = append(rearm, g)
		}
	}
	if !s.wakeAt.IsZero() && !s.wakeAt.After(now) {
		s.mu.Unlock()
		return false, "wake-up overdue"
	}
	if n := m.runner.nActive(); n != len(s.running) {
		why := fmt.Sprintf("%d running in the scheduler, %d in the runner", len(s.running), n)
		s.mu.Unlock()
		return false, why
	}
	s.mu.Unlock()
	if n := s.inflight.Load(); n > 0 {
		return false, fmt.Sprintf("%d observer calls in flight", n)
	}
	// gocron sets a job's next timer in its own goroutine after the task
	// ran; moving the clock before that would make it skip a slot.
	for _, g := range rearm {
		next, err := g.job.NextRun()
		if err != nil || !next.After(now) {
			return false, fmt.Sprintf("gocron job %s not re-armed (next %s, %v)", g.name, next, err)
		}
		m.expect[g].rearm = false
	}
	return true, ""
}

func (m *sim) settle() {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		ok, why := m.settled()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("at %s the simulation did not settle: %s", m.clock.Now(), why)
		}
		if i < 50 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// advance moves the clock to until in steps, letting jobs run.
func (m *sim) advance(until time.Time, step time.Duration) {
	m.t.Helper()
	for m.clock.Now().Before(until) {
		d := min(step, until.Sub(m.clock.Now()))
		m.clock.Advance(d)
		m.settle()
		m.runner.releaseDue(m.clock.Now())
		m.settle()
		m.checkErrs()
	}
}

func (m *sim) checkErrs() {
	m.runner.mu.Lock()
	defer m.runner.mu.Unlock()
	if len(m.runner.errs) > 0 {
		m.t.Fatalf("limits broken:\n%s", strings.Join(m.runner.errs, "\n"))
	}
}

func countRuns(runs []*simRun, pred func(*simRun) bool) int {
	n := 0
	for _, r := range runs {
		if pred(r) {
			n++
		}
	}
	return n
}

// TestSimulatedYear drives a year of the site through gocron on a fake
// clock: every database gets exactly its fulls (12 monthly, 4 quarterly, 7
// on the 31st), a differential at every slot a full does not cover, its
// verifications, a prune a day; no database ever runs two jobs at once,
// and the limits hold.
func TestSimulatedYear(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
	end := start.AddDate(1, 0, 0)
	m := newSim(t, simPolicy, start)
	m.seed()
	m.start(start.Add(-time.Minute))
	m.advance(end, 5*time.Minute)
	// Let the last jobs finish, then stop.
	m.advance(end.Add(6*time.Hour), 5*time.Minute)
	m.stop()

	runs := m.runner.runs()
	if len(m.gaps) != 0 {
		t.Errorf("gaps reported in a year without downtime: %+v", m.gaps)
	}
	for _, r := range runs {
		if r.trigger == TriggerCatchUp || r.trigger == TriggerRetry {
			t.Errorf("%s at %s: trigger %s in a year without downtime", r.key, r.start, r.trigger)
		}
	}
	inYear := func(r *simRun) bool { return !r.start.Before(start) && r.start.Before(end) }
	for name, db := range m.cfg.Databases {
		pol := m.cfg.Policies[db.Policy]
		fullSpec, diffSpec := pol.FullSpec, pol.DifferentialSpec
		wantFulls := Slots(fullSpec, start, end, 1000)
		switch pol.Full {
		case "monthly":
			if wantFulls != 12 {
				t.Fatalf("monthly spec has %d slots in a year", wantFulls)
			}
		case "quarterly":
			if wantFulls != 4 {
				t.Fatalf("quarterly spec has %d slots in a year", wantFulls)
			}
		}
		fulls := countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key == Key{KindFull, name} })
		if fulls != wantFulls {
			t.Errorf("%s: %d fulls, want %d", name, fulls, wantFulls)
		}
		window := pol.Window
		// Differentials: one per slot, except where a full started at the
		// same slot covers it.
		if diffSpec != nil {
			want := 0
			for s := diffSpec.Next(start); s.Before(end); s = diffSpec.Next(s) {
				if fullSpec.Next(s.Add(-time.Second)).Equal(s) {
					continue
				}
				want++
			}
			diffs := countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key == Key{KindDifferential, name} })
			if diffs != want {
				t.Errorf("%s: %d differentials, want %d", name, diffs, want)
			}
		}
		// The longest time between two backups.
		var last time.Time
		var gap time.Duration
		for _, r := range runs {
			if r.key.Database != name || !IsBackup(r.key.Kind) {
				continue
			}
			if !last.IsZero() && r.start.Sub(last) > gap {
				gap = r.start.Sub(last)
			}
			last = r.start
			if !window.Contains(r.start.In(loc)) {
				t.Errorf("%s: %s started at %s, outside its window %s", name, r.key.Kind, r.start.In(loc), window)
			}
		}
		if db.Critical && gap > 14*24*time.Hour {
			t.Errorf("critical %s: %s between two backups", name, gap)
		}
		// Verifications.
		nBackups := countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key.Database == name && IsBackup(r.key.Kind) })
		verifies := countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key == Key{KindVerify, name} })
		switch pol.Verify {
		case "after_each":
			if verifies != nBackups {
				t.Errorf("%s: %d verifications of %d backups (after_each)", name, verifies, nBackups)
			}
		case "after_full":
			if verifies != fulls {
				t.Errorf("%s: %d verifications of %d fulls (after_full)", name, verifies, fulls)
			}
		case "none":
			if verifies != 0 {
				t.Errorf("%s: %d verifications with verify = none", name, verifies)
			}
		default:
			spec, _ := ParseSpec(pol.Verify, loc)
			if want := Slots(spec, start, end, 1000); verifies != want {
				t.Errorf("%s: %d verifications, want %d (%s)", name, verifies, want, pol.Verify)
			}
		}
		t.Logf("%-12s %-10s fulls %2d, differentials %2d, verifications %2d, longest gap %s",
			name, pol.Name, fulls, countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key == Key{KindDifferential, name} }), verifies, gap)
	}
	// The window pushes the standard policy's 01:00 runs to 03:00.
	for _, r := range runs {
		if m.cfg.Databases[r.key.Database] != nil && m.cfg.Databases[r.key.Database].Policy == "standard" && r.key.Kind == KindFull {
			if h := r.start.In(loc).Hour(); h < 3 || h >= 5 {
				t.Errorf("%s started at %s, outside 03:00-05:00", r.key, r.start.In(loc))
			}
		}
	}
	prunes := countRuns(runs, func(r *simRun) bool { return inYear(r) && r.key.Kind == KindPrune })
	if prunes != 365 {
		t.Errorf("%d prunes in 2025, want 365", prunes)
	}
	mirrors := countRuns(runs, func(r *simRun) bool { return r.key.Kind == KindMirror })
	f, _ := m.hist.Facts(context.Background())
	for db, df := range f.DB {
		if df.Backup.After(f.Site[KindMirror]) {
			t.Errorf("backup of %s at %s was never mirrored (last mirror %s)", db, df.Backup, f.Site[KindMirror])
		}
	}
	t.Logf("prunes %d, mirrors %d, jobs %d", prunes, mirrors, len(runs))
}

// TestDowntimeCatchUp stops the daemon for three days, in which every kind
// of job has at least one slot (prune three), and restarts it: each entry
// gets exactly one catch-up, is logged once as missed, and the gap is
// reported once; afterwards the schedule goes on as before.
func TestDowntimeCatchUp(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
	down := time.Date(2025, 3, 29, 0, 0, 0, 0, loc) // Saturday
	up := down.Add(72 * time.Hour)                  // Tuesday
	m := newSim(t, simPolicy, start)
	m.seed()
	m.start(start)
	m.advance(down, 5*time.Minute)
	m.stop()
	before := len(m.runner.runs())
	logsBefore := strings.Count(m.logs.String(), "missed scheduled run")

	m.clock.Advance(up.Sub(down))
	m.start(down)
	m.advance(up.Add(21*24*time.Hour), 5*time.Minute)
	m.stop()

	runs := m.runner.runs()[before:]
	catchUps := map[Key]int{}
	for _, r := range runs {
		if r.trigger == TriggerCatchUp {
			catchUps[r.key]++
			if r.start.Sub(up) > 6*time.Hour {
				t.Errorf("catch-up %s ran at %s, long after the restart", r.key, r.start.In(loc))
			}
		}
	}
	want := map[Key]int{
		{KindDifferential, "queue"}: 1, {KindDifferential, "acceptance"}: 1, // weekly, Sunday 30 March
		{KindDifferential, "selfservice"}: 1, {KindDifferential, "rating"}: 1, {KindDifferential, "windows"}: 1, // biweekly, 30 March
		{KindDifferential, "performance"}: 1,
		{KindVerify, "performance"}:       1, // Saturday 29 March 06:00
		{KindFull, "ledger"}:              1, // 31 March 12:00
		{Kind: KindPrune}:                 1, // three daily slots, one catch-up
	}
	for k, n := range want {
		if catchUps[k] != n {
			t.Errorf("%s: %d catch-ups, want %d", k, catchUps[k], n)
		}
	}
	for k, n := range catchUps {
		if want[k] == 0 {
			t.Errorf("%s: %d unexpected catch-ups", k, n)
		}
	}
	missedLogs := strings.Count(m.logs.String(), "missed scheduled run") - logsBefore
	if missedLogs != len(want) {
		t.Errorf("%d 'missed' log lines, want %d:\n%s", missedLogs, len(want), m.logs.String())
	}
	m.gapMu.Lock()
	defer m.gapMu.Unlock()
	if len(m.gaps) != 1 {
		g := m.gaps[0]
		logs := m.logs.String()
		i := strings.Index(logs, "now=\""+g.To.Format("01-02 15:04"))
		t.Log(logs[max(0, i-4000):min(len(logs), i+500)])
		t.Fatalf("%d gaps reported, want 1: %+v", len(m.gaps), m.gaps)
	}
	g := m.gaps[0]
	if !g.From.Equal(down) || !g.To.Equal(up) || len(g.Missed) != len(want) {
		t.Errorf("gap %s to %s with %d missed, want %s to %s with %d", g.From, g.To, len(g.Missed), down, up, len(want))
	}
	for _, ms := range g.Missed {
		if ms.Key.Kind == KindPrune && ms.Slots != 3 {
			t.Errorf("prune: %d slots missed, want 3", ms.Slots)
		}
	}
	// The standard databases' catch-ups waited for their window.
	for _, r := range runs {
		if r.trigger == TriggerCatchUp && m.cfg.Databases[r.key.Database] != nil && m.cfg.Databases[r.key.Database].Policy == "standard" {
			if h := r.start.In(loc).Hour(); h < 3 || h >= 5 {
				t.Errorf("%s caught up at %s, outside its window", r.key, r.start.In(loc))
			}
		}
	}
	keys := make([]string, 0, len(catchUps))
	for k := range catchUps {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	t.Logf("caught up: %s", strings.Join(keys, ", "))
}

// TestSleepIsAGap: the machine sleeps for three days while the daemon
// runs (the clock jumps at once, no timer fires in between). On waking,
// the first timer notices the jump: every missed entry is caught up once,
// the gap is reported once, and the schedule goes on.
func TestSleepIsAGap(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
	asleep := time.Date(2025, 3, 28, 12, 0, 0, 0, loc) // Friday noon
	m := newSim(t, simPolicy, start)
	m.seed()
	m.start(start)
	m.advance(asleep, 5*time.Minute)
	before := len(m.runner.runs())

	m.clock.Advance(72*time.Hour + 10*time.Minute) // Monday 12:10
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.gapMu.Lock()
		n := len(m.gaps)
		m.gapMu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no gap reported after the jump")
		}
		time.Sleep(time.Millisecond)
	}
	// gocron skips the slots that passed: count from the timers' state now.
	time.Sleep(50 * time.Millisecond)
	m.s.mu.Lock()
	for _, g := range m.s.groups {
		m.expect[g] = &expectation{n: g.fired, next: g.spec.Next(m.clock.Now()), rearm: true}
	}
	m.s.mu.Unlock()
	m.settle()
	m.runner.releaseDue(m.clock.Now())
	m.advance(m.clock.Now().Add(7*24*time.Hour), 5*time.Minute)
	m.stop()

	catchUps := map[Key]int{}
	for _, r := range m.runner.runs()[before:] {
		if r.trigger == TriggerCatchUp {
			catchUps[r.key]++
		}
	}
	want := []Key{
		{KindDifferential, "queue"}, {KindDifferential, "acceptance"}, {KindDifferential, "selfservice"},
		{KindDifferential, "rating"}, {KindDifferential, "windows"}, {KindDifferential, "performance"},
		{KindVerify, "performance"}, {KindFull, "ledger"}, {Kind: KindPrune},
	}
	for _, k := range want {
		if catchUps[k] != 1 {
			t.Errorf("%s: %d catch-ups, want 1", k, catchUps[k])
		}
	}
	if len(catchUps) != len(want) {
		t.Errorf("catch-ups: %v", catchUps)
	}
	m.gapMu.Lock()
	defer m.gapMu.Unlock()
	if len(m.gaps) != 1 || len(m.gaps[0].Missed) != len(want) || m.gaps[0].From.After(asleep) || asleep.Sub(m.gaps[0].From) > time.Hour {
		t.Errorf("gaps: %+v", m.gaps)
	}
}
