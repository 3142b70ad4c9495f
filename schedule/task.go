package schedule

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/dbopsd/dbopsd/when"
)

// Triggers: why a task was queued. They go into the job log.
const (
	TriggerSchedule    = "schedule"     // on time, at a slot of its schedule
	TriggerCatchUp     = "catch-up"     // a missed run, or a first backup
	TriggerRetry       = "retry"        // again after a failure, at the next evaluation
	TriggerAfterBackup = "after-backup" // a follow-up (verify after_full/after_each, mirror)
	TriggerCLI         = "cli"          // dbopsd run
	TriggerRequest     = "request"      // a signed request the daemon accepted
)

// Task states.
const (
	StateQueued  = "queued"
	StateRunning = "running"
	StateOK      = "ok"
	StateFailed  = "failed"
	StateDropped = "dropped" // no longer due when its turn came, or removed by a reload
)

// Task is one job in the queue. A Runner receives it; the exported fields
// are read-only to the runner, which reports progress through the methods.
type Task struct {
	ID       int64
	Kind     string
	Database string // "" for site-wide jobs
	// Backup names the backup a verify task is about ("" = the newest).
	Backup string
	// Ref is what an on-request task runs for (a signed request's id).
	Ref      string
	Trigger  string
	OSUser   string // who asked, for CLI requests
	Why      string
	Critical bool
	Server   string
	Window   when.Window
	// IgnoreWindow lets a task start outside its policy's window (CLI
	// requests: the operator asked for now).
	IgnoreWindow bool
	Attempt      int // 1 for the first attempt
	Enqueued     time.Time
	NotBefore    time.Time // retry back-off
	Started      time.Time

	recheck bool // check due-ness again just before starting
	seq     uint64

	// The attempt's own state, which a retry resets (retry).
	cancel   context.CancelFunc
	progress progress
	finished time.Time // set when finished
	state    string
	err      string
}

// progress is what the runner reports, read by status while it runs. The
// counters are plain int64 used through sync/atomic, not atomic.Int64, so
// that a Task can be copied as a value (retry) when its attempt is over.
type progress struct {
	raw, stored, done, total int64
	step                     atomic.Value // string; see SetStep
}

// retry is t's next attempt, due at notBefore: a copy of t, so that every
// field carries over, with only the attempt's own state reset. Caller holds
// s.mu and t's attempt has ended (no runner writes to it any more).
func (t *Task) retry(notBefore time.Time) *Task {
	next := *t
	next.Attempt++
	next.NotBefore = notBefore
	next.Started = time.Time{}
	next.cancel = nil
	next.progress = progress{}
	next.finished, next.state, next.err = time.Time{}, "", ""
	return &next
}

// AddBytes adds bytes read and stored (backups).
func (t *Task) AddBytes(raw, stored int64) {
	atomic.AddInt64(&t.progress.raw, raw)
	atomic.AddInt64(&t.progress.stored, stored)
}

// SetProgress sets the bytes done of total (restores, verifications).
func (t *Task) SetProgress(done, total int64) {
	atomic.StoreInt64(&t.progress.done, done)
	atomic.StoreInt64(&t.progress.total, total)
}

// SetStep says what the task is doing now, for jobs measured in steps
// rather than bytes (a maintenance: "2/3 vacuum_full public.t: ...").
func (t *Task) SetStep(step string) { t.progress.step.Store(step) }

// Key is the task's kind and database.
func (t *Task) Key() Key { return Key{Kind: t.Kind, Database: t.Database} }

// TaskInfo is a snapshot of a task, for status and the API.
type TaskInfo struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Database  string    `json:"database,omitempty"`
	Backup    string    `json:"backup,omitempty"`
	Ref       string    `json:"ref,omitempty"`
	Trigger   string    `json:"trigger"`
	OSUser    string    `json:"os_user,omitempty"`
	Why       string    `json:"why,omitempty"`
	Critical  bool      `json:"critical,omitempty"`
	State     string    `json:"state"`
	Attempt   int       `json:"attempt"`
	Enqueued  time.Time `json:"enqueued"`
	NotBefore time.Time `json:"not_before,omitzero"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	Error     string    `json:"error,omitempty"`
	// Waiting says what a queued task waits for.
	Waiting string `json:"waiting,omitempty"`
	// Bytes read (backups) or done (restores) so far, stored bytes, the
	// total when known, and the rate in bytes per second since the start.
	Bytes       int64   `json:"bytes"`
	StoredBytes int64   `json:"stored_bytes,omitempty"`
	TotalBytes  int64   `json:"total_bytes,omitempty"`
	Rate        float64 `json:"bytes_per_second,omitempty"`
	// Step is what a job measured in steps is doing now (SetStep).
	Step string `json:"step,omitempty"`
}

func (t *Task) info(now time.Time, state string) TaskInfo {
	ti := TaskInfo{
		ID: t.ID, Kind: t.Kind, Database: t.Database, Backup: t.Backup, Ref: t.Ref, Trigger: t.Trigger, OSUser: t.OSUser,
		Why: t.Why, Critical: t.Critical, State: state, Attempt: t.Attempt, Enqueued: t.Enqueued,
		NotBefore: t.NotBefore, Started: t.Started, Finished: t.finished, Error: t.err,
		Bytes:       atomic.LoadInt64(&t.progress.raw) + atomic.LoadInt64(&t.progress.done),
		StoredBytes: atomic.LoadInt64(&t.progress.stored), TotalBytes: atomic.LoadInt64(&t.progress.total),
	}
	ti.Step, _ = t.progress.step.Load().(string)
	end := now
	if !t.finished.IsZero() {
		end = t.finished
	}
	if !t.Started.IsZero() {
		if secs := end.Sub(t.Started).Seconds(); secs > 0 {
			ti.Rate = float64(ti.Bytes) / secs
		}
	}
	return ti
}

// Runner runs tasks. Run returns when the task is done or ctx is
// cancelled; a cancelled task must leave nothing half done behind (a
// backup aborted before its manifest is not listed).
type Runner interface {
	Run(ctx context.Context, t *Task) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, t *Task) error

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, t *Task) error { return f(ctx, t) }

// RetryPolicy says which failures are tried again, and when.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 means no retries. Default 4.
	MaxAttempts int
	// Base is the wait before the second attempt, doubled for each next
	// one up to Max. Defaults 1 minute and 30 minutes.
	Base, Max time.Duration
	// Jitter spreads each wait by up to this fraction either way, so that
	// databases failing together do not retry together. Default 0.2.
	Jitter float64
	// Retryable reports whether err is transient (connection refused,
	// storage 5xx, timeouts). Nil: nothing is retried.
	Retryable func(error) bool
}

func (r *RetryPolicy) defaults() {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 4
	}
	if r.Base <= 0 {
		r.Base = time.Minute
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Minute
	}
	if r.Jitter < 0 || r.Jitter >= 1 {
		r.Jitter = 0.2
	}
}

// Backoff is the wait after failed attempt number attempt (1-based).
func (r RetryPolicy) Backoff(attempt int) time.Duration {
	d := r.Base
	for i := 1; i < attempt && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	if r.Jitter > 0 {
		f := 1 + r.Jitter*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return d
}
