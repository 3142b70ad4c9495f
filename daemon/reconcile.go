package daemon

import (
	"github.com/dbopsd/dbopsd/when"

	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// The reconcile blocks of the policy, run on their schedules inside their
// windows (ARCHITECTURE.md, "Reconciliation"). A task's database is the
// reconcile block's name. Differences found fail the job with
// reconcile_differences, which the next run that finds none resolves; a
// run that could not compare raises check_failed instead.

func reconcileKind() Kind {
	return Kind{Name: site.KindReconcile, Plan: planReconciles, Run: runReconcileJob,
		Alert: config.EventReconcileDifferences, NotRunAlert: config.EventCheckFailed}
}

// planReconciles schedules each reconcile block. An entry is due inside its
// window when its schedule has a run after the newest run that compared the
// tables; a run with differences counts, so that they are reported once per
// slot, not again at every evaluation.
func planReconciles(cfg *config.Config) ([]schedule.Entry, error) {
	loc := location(cfg)
	names := make([]string, 0, len(cfg.Reconciles))
	for name := range cfg.Reconciles {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []schedule.Entry
	for _, name := range names {
		r := cfg.Reconciles[name]
		// Parsed once, when the policy loaded.
		spec, w := r.ScheduleSpec, r.WindowSpan
		if spec == nil {
			return nil, fmt.Errorf("reconcile %q: its schedule was not parsed (a policy not loaded from a file?)", name)
		}
		out = append(out, schedule.Entry{
			Kind: site.KindReconcile, Database: name, Spec: spec, Schedule: spec.String(), Window: w,
			Due: func(f schedule.Facts, now time.Time) schedule.Due {
				if !w.Contains(now.In(loc)) {
					return schedule.Due{}
				}
				last := f.DB[name].Other[site.KindReconcile]
				if last.IsZero() {
					return schedule.Due{Due: true, Why: "never reconciled"}
				}
				n := spec.Next(last)
				if n.IsZero() || n.After(now) {
					return schedule.Due{}
				}
				return schedule.Due{Due: true, Missed: n, Slots: schedule.Slots(spec, last, now, 1000),
					Why: "last reconciled " + last.In(loc).Format("2006-01-02 15:04")}
			},
		})
	}
	return out, nil
}

func location(cfg *config.Config) *time.Location {
	if cfg.Daemon.Location != nil {
		return cfg.Daemon.Location
	}
	return time.Local
}

// errWindowClosed ends a reconciliation still running when its window
// closes; the next window runs it again.
var errWindowClosed = errors.New("the reconciliation's window closed before it finished")

func runReconcileJob(ctx context.Context, env *Env, t *schedule.Task) error {
	k := &Kind{Name: site.KindReconcile}
	r, err := env.Config.Reconcile(t.Database)
	if err != nil {
		return recordFailure(ctx, env, k, t, fault.Permanent(err))
	}
	w := r.WindowSpan
	if !t.IgnoreWindow && w != (when.Window{}) {
		now := time.Now().In(location(env.Config))
		end, inside := windowEnd(w, now)
		if !inside {
			// A retry that came after the window closed: wait for the
			// next one.
			return recordFailure(ctx, env, k, t, fault.Permanent(fmt.Errorf("reconcile %s: outside its window %s", r.Name, w)))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, end, errWindowClosed)
		defer cancel()
	}
	_, err = site.Reconcile(ctx, env.Config, r, env.run(nil, t))
	if err != nil && errors.Is(context.Cause(ctx), errWindowClosed) {
		err = fault.Permanent(fmt.Errorf("%w (%s): %w", errWindowClosed, w, err))
	}
	return err
}

// windowEnd returns when the window w that now falls in closes, and
// whether now falls in it at all.
func windowEnd(w when.Window, now time.Time) (time.Time, bool) {
	if !w.Contains(now) {
		return time.Time{}, false
	}
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	end := midnight.Add(w.End)
	if !end.After(now) { // a window past midnight, in its evening part
		end = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location()).Add(w.End)
	}
	return end, true
}

// reconciled adds to f when each reconcile block last compared its tables,
// under its name's DBFacts.Other.
func reconciled(ctx context.Context, cat *catalog.Catalog, f *schedule.Facts) error {
	last, err := cat.LastReconciled(ctx)
	if err != nil {
		return err
	}
	for name, at := range last {
		df := f.DB[name]
		if df.Other == nil {
			df.Other = map[string]time.Time{}
		}
		df.Other[site.KindReconcile] = at
		f.DB[name] = df
	}
	return nil
}
