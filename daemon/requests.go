package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/metrics"
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
	KindRestore     = request.ActionRestore
	KindDrill       = request.ActionDrill
	KindMaintenance = request.ActionMaintenance
)

// DefaultAnchorEvery is how often the register's head is anchored in the
// repository's storage, when it moved.
const DefaultAnchorEvery = time.Hour

// requestService is the daemon's signed-request service: the gate in
// force (rebuilt on every reload around the same nonce store and
// register), the accepted requests it is carrying out, the job kinds that
// run them, and the anchoring of the register's head in storage. It owns
// the nonce store and the register: it opens them and closes them.
type requestService struct {
	log      hclog.Logger // the agent's
	logger   hclog.Logger // the root, for the storage it opens
	clock    clockwork.Clock
	nonces   *request.NonceStore
	register *register.Register
	gate     atomic.Pointer[request.Gate]
	// stopping refuses new requests once the daemon drains.
	stopping atomic.Bool
	// anchorEvery is how often the register's head is anchored.
	anchorEvery time.Duration

	// queue runs the accepted requests; metrics and notifier hear of
	// their outcomes. Set by the agent once it has built them.
	queue    requestQueue
	metrics  *metrics.Metrics
	notifier *notify.Notifier

	mu   sync.Mutex
	jobs map[string]*requestJob // by request id
}

// requestQueue is where accepted requests wait their turn: the scheduler.
type requestQueue interface {
	Enqueue(schedule.Request) (schedule.TaskInfo, error)
	Task(id int64) (schedule.TaskInfo, bool)
}

// newRequestService opens the nonce store and the register in stateDir,
// closes in the register the requests a previous run left open, and puts
// the gate for cfg in force.
func newRequestService(cfg *config.Config, log, logger hclog.Logger, clock clockwork.Clock, anchorEvery time.Duration) (*requestService, error) {
	if anchorEvery <= 0 {
		anchorEvery = DefaultAnchorEvery
	}
	s := &requestService{log: log, logger: logger, clock: clock, anchorEvery: anchorEvery, jobs: map[string]*requestJob{}}
	stateDir := cfg.Daemon.StateDir
	var err error
	if s.nonces, err = request.OpenNonceStore(stateDir); err != nil {
		return nil, err
	}
	if s.register, err = register.Open(stateDir); err != nil {
		s.nonces.Close()
		return nil, err
	}
	if n, err := closeInterrupted(s.register); err != nil {
		// A damaged register refuses every request (the Gate cannot
		// append to it) but must not stop the backups.
		log.Error("closing the requests a previous run left open in the restore register failed; see dbopsd register verify", "error", err)
	} else if n > 0 {
		log.Warn("signed requests a previous run left open are closed in the restore register (nothing resumes them)", "requests", n)
	}
	s.setConfig(cfg)
	return s, nil
}

// setConfig checks the requests received from now on against cfg; those
// already accepted run as accepted.
func (s *requestService) setConfig(cfg *config.Config) { s.gate.Store(s.newGate(cfg)) }

// config is the policy in force for requests.
func (s *requestService) config() *config.Config { return s.gate.Load().Config }

// close closes the nonce store and the register.
func (s *requestService) close() {
	s.nonces.Close()
	s.register.Close()
}

// kind is the job kind that runs requests of action name.
func (s *requestService) kind(name string) *Kind {
	for _, k := range s.kinds() {
		if k.Name == name {
			return &k
		}
	}
	return &Kind{Name: name}
}

// requestJob is an accepted request the daemon is carrying out.
type requestJob struct {
	acc    *request.Accepted
	gate   *request.Gate // the gate that accepted it
	taskID int64
	done   bool   // its outcome is in the register
	note   string // recorded with the outcome (a maintenance's before and after)
}

// newGate is the gate for cfg; every gate shares the nonce store and the
// register, so a reload never forgets a nonce.
func (s *requestService) newGate(cfg *config.Config) *request.Gate {
	return &request.Gate{Config: cfg, Nonces: s.nonces, Register: s.register, Exists: site.DatabaseExists(cfg), Now: s.clock.Now}
}

// kinds are the job kinds that carry out accepted requests.
func (s *requestService) kinds() []Kind {
	return []Kind{
		{Name: KindRestore, Run: s.runRequest},
		{Name: KindDrill, Run: s.runRequest, CatalogKind: drill.JobKind},
		{Name: KindMaintenance, Run: s.runMaintenance, CatalogKind: maintenance.JobKind},
	}
}

// receive is POST /v1/requests: the Gate decides, and an accepted
// request is queued.
func (s *requestService) receive(ctx context.Context, body io.Reader, who api.Caller) (api.RequestAccepted, error) {
	if s.stopping.Load() {
		// Not received at all, so that its nonce stays unspent.
		return api.RequestAccepted{}, fmt.Errorf("%w: the daemon is stopping; submit the request again once it runs", api.ErrUnavailable)
	}
	g := s.gate.Load()
	source := who.Source() // the socket's peer, or the HTTPS client's address
	acc, err := g.Receive(ctx, body, source)
	var refusal *request.Refusal
	if errors.As(err, &refusal) {
		id := ""
		if refusal.Request != nil {
			id = refusal.Request.ID
		}
		s.log.Warn("signed request refused", "request", id, "user", who.User, "reason", refusal.Reason, "register_seq", refusal.Seq)
		return api.RequestAccepted{}, &api.Refused{Reason: refusal.Reason, Seq: refusal.Seq}
	}
	if err != nil {
		return api.RequestAccepted{}, fmt.Errorf("receiving a signed request: %w", err)
	}
	r := acc.Request
	log := s.log.With("request", r.ID, "action", r.Action, "database", r.Parameters.Database, "target", r.Parameters.Target)
	log.Info("signed request accepted", "requester", acc.Requester, "approvers", strings.Join(acc.Approvers, ","), "user", who.User)

	job := &requestJob{acc: acc, gate: g}
	fail := func(err error) (api.RequestAccepted, error) {
		s.finishRequest(job, r.Parameters.Backup, 0, err)
		return api.RequestAccepted{}, fmt.Errorf("request %s was accepted but cannot run (recorded as failed in the register): %w", r.ID, err)
	}
	if r.Action != KindRestore && r.Action != KindDrill && r.Action != KindMaintenance {
		return fail(fmt.Errorf("%w: %s requests are not carried out by this build", api.ErrBadRequest, r.Action))
	}
	s.mu.Lock()
	s.jobs[r.ID] = job
	s.mu.Unlock()
	approved := "no approvals"
	if len(acc.Approvers) > 0 {
		approved = "approved by " + strings.Join(acc.Approvers, ", ")
	}
	server := acc.Database.Server() // a maintenance works on the database's own server
	if acc.Target != nil {
		server = acc.Target.Server()
	}
	ti, err := s.queue.Enqueue(schedule.Request{
		Kind: r.Action, Database: acc.Database.Name, Backup: r.Parameters.Backup, OSUser: who.User, Ref: r.ID,
		Trigger: schedule.TriggerRequest, Server: server,
		Why: fmt.Sprintf("signed request %s by %s, %s", r.ID, acc.Requester, approved),
	})
	if err != nil {
		return fail(fmt.Errorf("queueing it: %w", err))
	}
	s.mu.Lock()
	job.taskID = ti.ID
	s.mu.Unlock()
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
func (s *requestService) runRequest(ctx context.Context, env *Env, t *schedule.Task) error {
	s.mu.Lock()
	job := s.jobs[t.Ref]
	waiting := job != nil && !job.done
	s.mu.Unlock()
	if !waiting {
		return fault.Permanent(fmt.Errorf("%s of %s: request %q is not waiting to run in this daemon", t.Kind, t.Database, t.Ref))
	}
	acc, p := job.acc, job.acc.Request.Parameters
	backupID := p.Backup
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.finishRequest(job, backupID, time.Since(start), fmt.Errorf("%s of %s panicked: %v", t.Kind, t.Database, v))
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
		s.finishRequest(job, backupID, time.Since(start), err)
		return recordFailure(ctx, env, s.kind(t.Kind), t, fault.Permanent(err))
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
		rep, err = s.runDrill(ctx, env, t, acc, repo, backupID)
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
	if ferr := s.finishRequest(job, backupID, took, err); ferr != nil && err == nil {
		err = ferr
	}
	return fault.Permanent(err)
}

// runDrill runs the drill of an accepted request on backup backupID and
// stores its report (drill.Run saves it in the state directory). What the
// drill shows about how the backup restores counts as its verification.
func (s *requestService) runDrill(ctx context.Context, env *Env, t *schedule.Task, acc *request.Accepted, repo *repository.Repo, backupID string) (*drill.Report, error) {
	spec, err := site.DrillSpec(env.Config, acc, env.requestRun(repo, t))
	if err != nil {
		return nil, err
	}
	spec.BackupID, spec.Progress = backupID, t.SetProgress
	rep, err := drill.Run(ctx, spec)
	s.drillVerified(ctx, env, rep)
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
func (s *requestService) drillVerified(ctx context.Context, env *Env, rep *drill.Report) {
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
		s.log.Warn("recording the drill as the verification of its backup failed", "drill", rep.ID, "backup", rep.Backup.ID, "error", err)
		return
	}
	s.metrics.Verification(rep.Database, status == catalog.StatusOK)
	if status == catalog.StatusOK {
		s.metrics.LastSuccess(rep.Database, schedule.KindVerify, now)
		s.notifier.Clear(config.EventVerifyFailed, rep.Database, schedule.KindVerify,
			fmt.Sprintf("Drill %s restored backup %s of %s and verified it at %s.", rep.ID, rep.Backup.ID, rep.Database, now.Format(time.RFC3339)))
		return
	}
	s.notifier.Raise(notify.Event{Type: config.EventVerifyFailed, Database: rep.Database, Kind: schedule.KindVerify,
		Summary: fmt.Sprintf("Drill %s found that backup %s of %s does not restore correctly.", rep.ID, rep.Backup.ID, rep.Database),
		Detail:  "Report: dbopsd drill report " + rep.ID, Error: strings.Join(rep.Problems, "; ")})
}

// finishRequest records the outcome of an accepted request in the register
// (once), and tells whoever subscribed to restore_done or drill_done.
func (s *requestService) finishRequest(job *requestJob, backupID string, took time.Duration, runErr error) error {
	s.mu.Lock()
	if job.done {
		s.mu.Unlock()
		return nil
	}
	job.done = true
	acc, note := job.acc, job.note
	s.mu.Unlock()
	r := acc.Request
	log := s.log.With("request", r.ID, "action", r.Action, "database", r.Parameters.Database, "backup", backupID)
	err := job.gate.FinishedNote(acc, backupID, took, runErr, note)
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
	if r.Action == KindMaintenance {
		s.notifier.Notice(maintenanceEvent(acc, note, took, runErr))
		return err
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
	s.notifier.Notice(ev)
	return err
}

// abandonQueued records, when the daemon stops, that the requests still
// waiting in the queue will not run: the queue does not survive a restart,
// and their nonces are spent, so they are asked for again with new
// requests.
func (s *requestService) abandonQueued() {
	s.mu.Lock()
	var left []*requestJob
	for _, j := range s.jobs {
		if !j.done {
			left = append(left, j)
		}
	}
	s.mu.Unlock()
	for _, j := range left {
		s.finishRequest(j, j.acc.Request.Parameters.Backup, 0,
			errors.New("not run: the daemon stopped before its turn came; submit a new request"))
	}
}

// reapDropped records the requests whose tasks the queue dropped (their
// database left the policy on a reload) as failed.
func (s *requestService) reapDropped() {
	s.mu.Lock()
	var dropped []*requestJob
	for _, j := range s.jobs {
		if j.done || j.taskID == 0 {
			continue
		}
		if ti, ok := s.queue.Task(j.taskID); ok && ti.State == schedule.StateDropped {
			dropped = append(dropped, j)
		}
	}
	s.mu.Unlock()
	for _, j := range dropped {
		s.finishRequest(j, j.acc.Request.Parameters.Backup, 0,
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

// status is GET /v1/requests/{id}: the request as the register
// records it, with the queue's view of its task.
func (s *requestService) status(_ context.Context, id string) (api.RequestStatus, error) {
	entries, err := register.ReadFile(s.register.Path())
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
	s.mu.Lock()
	job := s.jobs[id]
	var taskID int64
	if job != nil {
		taskID = job.taskID
	}
	s.mu.Unlock()
	if taskID != 0 {
		if ti, ok := s.queue.Task(taskID); ok {
			st.Task = &ti
			if st.State == api.RequestQueued && ti.State == schedule.StateRunning {
				st.State = api.RequestRunning
			}
		}
	}
	if row.Action == KindDrill && (st.State == api.RequestDone || st.State == api.RequestFailed) {
		if jsonPath, _ := drill.Paths(s.config().Daemon.StateDir, id); fileExists(jsonPath) {
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
func (s *requestService) keepAnchored(ctx context.Context) {
	every := s.anchorEvery
	log := s.log.Named("register")
	for {
		cfg := s.config()
		st, err := site.OpenStorage(ctx, cfg, cfg.Repository.Storage, s.logger)
		if err == nil {
			register.KeepAnchored(ctx, st, register.AnchorPrefix, s.register, every, s.anchorOptions, func(err error) {
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
func (s *requestService) anchorOptions() storage.PutOptions {
	cfg := s.config()
	var opts storage.PutOptions
	for _, p := range cfg.Policies {
		if t := site.RetainUntil(cfg, p, time.Now()); t.After(opts.RetainUntil) {
			opts.RetainUntil = t
		}
	}
	return opts
}
