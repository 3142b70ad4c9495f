package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/schedule"
)

// watchStale checks every sweep interval for databases without a
// successful backup within their policy.
func (a *Agent) watchStale(ctx context.Context) error {
	interval := a.opts.SweepInterval
	if interval <= 0 {
		interval = time.Minute
	}
	t := a.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			a.checkStale(ctx)
		}
	}
}

// checkStale raises "stale" for every database whose schedule wanted a
// backup more than StaleAfter ago with none since, and clears it for the
// others. A database never backed up counts from the daemon's start.
func (a *Agent) checkStale(ctx context.Context) {
	facts, err := catalogHistory{a.cat}.Facts(ctx)
	if err != nil {
		a.log.Warn("stale check: reading the catalog failed", "error", err)
		return
	}
	now := a.clock.Now()
	plan := a.sched.Plan()
	specs := map[string]schedule.Union{}
	for _, e := range plan.Entries {
		if schedule.IsBackup(e.Kind) && e.Spec != nil {
			specs[e.Database] = append(specs[e.Database], e.Spec)
		}
	}
	loc := plan.Location
	for db, spec := range specs {
		last := facts.DB[db].Backup
		base := last
		if base.IsZero() {
			base = a.started
		}
		due := spec.Next(base)
		if !due.IsZero() && now.Sub(due) > a.opts.StaleAfter {
			since := "never backed up"
			if !last.IsZero() {
				since = "last successful backup " + last.In(loc).Format("2006-01-02 15:04")
			}
			a.notifier.Raise(notify.Event{Type: config.EventStale, Database: db,
				Summary: fmt.Sprintf("%s has no successful backup within its policy: %s; one was due by %s.", db, since, due.In(loc).Format("2006-01-02 15:04")),
				Error:   "no successful backup since " + due.In(loc).Format("2006-01-02")})
		} else if !last.IsZero() {
			a.notifier.Clear(config.EventStale, db, "", fmt.Sprintf("%s has a backup from %s.", db, last.In(loc).Format("2006-01-02 15:04")))
		}
	}
}
