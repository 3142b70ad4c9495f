package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// The queue: due entries become tasks (evaluate), which start in a stable
// order (ordered) when nothing blocks them (blocked, dispatch).

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
