// Package schedule decides when the daemon's jobs run: it turns a policy into
// a plan of entries (full, differential and verify per database; prune and
// mirror for the site; more kinds plug in as Planners), arms one gocron job
// per policy at the union of that policy's schedules, and feeds a queue that
// enforces the daemon's limits.
//
// # Due-ness comes from the history, not only from timers
//
// A timer firing only asks "is anything due now?". The answer always comes
// from the History (the catalog in the daemon): an entry is due when its
// schedule has a run after the last success, at or before now
// (Spec.Next(last) <= now). So after any gap — the daemon down, the machine
// asleep, a window missed — the next evaluation finds the entry due once,
// whatever the number of slots that passed, logs it as missed and runs one
// catch-up. A sweep every minute (Options.SweepInterval) re-evaluates every
// entry, so nothing depends on a timer having fired.
//
// # The queue
//
// Due entries become Tasks in one queue. A task starts when its database has
// nothing running, fewer than MaxParallel tasks run overall, fewer than
// PerServer run on its database server, its policy's window (backups only)
// contains now, and its retry back-off has passed. Waiting tasks keep a
// stable order: critical databases first, then databases in the order they
// started waiting, and within one database full, differential, verify.
// Just before a scheduled task starts, its due-ness is checked again, so a
// differential queued behind a full of the same database is dropped when the
// full covers it. Tasks asked for through Enqueue (dbopsd run; signed
// restores and drills, the OnRequest kinds, which no plan entry schedules)
// join the same queue under the same limits; a restore or drill counts
// against its target's server.
//
// # Retries
//
// A failed attempt that Options.Retry.Retryable calls transient goes back to
// its place in the queue after an exponential back-off with jitter, up to
// MaxAttempts; other failures are final. Either way the Observer hears of
// every attempt.
//
// # Files
//
// plan.go turns a policy into entries; scheduler.go is the Scheduler and
// its loop; timers.go the gocron timers, the sweep and the wake-up;
// queue.go which due entries wait and which start; running.go an
// attempt's start and end, retries and the record kept for status; api.go
// what the daemon asks (Enqueue, Status, Reload); task.go the Task a
// Runner receives. Specs and windows come from package when, parsed once
// when the policy loads (config.Policy's FullSpec, DifferentialSpec,
// VerifySpec and Window).
//
// # Time
//
// Every timer and every "now" comes from Options.Clock (clockwork), so tests
// drive a simulated year with a fake clock through the same code.
package schedule
