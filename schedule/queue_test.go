package schedule

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
)

// smallPolicy: four databases, two on one server, one critical, one with
// a window; nothing backed up yet, so every full is due at once.
const smallPolicy = `
daemon {
  state_dir      = "/nonexistent/state"
  max_parallel   = 2
  max_per_server = 1
  timezone       = "UTC"
}
storage "primary" {
  type = "local"
  path = "/nonexistent/repo"
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_SIM_UNSET")
}
restore_target "scratch" {
  engine  = "postgres"
  dsn     = "postgres://dbops@10.0.0.50:5432/postgres"
  scratch = true
}
policy "p" {
  full          = "monthly"
  differential  = "none"
  verify        = "after_full"
  verify_target = "scratch"
}
policy "crit" {
  full          = "monthly"
  differential  = "weekly"
  verify        = "after_full"
  verify_target = "scratch"
}
policy "night" {
  full         = "monthly"
  differential = "none"
  window       = "02:00-03:00"
  verify       = "none"
}
database "alpha" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.1:5432/alpha"
  policy = "p"
}
database "bravo" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.1:5432/bravo"
  policy = "p"
}
database "charlie" {
  engine   = "postgres"
  dsn      = "postgres://dbops@10.0.0.2:5432/charlie"
  policy   = "crit"
  critical = true
}
database "delta" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.3:5432/delta"
  policy = "night"
}
`

var queueStart = time.Date(2025, 6, 10, 10, 0, 0, 0, time.UTC) // a Tuesday

func startsOf(runs []*simRun, kind string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range runs {
		if r.key.Kind == kind {
			if _, ok := out[r.key.Database]; !ok {
				out[r.key.Database] = r.start
			}
		}
	}
	return out
}

// TestQueueOrderAndLimits: with nothing backed up, every full is caught up
// at once; the critical database goes first, two run at a time, never two
// on one server, and the windowed one waits for its window.
func TestQueueOrderAndLimits(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	m.start(time.Time{})
	st := m.s.Status()
	if len(st.Running) != 2 || st.Running[0].Database != "charlie" || st.Running[1].Database != "alpha" {
		t.Fatalf("running first: %+v, want charlie and alpha", st.Running)
	}
	var waits []string
	for _, q := range st.Queued {
		waits = append(waits, q.Database+": "+q.Waiting)
	}
	want := []string{"bravo: max_parallel (2)", "delta: window 02:00-03:00"}
	if strings.Join(waits, "; ") != strings.Join(want, "; ") {
		t.Errorf("queued: %q, want %q", waits, want)
	}
	m.advance(queueStart.Add(20*time.Hour), 5*time.Minute)
	m.stop()
	fulls := startsOf(m.runner.runs(), KindFull)
	if !fulls["charlie"].Equal(queueStart) || !fulls["alpha"].Equal(queueStart) {
		t.Errorf("charlie and alpha started at %s and %s, want %s", fulls["charlie"], fulls["alpha"], queueStart)
	}
	// bravo shares alpha's server: it waits for alpha even once charlie's
	// slot is free (charlie's verification takes that slot meanwhile).
	if fulls["bravo"].Before(queueStart.Add(50 * time.Minute)) {
		t.Errorf("bravo started at %s, before alpha finished", fulls["bravo"])
	}
	if want := time.Date(2025, 6, 11, 2, 0, 0, 0, time.UTC); !fulls["delta"].Equal(want) {
		t.Errorf("delta started at %s, want %s (its window)", fulls["delta"], want)
	}
	for _, r := range m.runner.runs() {
		if r.trigger != TriggerCatchUp && r.trigger != TriggerAfterBackup {
			t.Errorf("%s: trigger %s", r.key, r.trigger)
		}
	}
}

func TestOrdered(t *testing.T) {
	s := &Scheduler{plan: &Plan{MaxParallel: 1}}
	add := func(kind, db string, critical bool) {
		s.seq++
		s.queue = append(s.queue, &Task{Kind: kind, Database: db, Critical: critical, seq: s.seq})
	}
	add(KindVerify, "x", false)
	add(KindDifferential, "y", false)
	add(KindFull, "z", true)
	add(KindFull, "x", false)
	add(KindFull, "y", false)
	add(KindPrune, "", false)
	var got []string
	for _, q := range s.ordered() {
		got = append(got, q.Key().String())
	}
	want := "full of z, full of x, verify of x, full of y, differential of y, prune"
	if strings.Join(got, ", ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
}

var errTransient = errors.New("dial tcp 10.0.0.1:5432: connection refused")

// TestRetries: a transient failure is retried with back-off up to
// MaxAttempts; a permanent one is not, and the sweep leaves it alone until
// the cooldown has passed.
func TestRetries(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	for _, db := range []string{"charlie", "delta"} {
		m.hist.addBackup(db, KindFull, queueStart.Add(-time.Hour), "ok")
	}
	permanent := errors.New("password authentication failed")
	attempts := map[string]int{}
	m.runner.fail = func(r *simRun) error {
		if r.key.Kind != KindFull {
			return nil
		}
		attempts[r.key.Database]++
		switch r.key.Database {
		case "alpha":
			if attempts["alpha"] <= 2 {
				return errTransient
			}
		case "bravo":
			return permanent
		}
		return nil
	}
	m.opts.Retry = RetryPolicy{MaxAttempts: 4, Base: 10 * time.Minute, Max: time.Hour, Jitter: 0.2,
		Retryable: func(err error) bool { return errors.Is(err, errTransient) }}
	m.opts.FailureCooldown = 3 * time.Hour
	m.start(time.Time{})
	m.advance(queueStart.Add(4*time.Hour), 5*time.Minute)

	var alpha, bravo []finishedTask
	for _, f := range m.outcomes() {
		if f.Kind != KindFull {
			continue
		}
		switch f.Database {
		case "alpha":
			alpha = append(alpha, f)
		case "bravo":
			bravo = append(bravo, f)
		}
	}
	// Observers are called from the tasks' goroutines: put the attempts
	// in order.
	sort.Slice(alpha, func(i, j int) bool { return alpha[i].Attempt < alpha[j].Attempt })
	if len(alpha) != 3 || alpha[0].Final || alpha[1].Final || !alpha[2].Final || alpha[2].Err != nil {
		t.Fatalf("alpha: %d attempts %+v, want 2 retried failures and a success", len(alpha), alpha)
	}
	for i := range 2 {
		backoff := alpha[i].Retry.Sub(alpha[i].Finished)
		base := 10 * time.Minute << i
		if backoff < time.Duration(float64(base)*0.8) || backoff > time.Duration(float64(base)*1.2) {
			t.Errorf("alpha attempt %d: back-off %s, want %s ± 20%%", i+2, backoff, base)
		}
		if alpha[i+1].Started.Before(alpha[i].Retry) {
			t.Errorf("alpha attempt %d started at %s, before its back-off ended at %s", i+2, alpha[i+1].Started, alpha[i].Retry)
		}
		if alpha[i+1].Attempt != i+2 || alpha[i+1].ID != alpha[0].ID {
			t.Errorf("attempt %d: %+v", i+2, alpha[i+1].TaskInfo)
		}
	}
	if len(bravo) != 1 || !bravo[0].Final || !errors.Is(bravo[0].Err, permanent) {
		t.Fatalf("bravo: %+v, want one final failure", bravo)
	}
	// The sweeps within the cooldown leave bravo alone; after it, bravo
	// is tried again with trigger "retry".
	m.advance(queueStart.Add(6*time.Hour), 5*time.Minute)
	m.stop()
	var triggers []string
	for _, r := range m.runner.runs() {
		if r.key == (Key{KindFull, "bravo"}) {
			triggers = append(triggers, r.trigger+"@"+r.start.Format("15:04"))
		}
	}
	if len(triggers) != 2 || !strings.HasPrefix(triggers[1], TriggerRetry+"@") {
		t.Errorf("bravo's runs: %v, want the catch-up and one retry after the cooldown", triggers)
	}
}

// TestPanicIsThatJobsFailure: a job that panics fails; the scheduler and
// the other jobs go on.
func TestPanicIsThatJobsFailure(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	m.runner.fail = func(r *simRun) error {
		if r.key == (Key{KindFull, "charlie"}) {
			panic("index out of range in the engine")
		}
		return nil
	}
	m.start(time.Time{})
	m.advance(queueStart.Add(20*time.Hour), 5*time.Minute)
	m.stop()
	var charlie *finishedTask
	ok := 0
	for _, f := range m.outcomes() {
		if f.Database == "charlie" && f.Kind == KindFull {
			charlie = &f
		}
		if f.Kind == KindFull && f.Err == nil {
			ok++
		}
	}
	if charlie == nil || charlie.Err == nil || !strings.Contains(charlie.Err.Error(), "panicked: index out of range") || !charlie.Final {
		t.Fatalf("charlie: %+v, want a final failure naming the panic", charlie)
	}
	if ok != 3 {
		t.Errorf("%d other fulls succeeded, want 3", ok)
	}
	if !strings.Contains(m.logs.String(), "job panicked") {
		t.Error("the panic was not logged")
	}
}

// TestEnqueue: requests from the CLI go through the same queue and limits;
// the window does not hold them; mistakes are refused.
func TestEnqueue(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	for _, db := range []string{"alpha", "bravo", "charlie", "delta"} {
		m.hist.addBackup(db, KindFull, queueStart.Add(-time.Hour), "ok")
	}
	m.start(time.Time{})
	for _, bad := range []Request{
		{Kind: KindFull, Database: "echo"},
		{Kind: KindVerify, Database: "delta"},
		{Kind: "diagnose", Database: "alpha"},
	} {
		if _, err := m.s.Enqueue(bad); err == nil {
			t.Errorf("Enqueue(%+v) accepted", bad)
		}
	}
	a, err := m.s.Enqueue(Request{Kind: KindFull, Database: "alpha", OSUser: "zhang.wei"})
	if err != nil || a.State != StateRunning || a.Trigger != TriggerCLI || a.OSUser != "zhang.wei" {
		t.Fatalf("alpha: %+v, %v", a, err)
	}
	m.settle()
	b, _ := m.s.Enqueue(Request{Kind: KindDifferential, Database: "bravo"})
	d, _ := m.s.Enqueue(Request{Kind: KindFull, Database: "delta"}) // outside its window: starts anyway
	c, _ := m.s.Enqueue(Request{Kind: KindVerify, Database: "charlie"})
	again, _ := m.s.Enqueue(Request{Kind: KindVerify, Database: "charlie"})
	if again.ID != c.ID {
		t.Errorf("the same request twice made two tasks (%d, %d)", c.ID, again.ID)
	}
	m.settle()
	for _, x := range []struct {
		id    int64
		state string
	}{{b.ID, StateQueued}, {d.ID, StateRunning}, {c.ID, StateQueued}} {
		ti, ok := m.s.Task(x.id)
		if !ok || ti.State != x.state {
			t.Errorf("task %d: %+v, want %s", x.id, ti, x.state)
		}
	}
	if ti, _ := m.s.Task(b.ID); ti.Waiting != "another job on the same server" && !strings.HasPrefix(ti.Waiting, "max_") {
		t.Errorf("bravo waits for %q", ti.Waiting)
	}
	m.advance(queueStart.Add(3*time.Hour), 5*time.Minute)
	m.stop()
	for _, id := range []int64{a.ID, b.ID, c.ID, d.ID} {
		if ti, ok := m.s2Task(id); !ok || ti.State != StateOK {
			t.Errorf("task %d: %+v", id, ti)
		}
	}
}

// s2Task finds a finished task after the scheduler stopped.
func (m *sim) s2Task(id int64) (TaskInfo, bool) {
	for _, f := range m.outcomes() {
		if f.ID == id && f.Final {
			ti := f.TaskInfo
			if f.Err == nil {
				ti.State = StateOK
			}
			return ti, true
		}
	}
	return TaskInfo{}, false
}

// TestDrain: after the context ends nothing new starts, running jobs get
// DrainTimeout, and are then cancelled.
func TestDrain(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	m.runner.duration = map[string]time.Duration{KindFull: 10 * time.Hour}
	m.opts.DrainTimeout = 2 * time.Minute
	m.start(time.Time{})
	if m.runner.nActive() != 2 {
		t.Fatalf("%d running", m.runner.nActive())
	}
	m.cancel()
	// Run waits DrainTimeout on the fake clock: move it on until Run returns.
	deadline := time.Now().Add(10 * time.Second)
	start := m.clock.Now()
	for returned := false; !returned; {
		select {
		case err := <-m.done:
			if err != nil {
				t.Fatal(err)
			}
			returned = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("Run did not return after the drain timeout")
			}
			m.clock.Advance(10 * time.Second)
			time.Sleep(time.Millisecond)
		}
	}
	if d := m.clock.Now().Sub(start); d < 2*time.Minute {
		t.Errorf("the drain ended after %s, before its timeout", d)
	}
	cancelled := 0
	for _, f := range m.outcomes() {
		if errors.Is(f.Err, context.Canceled) && f.Final {
			cancelled++
		}
	}
	if cancelled != 2 || m.runner.started != 2 {
		t.Errorf("%d cancelled of %d started, want 2 of 2", cancelled, m.runner.started)
	}
}

// TestReload: a new plan replaces the old, its changes are described, and
// queued tasks of a removed database are dropped.
func TestReload(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.hist.site[KindPrune] = queueStart
	m.start(time.Time{})
	changed := strings.Replace(smallPolicy, `database "bravo" {
  engine = "postgres"
  dsn    = "postgres://dbops@10.0.0.1:5432/bravo"
  policy = "p"
}`, "", 1)
	changed = strings.Replace(changed, `window       = "02:00-03:00"`, `window       = "01:00-03:00"`, 1)
	changed = strings.Replace(changed, "max_parallel   = 2", "max_parallel   = 3", 1)
	plan, err := NewPlan(loadSimConfig(t, changed))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := m.s.Reload(plan)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changes, "\n")
	for _, want := range []string{"max_parallel 2 -> 3", "removed full of bravo", "removed verify of bravo",
		"changed full of delta: schedule monthly (first Sunday, 01:00), window 02:00-03:00, server 10.0.0.3:5432 -> schedule monthly (first Sunday, 01:00), window 01:00-03:00, server 10.0.0.3:5432"} {
		if !strings.Contains(got, want) {
			t.Errorf("changes lack %q:\n%s", want, got)
		}
	}
	m.settle()
	for _, q := range m.s.Status().Queued {
		if q.Database == "bravo" {
			t.Errorf("bravo still queued after its removal: %+v", q)
		}
	}
	m.advance(queueStart.Add(20*time.Hour), 5*time.Minute)
	m.stop()
	fulls := startsOf(m.runner.runs(), KindFull)
	if _, ok := fulls["bravo"]; ok {
		t.Error("bravo ran after its removal")
	}
	if want := time.Date(2025, 6, 11, 1, 0, 0, 0, time.UTC); !fulls["delta"].Equal(want) {
		t.Errorf("delta started at %s, want %s (its new window)", fulls["delta"], want)
	}
}

// TestEnqueueOnRequest: restores and drills (OnRequest kinds) are queued
// only with a Ref, two requests are never merged, they count against the
// server they were given (their target's), keep to one job per database,
// and a reload keeps them with that server.
func TestEnqueueOnRequest(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	m.opts.OnRequest = []string{"restore", "drill"}
	m.runner.duration = map[string]time.Duration{"restore": 30 * time.Minute, "drill": 20 * time.Minute}
	m.hist.site[KindPrune] = queueStart
	for _, db := range []string{"alpha", "bravo", "charlie", "delta"} {
		m.hist.addBackup(db, KindFull, queueStart.Add(-time.Hour), "ok")
		m.hist.verified[db] = queueStart.Add(-time.Hour)
	}
	m.start(time.Time{})
	for _, bad := range []Request{{Kind: "restore", Database: "alpha"}, {Kind: "restore", Database: "echo", Ref: "R0"}} {
		if _, err := m.s.Enqueue(bad); err == nil {
			t.Errorf("Enqueue(%+v) accepted", bad)
		}
	}
	standby := "10.0.0.9:5432"
	r1, err := m.s.Enqueue(Request{Kind: "restore", Database: "alpha", Ref: "R1", Trigger: TriggerRequest, Server: standby, Why: "signed request R1"})
	if err != nil || r1.State != StateRunning || r1.Ref != "R1" || r1.Trigger != TriggerRequest || r1.Why != "signed request R1" {
		t.Fatalf("R1: %+v, %v", r1, err)
	}
	r2, _ := m.s.Enqueue(Request{Kind: "restore", Database: "alpha", Ref: "R2", Trigger: TriggerRequest, Server: standby})
	r3, _ := m.s.Enqueue(Request{Kind: "drill", Database: "bravo", Ref: "R3", Trigger: TriggerRequest, Server: standby})
	if r2.ID == r1.ID {
		t.Fatal("two requests were merged into one task")
	}
	m.settle()
	if _, err := m.s.Reload(m.plan); err != nil {
		t.Fatal(err)
	}
	m.settle()
	for _, x := range []struct {
		id      int64
		waiting string
	}{{r2.ID, "another job of the same database"}, {r3.ID, "max_per_server (1 on " + standby + ")"}} {
		if ti, ok := m.s.Task(x.id); !ok || ti.State != StateQueued || ti.Waiting != x.waiting {
			t.Errorf("task %d: %+v, want queued for %q", x.id, ti, x.waiting)
		}
	}
	m.advance(queueStart.Add(3*time.Hour), 5*time.Minute)
	m.stop()
	for _, id := range []int64{r1.ID, r2.ID, r3.ID} {
		if ti, ok := m.s2Task(id); !ok || ti.State != StateOK || ti.Ref == "" {
			t.Errorf("task %d: %+v", id, ti)
		}
	}
}

// TestEnqueueNamedBlock: a job of a named block that is not a database (a
// reconcile block, planned as its own entry) is queued from the CLI with
// the entry's limits, keeps to one job per block, stays queued over a
// reload while its entry does and is dropped with it; a name that is
// neither a database nor such an entry is refused.
func TestEnqueueNamedBlock(t *testing.T) {
	m := newSim(t, smallPolicy, queueStart)
	spec, err := ParseSpec("0 3 1 1 *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ledger := func(*config.Config) ([]Entry, error) {
		return []Entry{{Kind: "reconcile", Database: "ledger", Spec: spec, Schedule: "yearly", Server: "10.0.0.7:3306",
			Due: func(Facts, time.Time) Due { return Due{} }}}, nil
	}
	with, err := NewPlan(m.cfg, ledger)
	if err != nil {
		t.Fatal(err)
	}
	m.plan = with
	m.runner.duration = map[string]time.Duration{"reconcile": time.Hour}
	m.hist.site[KindPrune] = queueStart
	for _, db := range []string{"alpha", "bravo", "charlie", "delta"} {
		m.hist.addBackup(db, KindFull, queueStart.Add(-time.Hour), "ok")
	}
	m.start(time.Time{})
	for _, bad := range []Request{{Kind: "reconcile", Database: "nope"}, {Kind: KindFull, Database: "ledger"}, {Kind: "reconcile", Database: "alpha"}} {
		if _, err := m.s.Enqueue(bad); !errors.Is(err, ErrUnknown) {
			t.Errorf("Enqueue(%+v) = %v, want ErrUnknown", bad, err)
		}
	}
	r1, err := m.s.Enqueue(Request{Kind: "reconcile", Database: "ledger", OSUser: "li.na"})
	if err != nil || r1.State != StateRunning || r1.Trigger != TriggerCLI || r1.Why != "requested by li.na" {
		t.Fatalf("first: %+v, %v", r1, err)
	}
	m.settle()
	r2, err := m.s.Enqueue(Request{Kind: "reconcile", Database: "ledger", OSUser: "li.na"})
	if err != nil || r2.ID == r1.ID {
		t.Fatalf("second: %+v, %v", r2, err)
	}
	if _, err := m.s.Reload(with); err != nil {
		t.Fatal(err)
	}
	m.settle()
	if ti, ok := m.s.Task(r2.ID); !ok || ti.State != StateQueued || ti.Waiting != "another job of the same database" {
		t.Errorf("second after a reload: %+v, want queued behind the first", ti)
	}
	without, err := NewPlan(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.s.Reload(without); err != nil {
		t.Fatal(err)
	}
	m.settle()
	if ti, ok := m.s.Task(r2.ID); !ok || ti.State != StateDropped {
		t.Errorf("second after its entry went: %+v, want dropped", ti)
	}
	m.stop()
}
