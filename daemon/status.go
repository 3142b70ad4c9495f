package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// backend serves the local API.
type backend Agent

var _ api.Backend = (*backend)(nil)

// Status describes the daemon, every database and the queue.
func (b *backend) Status(ctx context.Context) (*api.Status, error) {
	a := (*Agent)(b)
	cfg := a.cfg.Load()
	st := a.sched.Status()
	jobs, err := a.cat.LatestJobs(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := a.cat.Latest(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	out := &api.Status{Daemon: api.DaemonInfo{
		Version: a.opts.Version, PID: os.Getpid(), Started: a.started, Now: st.Now, Config: a.opts.ConfigPath,
		ConfigLoaded: a.loadedAt, ReloadError: a.reloadErr, MaxParallel: cfg.Daemon.MaxParallel,
		PerServer: cfg.Daemon.PerServer, Timezone: cfg.Daemon.Location.String(), Draining: a.draining,
	}, Running: st.Running, Queued: st.Queued}
	a.mu.Unlock()
	out.Daemon.RequestListener = a.requestListenerInfo()

	byDB := map[string]*api.DatabaseStatus{}
	for _, name := range cfg.DatabaseNames() {
		db := cfg.Databases[name]
		ds := &api.DatabaseStatus{Name: name, Engine: db.Engine, Policy: db.Policy, Critical: db.Critical, Entries: []api.EntryStatus{}}
		if l, ok := latest[name]; ok && l.BackupID != "" {
			ds.LastSuccess = &api.JobSummary{BackupID: l.BackupID, Type: l.BackupType, Started: l.Backup, Status: catalog.StatusOK}
		}
		byDB[name] = ds
		out.Databases = append(out.Databases, *ds)
	}
	for _, j := range jobs {
		ds := byDB[j.Database]
		if ds == nil {
			continue
		}
		s := &api.JobSummary{JobID: j.ID, BackupID: j.BackupID, Started: j.StartedAt, Duration: j.DurationSeconds,
			Bytes: j.Bytes, Status: j.Status, Trigger: j.Trigger, Attempt: j.Attempt, Error: j.Error}
		if t, ok := j.Details["type"].(string); ok {
			s.Type = t
		}
		switch {
		case j.Kind == "backup" && j.RequestedType == schedule.KindFull:
			ds.LastFull = s
		case j.Kind == "backup" && j.RequestedType == schedule.KindDifferential:
			ds.LastDifferential = s
		case j.Kind == schedule.KindVerify:
			ds.LastVerify = s
		}
	}
	for _, e := range st.Entries {
		es := api.EntryStatus{Kind: e.Kind, Schedule: e.Schedule, Window: e.Window, Next: e.Next, Due: e.Due, Why: e.Why}
		if ds := byDB[e.Database]; ds != nil {
			ds.Entries = append(ds.Entries, es)
		} else {
			if e.Database != "" { // a block's own entry (a report, a reconcile)
				es.Kind += " of " + e.Database
			}
			out.Site = append(out.Site, es)
		}
	}
	for _, t := range st.Running {
		if ds := byDB[t.Database]; ds != nil {
			ds.Running = append(ds.Running, t)
		}
	}
	for _, t := range st.Queued {
		if ds := byDB[t.Database]; ds != nil {
			ds.Queued = append(ds.Queued, t)
		}
	}
	for i := range out.Databases {
		out.Databases[i] = *byDB[out.Databases[i].Name]
	}
	return out, nil
}

// Run queues a job asked for through the CLI.
func (b *backend) Run(_ context.Context, r api.RunRequest, who api.Caller) (schedule.TaskInfo, error) {
	a := (*Agent)(b)
	switch r.Type {
	case schedule.KindFull, schedule.KindDifferential, schedule.KindVerify, site.KindReconcile:
	default:
		return schedule.TaskInfo{}, fmt.Errorf("%w: --type must be full, differential, verify or reconcile, not %q", api.ErrBadRequest, r.Type)
	}
	if r.Database == "" {
		return schedule.TaskInfo{}, fmt.Errorf("%w: --database is required", api.ErrBadRequest)
	}
	ti, err := a.sched.Enqueue(schedule.Request{Kind: r.Type, Database: r.Database, Backup: r.Backup, OSUser: who.User})
	if err != nil {
		if errors.Is(err, schedule.ErrUnknown) {
			return schedule.TaskInfo{}, err
		}
		return schedule.TaskInfo{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	a.log.Info("job requested through the API", "id", ti.ID, "job", r.Type, "database", r.Database, "user", who.User, "state", ti.State)
	return ti, nil
}

// SubmitRequest receives a signed request (requests.go).
func (b *backend) SubmitRequest(ctx context.Context, body io.Reader, who api.Caller) (api.RequestAccepted, error) {
	return (*Agent)(b).requests.receive(ctx, body, who)
}

// Request reports a signed request's state (requests.go).
func (b *backend) Request(ctx context.Context, id string) (api.RequestStatus, error) {
	return (*Agent)(b).requests.status(ctx, id)
}

// Task reports one job's state.
func (b *backend) Task(_ context.Context, id int64) (schedule.TaskInfo, bool) {
	return (*Agent)(b).sched.Task(id)
}
