package schedule

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// What the daemon asks of a running scheduler: tasks on request (Enqueue),
// status, and reloading the plan.

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
	if _, isDB := s.plan.Databases[r.Database]; r.Database != "" && !isDB {
		// A job of a named block that is not a database (a reconcile
		// block): its entry says where it runs.
		e := s.plan.Entry(Key{Kind: r.Kind, Database: r.Database})
		if e == nil {
			return TaskInfo{}, fmt.Errorf("database %q: %w", r.Database, ErrUnknown)
		}
		t = &Task{Kind: r.Kind, Database: r.Database, Critical: e.Critical, Server: e.Server, Window: e.Window}
	} else if r.Database != "" {
		db := s.plan.Databases[r.Database]
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
				es.Next = e.Window.NextOpen(es.Next.In(s.plan.Location))
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
		db, isDB := plan.Databases[t.Database]
		e := plan.Entry(t.Key())
		switch {
		case (t.Trigger == TriggerCLI || t.Ref != "") && (isDB || t.Database == ""):
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
		case e != nil:
			// A scheduled task, or one asked for of a named block that is
			// not a database (a reconcile): kept while its entry is.
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
