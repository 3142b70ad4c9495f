package schedule

import (
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hashicorp/go-hclog"
)

// The timers: one gocron job per group of entries (a policy's schedules in
// one), the sweep, and the wake-up for the first waiting task. A timer only
// asks "is anything due now?"; the answer comes from evaluate (queue.go).

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
			w = t.Window.NextOpen(now.In(s.plan.Location))
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

// gocronLogger sends gocron's logs to hclog.
type gocronLogger struct{ l hclog.Logger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Trace(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Debug(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warn(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Error(msg, args...) }
