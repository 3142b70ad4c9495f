package schedule

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
)

// Running tasks: start, the end of an attempt, retries and the record of
// finished tasks for status.

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
		s.queue = append(s.queue, t.retry(o.Retry))
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
