package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage"
)

// Signed requests in the daemon: POST /v1/requests hands the file to the
// request.Gate, which checks it and records the decision in the restore
// register; an accepted restore or drill becomes a task of kind "restore"
// or "drill" in the scheduler's queue, under the same limits as every other
// job (max_parallel, max_per_server counted on the target's server, one job
// per database, critical databases first). The task records its start and
// outcome in the register through the same Gate.

// The job kinds of signed requests. Nothing schedules them: they run only
// for a request the Gate accepted.
const (
	KindRestore = request.ActionRestore
	KindDrill   = request.ActionDrill
)

// DefaultAnchorEvery is how often the register's head is anchored in the
// repository's storage, when it moved.
const DefaultAnchorEvery = time.Hour

// requestJob is an accepted request the daemon is carrying out.
type requestJob struct {
	acc    *request.Accepted
	gate   *request.Gate // the gate that accepted it
	taskID int64
	done   bool // its outcome is in the register
}

// newGate is the gate for cfg; every gate shares the nonce store and the
// register, so a reload never forgets a nonce.
func (a *Agent) newGate(cfg *config.Config) *request.Gate {
	return &request.Gate{Config: cfg, Nonces: a.nonces, Register: a.reg, Exists: site.DatabaseExists(cfg), Now: a.clock.Now}
}

// requestKinds are the job kinds that carry out accepted requests.
func (a *Agent) requestKinds() []Kind {
	return []Kind{
		{Name: KindRestore, Run: a.runRequest},
		{Name: KindDrill, Run: a.runRequest, CatalogKind: drill.JobKind},
	}
}

// receiveRequest is POST /v1/requests: the Gate decides, and an accepted
// request is queued.
func (a *Agent) receiveRequest(ctx context.Context, body io.Reader, who api.Caller) (api.RequestAccepted, error) {
	a.mu.Lock()
	draining := a.draining
	a.mu.Unlock()
	if draining {
		// Not received at all, so that its nonce stays unspent.
		return api.RequestAccepted{}, fmt.Errorf("%w: the daemon is stopping; submit the request again once it runs", api.ErrUnavailable)
	}
	g := a.gate.Load()
	source := who.Source() // the socket's peer, or the HTTPS client's address
	acc, err := g.Receive(ctx, body, source)
	var refusal *request.Refusal
	if errors.As(err, &refusal) {
		id := ""
		if refusal.Request != nil {
			id = refusal.Request.ID
		}
		a.log.Warn("signed request refused", "request", id, "user", who.User, "reason", refusal.Reason, "register_seq", refusal.Seq)
		return api.RequestAccepted{}, &api.Refused{Reason: refusal.Reason, Seq: refusal.Seq}
	}
	if err != nil {
		return api.RequestAccepted{}, fmt.Errorf("receiving a signed request: %w", err)
	}
	r := acc.Request
	log := a.log.With("request", r.ID, "action", r.Action, "database", r.Parameters.Database, "target", r.Parameters.Target)
	log.Info("signed request accepted", "requester", acc.Requester, "approvers", strings.Join(acc.Approvers, ","), "user", who.User)

	job := &requestJob{acc: acc, gate: g}
	fail := func(err error) (api.RequestAccepted, error) {
		a.finishRequest(job, r.Parameters.Backup, 0, err)
		return api.RequestAccepted{}, fmt.Errorf("request %s was accepted but cannot run (recorded as failed in the register): %w", r.ID, err)
	}
	if r.Action != KindRestore && r.Action != KindDrill {
		return fail(fmt.Errorf("%w: %s requests are not carried out by this build", api.ErrBadRequest, r.Action))
	}
	a.reqMu.Lock()
	a.requests[r.ID] = job
	a.reqMu.Unlock()
	approved := "no approvals"
	if len(acc.Approvers) > 0 {
		approved = "approved by " + strings.Join(acc.Approvers, ", ")
	}
	ti, err := a.sched.Enqueue(schedule.Request{
		Kind: r.Action, Database: acc.Database.Name, Backup: r.Parameters.Backup, OSUser: who.User, Ref: r.ID,
		Trigger: schedule.TriggerRequest, Server: acc.Target.Server(),
		Why: fmt.Sprintf("signed request %s by %s, %s", r.ID, acc.Requester, approved),
	})
	if err != nil {
		return fail(fmt.Errorf("queueing it: %w", err))
	}
	a.reqMu.Lock()
	job.taskID = ti.ID
	a.reqMu.Unlock()
	log.Info("signed request queued", "job", ti.ID, "state", ti.State)
	state := api.RequestQueued
	if ti.State == schedule.StateRunning {
		state = api.RequestRunning
	}
	return api.RequestAccepted{ID: r.ID, State: state, Task: ti, RegisterSeq: acc.Ref}, nil
}

// runRequest runs the task of an accepted request: it resolves the backup,
// records the start, restores or drills, and records the outcome. Its
// errors are permanent: a request runs at most once, and a failed one is
// asked for again with a new request.
func (a *Agent) runRequest(ctx context.Context, env *Env, t *schedule.Task) error {
	a.reqMu.Lock()
	job := a.requests[t.Ref]
	waiting := job != nil && !job.done
	a.reqMu.Unlock()
	if !waiting {
		return engines.Permanent(fmt.Errorf("%s of %s: request %q is not waiting to run in this daemon", t.Kind, t.Database, t.Ref))
	}
	acc, p := job.acc, job.acc.Request.Parameters
	backupID := p.Backup
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			a.finishRequest(job, backupID, time.Since(start), fmt.Errorf("%s of %s panicked: %v", t.Kind, t.Database, v))
			panic(v)
		}
	}()

	// Resolve "the newest" before the start is recorded, so that the
	// register says which backup was used.
	_, err := site.Engine(acc.Database.Engine)
	var repo *repository.Repo
	if err == nil {
		repo, err = env.OpenRepo(ctx)
	}
	if err == nil {
		var m *repository.Manifest
		if m, err = repo.FindBackup(ctx, acc.Database.Name, p.Backup); err == nil {
			backupID = m.ID
		}
	}
	if serr := job.gate.Started(acc, backupID); serr != nil {
		// Nothing runs unrecorded.
		err = serr
	} else if err != nil {
		err = fmt.Errorf("%s of %s for request %s: %w", t.Kind, t.Database, acc.Request.ID, err)
	}
	if err != nil {
		a.finishRequest(job, backupID, time.Since(start), err)
		k, _ := a.registry.Kind(t.Kind)
		return recordFailure(ctx, env, k, t, engines.Permanent(err))
	}

	took := time.Duration(0)
	switch t.Kind {
	case KindRestore:
		var req restore.Request
		req, err = site.RestoreRequest(env.Config, acc.Database, acc.Target, backupID, env.requestRun(repo, t))
		if err == nil {
			req.As, req.Tables, req.Replace, req.Progress = p.As, acc.Tables, p.Replace, t.SetProgress
			_, err = restore.Restore(ctx, req)
		}
		took = time.Since(start)
	case KindDrill:
		var rep *drill.Report
		rep, err = a.runDrill(ctx, env, t, acc, repo, backupID)
		took = time.Since(start)
		if id := rep.BackupID(); id != "" {
			backupID = id
		}
		if rep.Took() > 0 {
			took = rep.Took()
		}
	default:
		err = fmt.Errorf("request %s: no job kind %q", acc.Request.ID, t.Kind)
	}
	if ferr := a.finishRequest(job, backupID, took, err); ferr != nil && err == nil {
		err = ferr
	}
	return engines.Permanent(err)
}

// runDrill runs the drill of an accepted request on backup backupID and
// stores its report (drill.Run saves it in the state directory). What the
// drill shows about how the backup restores counts as its verification.
func (a *Agent) runDrill(ctx context.Context, env *Env, t *schedule.Task, acc *request.Accepted, repo *repository.Repo, backupID string) (*drill.Report, error) {
	spec, err := site.DrillSpec(env.Config, acc, env.requestRun(repo, t))
	if err != nil {
		return nil, err
	}
	spec.BackupID, spec.Progress = backupID, t.SetProgress
	rep, err := drill.Run(ctx, spec)
	a.drillVerified(ctx, env, rep)
	return rep, err
}

// drillVerified records what a drill proved about its backup as a
// scheduled verification would: in the catalog's verification state (and
// so in retention and due-ness), the verification metric and the
// verify_failed alert. A passing drill of the whole database verified the
// backup; failed statistics or integrity checks failed it. A drill of
// single tables proves too little to pass a backup, and a drill that
// failed for another reason (the target did not answer) proves nothing
// about the backup at all.
func (a *Agent) drillVerified(ctx context.Context, env *Env, rep *drill.Report) {
	if rep == nil || rep.Backup == nil {
		return
	}
	status := ""
	switch {
	case rep.Passed() && len(rep.Target.Tables) == 0:
		status = catalog.StatusOK
	case !rep.Passed():
		for _, c := range rep.Checks {
			if c.Status == drill.Fail && (c.Name == drill.CheckStatistics || c.Name == drill.CheckIntegrity) {
				status = catalog.StatusFailed
			}
		}
	}
	if status == "" {
		return
	}
	now := time.Now()
	if err := env.Catalog.SetVerified(context.WithoutCancel(ctx), rep.Backup.ID, status, now); err != nil {
		a.log.Warn("recording the drill as the verification of its backup failed", "drill", rep.ID, "backup", rep.Backup.ID, "error", err)
		return
	}
	a.metrics.Verification(rep.Database, status == catalog.StatusOK)
	if status == catalog.StatusOK {
		a.metrics.LastSuccess(rep.Database, schedule.KindVerify, now)
		a.notifier.Clear(config.EventVerifyFailed, rep.Database, schedule.KindVerify,
			fmt.Sprintf("Drill %s restored backup %s of %s and verified it at %s.", rep.ID, rep.Backup.ID, rep.Database, now.Format(time.RFC3339)))
		return
	}
	a.notifier.Raise(notify.Event{Type: config.EventVerifyFailed, Database: rep.Database, Kind: schedule.KindVerify,
		Summary: fmt.Sprintf("Drill %s found that backup %s of %s does not restore correctly.", rep.ID, rep.Backup.ID, rep.Database),
		Detail:  "Report: dbopsd drill report " + rep.ID, Error: strings.Join(rep.Problems, "; ")})
}

// finishRequest records the outcome of an accepted request in the register
// (once), and tells whoever subscribed to restore_done or drill_done.
func (a *Agent) finishRequest(job *requestJob, backupID string, took time.Duration, runErr error) error {
	a.reqMu.Lock()
	if job.done {
		a.reqMu.Unlock()
		return nil
	}
	job.done = true
	acc := job.acc
	a.reqMu.Unlock()
	r := acc.Request
	log := a.log.With("request", r.ID, "action", r.Action, "database", r.Parameters.Database, "backup", backupID)
	err := job.gate.Finished(acc, backupID, took, runErr)
	if err != nil {
		log.Error("recording the outcome of a signed request in the register failed", "error", err)
	}
	outcome := register.Succeeded
	if runErr != nil {
		outcome = register.Failed
		log.Error("signed request failed", "duration", took.Round(time.Millisecond), "error", runErr)
	} else {
		log.Info("signed request done", "duration", took.Round(time.Millisecond))
	}
	ev := notify.Event{Type: config.EventRestoreDone, Database: r.Parameters.Database, Kind: r.Action,
		Summary: fmt.Sprintf("The %s of %s requested by %s (%s) onto %s as %q %s after %s.", r.Action, r.Parameters.Database,
			acc.Requester, r.ID, r.Parameters.Target, r.Parameters.As, outcome, took.Round(time.Second)),
		Detail: "Reason: " + r.Reason}
	if r.Action == KindDrill {
		ev.Type = config.EventDrillDone
		ev.Detail += "\nReport: dbopsd drill report " + r.ID
	}
	if runErr != nil {
		ev.Error = runErr.Error()
	}
	a.notifier.Notice(ev)
	return err
}

// abandonQueued records, when the daemon stops, that the requests still
// waiting in the queue will not run: the queue does not survive a restart,
// and their nonces are spent, so they are asked for again with new
// requests.
func (a *Agent) abandonQueued() {
	a.reqMu.Lock()
	var left []*requestJob
	for _, j := range a.requests {
		if !j.done {
			left = append(left, j)
		}
	}
	a.reqMu.Unlock()
	for _, j := range left {
		a.finishRequest(j, j.acc.Request.Parameters.Backup, 0,
			errors.New("not run: the daemon stopped before its turn came; submit a new request"))
	}
}

// reapDropped records the requests whose tasks the queue dropped (their
// database left the policy on a reload) as failed.
func (a *Agent) reapDropped() {
	a.reqMu.Lock()
	var dropped []*requestJob
	for _, j := range a.requests {
		if j.done || j.taskID == 0 {
			continue
		}
		if ti, ok := a.sched.Task(j.taskID); ok && ti.State == schedule.StateDropped {
			dropped = append(dropped, j)
		}
	}
	a.reqMu.Unlock()
	for _, j := range dropped {
		a.finishRequest(j, j.acc.Request.Parameters.Backup, 0,
			fmt.Errorf("not run: dropped from the queue (database %q is no longer in the policy)", j.acc.Request.Parameters.Database))
	}
}

// closeInterrupted ends, at start, the requests a previous run of the
// daemon left open in the register: accepted (or started) with no outcome,
// or received with no decision. Nothing resumes them: the queue does not
// survive a restart, and their nonces may be spent.
func closeInterrupted(reg *register.Register) (int, error) {
	entries, err := register.ReadFile(reg.Path())
	if err != nil {
		return 0, err
	}
	type open struct {
		received register.Entry
		last     register.Entry
	}
	byRef := map[int64]*open{}
	var order []int64
	for _, e := range entries {
		if e.Kind == register.Received {
			byRef[e.Seq] = &open{received: e, last: e}
			order = append(order, e.Seq)
			continue
		}
		if o := byRef[e.Ref]; o != nil && e.Kind != register.Approved {
			o.last = e
		}
	}
	n := 0
	for _, ref := range order {
		o := byRef[ref]
		var e register.Entry
		switch o.last.Kind {
		case register.Received:
			e = register.Entry{Kind: register.Refused, Ref: ref, Request: o.received.Request, Digest: o.received.Digest,
				Refusal: "interrupted: the daemon stopped while checking this request; nothing ran"}
		case register.Accepted, register.Started:
			e = register.Entry{Kind: register.Finished, Ref: ref, Request: o.received.Request, Digest: o.received.Digest,
				Backup: o.last.Backup, Outcome: register.Failed,
				Error: "interrupted: the daemon stopped before this request finished; nothing resumes it: submit a new request"}
		default:
			continue
		}
		if _, err := reg.Append(e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// requestStatus is GET /v1/requests/{id}: the request as the register
// records it, with the queue's view of its task.
func (a *Agent) requestStatus(_ context.Context, id string) (api.RequestStatus, error) {
	entries, err := register.ReadFile(a.reg.Path())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return api.RequestStatus{}, err
	}
	var row *register.Row
	n := 0
	rows := register.Rows(entries)
	for i := range rows {
		r := &rows[i]
		if r.RequestID != id {
			continue
		}
		n++
		// The submission that was accepted is the one that tells; the
		// others (replays, earlier tries refused) only count.
		if row == nil || row.Status == register.Refused || row.Status == register.Received {
			row = r
		}
	}
	if row == nil {
		return api.RequestStatus{}, fmt.Errorf("%w: no request %s was ever received (see dbopsd register show)", api.ErrNotFound, id)
	}
	st := api.RequestStatus{ID: id, Action: row.Action, Database: row.Database, Backup: row.Backup, Target: row.Target,
		As: row.As, Tables: row.Tables, Requester: row.Requester, Approvers: row.Approvers, Reason: row.Reason,
		Received: row.Date, Submissions: n}
	switch row.Status {
	case register.Received:
		st.State = api.RequestReceived
	case register.Refused:
		st.State, st.Refusal = api.RequestRefused, row.Detail
	case register.Accepted:
		st.State = api.RequestQueued
	case register.Started:
		st.State = api.RequestRunning
	case register.Finished:
		st.State, st.Outcome, st.Duration = api.RequestDone, row.Outcome, row.Duration.Seconds()
		if row.Outcome != register.Succeeded {
			st.State, st.Error = api.RequestFailed, row.Detail
		}
	}
	a.reqMu.Lock()
	job := a.requests[id]
	var taskID int64
	if job != nil {
		taskID = job.taskID
	}
	a.reqMu.Unlock()
	if taskID != 0 {
		if ti, ok := a.sched.Task(taskID); ok {
			st.Task = &ti
			if st.State == api.RequestQueued && ti.State == schedule.StateRunning {
				st.State = api.RequestRunning
			}
		}
	}
	if row.Action == KindDrill && (st.State == api.RequestDone || st.State == api.RequestFailed) {
		if jsonPath, _ := drill.Paths(a.cfg.Load().Daemon.StateDir, id); fileExists(jsonPath) {
			st.Report = id
		}
	}
	return st, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// keepAnchored writes the register's head into the repository's storage
// every AnchorEvery while it moves, until ctx ends (register.KeepAnchored),
// opening the storage again after a failure.
func (a *Agent) keepAnchored(ctx context.Context) {
	every := a.opts.AnchorEvery
	if every <= 0 {
		every = DefaultAnchorEvery
	}
	log := a.log.Named("register")
	for {
		cfg := a.cfg.Load()
		st, err := site.OpenStorage(ctx, cfg, cfg.Repository.Storage, a.opts.Logger)
		if err == nil {
			register.KeepAnchored(ctx, st, register.AnchorPrefix, a.reg, every, a.anchorOptions, func(err error) {
				log.Warn("anchoring the restore register failed; trying again later", "every", every, "error", err)
			})
			return
		}
		log.Warn("opening the repository's storage to anchor the restore register failed", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// anchorOptions keep anchors, on object-locked storage, as long as any
// backup is kept.
func (a *Agent) anchorOptions() storage.PutOptions {
	cfg := a.cfg.Load()
	var opts storage.PutOptions
	for _, p := range cfg.Policies {
		if t := site.RetainUntil(cfg, p, time.Now()); t.After(opts.RetainUntil) {
			opts.RetainUntil = t
		}
	}
	return opts
}

// cleanupStale drops the scratch databases that jobs of an earlier run
// created and never dropped (a crash), before any job of this run starts:
// only those the scratch ledger records, on the scratch targets of the
// policy.
func (a *Agent) cleanupStale(ctx context.Context) {
	cfg := a.cfg.Load()
	targets, err := site.ScratchTargets(cfg)
	if err != nil {
		a.log.Warn("stale scratch databases: a target is skipped", "error", err)
	}
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rep, err := restore.CleanupStale(ctx, restore.Cleanup{Catalog: a.cat, Targets: targets, Before: a.started, Logger: a.log})
	if err != nil {
		a.log.Warn("dropping stale scratch databases failed; the next start tries again", "error", err)
	}
	if rep != nil && len(rep.Dropped) > 0 {
		a.log.Info("dropped stale scratch databases left by an earlier run", "count", len(rep.Dropped))
	}
}
