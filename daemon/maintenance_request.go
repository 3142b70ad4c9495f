package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// runMaintenance runs the task of an accepted maintenance request. The
// queue runs one job per database, so no backup or verification of the
// database runs meanwhile, and one queued behind it waits. Outside the
// policy's maintenance_window nothing runs: the request fails, recorded as
// not run, and is asked for again inside the window. The register's
// outcome entry carries the table's before and after; the job log
// (kind "maintenance") the same in its details. Status shows the step it
// is at; its end is told to maintenance_done or maintenance_failed
// subscribers (finishRequest).
func (s *requestService) runMaintenance(ctx context.Context, env *Env, t *schedule.Task) error {
	s.mu.Lock()
	job := s.jobs[t.Ref]
	waiting := job != nil && !job.done
	s.mu.Unlock()
	if !waiting {
		return fault.Permanent(fmt.Errorf("%s of %s: request %q is not waiting to run in this daemon", t.Kind, t.Database, t.Ref))
	}
	acc := job.acc
	cfg := env.Config
	pol := cfg.Policies[acc.Database.Policy]
	loc := cfg.Daemon.Location
	if loc == nil {
		loc = time.Local
	}
	fail := func(err error) error {
		s.finishRequest(job, "", 0, err)
		return recordFailure(ctx, env, s.kind(t.Kind), t, fault.Permanent(err))
	}
	if err := maintenance.CheckWindow(pol, loc, s.clock.Now()); err != nil {
		return fail(fmt.Errorf("not run: %w; submit a new request for a time inside it (--not-before)", err))
	}
	target, err := site.MaintenanceTarget(cfg, acc.Database)
	if err != nil {
		return fail(fmt.Errorf("maintenance of %s for request %s: %w", acc.Database.Name, acc.Request.ID, err))
	}
	if err := job.gate.Started(acc, ""); err != nil {
		return fail(err) // nothing runs unrecorded
	}
	res, err := maintenance.Run(ctx, maintenance.Spec{
		Target: target, Operation: acc.Request.Operation(), Comments: acc.Request.CommentChanges(), Policy: pol, Location: loc,
		Catalog: env.Catalog, Trigger: schedule.TriggerRequest, OSUser: t.OSUser, Request: acc.Request.ID,
		Logger: s.log.Named("maintenance").With("request", acc.Request.ID), Now: s.clock.Now,
		Step: func(st maintenance.Step) { t.SetStep(st.String()) },
	})
	s.mu.Lock()
	job.note = res.Summary()
	s.mu.Unlock()
	if ferr := s.finishRequest(job, "", res.Duration, err); ferr != nil && err == nil {
		err = ferr
	}
	return fault.Permanent(err)
}

// maintenanceEvent tells of the end of an accepted maintenance request,
// once per request: maintenance_done when it ran to its end, else
// maintenance_failed (also when it could not run). note is the run's
// summary (before and after), "" when it never started.
func maintenanceEvent(acc *request.Accepted, note string, took time.Duration, runErr error) notify.Event {
	r := acc.Request
	typ, outcome, errText := config.EventMaintenanceDone, register.Succeeded, ""
	if runErr != nil {
		typ, outcome, errText = config.EventMaintenanceFailed, register.Failed, runErr.Error()
	}
	ev := notify.Event{Type: typ, Database: r.Parameters.Database, Kind: r.Action, Error: errText,
		Summary: fmt.Sprintf("The maintenance of %s requested by %s (%s), %s, %s after %s.", r.Parameters.Database,
			acc.Requester, r.ID, r.Operation(), outcome, took.Round(time.Second)),
		Detail: "Reason: " + r.Reason}
	if note != "" {
		ev.Detail += "\nResult: " + note
	}
	return ev
}
