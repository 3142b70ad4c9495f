package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// The report blocks' job kinds. Each block is its own entry (the task's
// database is the block's name), on its own schedule, for the last
// complete month or week.
const (
	KindReportMonthly = "report_monthly"
	KindReportWeekly  = "report_weekly"
)

// reportSpecs are when the named report schedules fire, in
// daemon.timezone: the first of the month and Mondays, at 08:00, when the
// night's backups and inspections are done.
var reportSpecs = map[string]string{config.Monthly: "0 8 1 * *", config.Weekly: "0 8 * * 1"}

func reportKinds() []Kind {
	return []Kind{
		{Name: KindReportMonthly, Plan: planReports(report.Monthly), Run: runReports(report.Monthly), Alert: config.EventMonthlyReport},
		{Name: KindReportWeekly, Plan: planReports(report.Weekly), Run: runReports(report.Weekly), Alert: config.EventWeeklySummary},
	}
}

// reportBlocks are the report blocks of kind, by name.
func reportBlocks(cfg *config.Config, kind string) []*config.Report {
	var out []*config.Report
	for _, name := range slices.Sorted(maps.Keys(cfg.Reports)) {
		if r := cfg.Reports[name]; r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// planReports plans an entry for each block of kind: due when the
// block's schedule fired since its last success; after downtime it runs
// once, for the newest complete period, not once per missed one.
func planReports(kind string) schedule.Planner {
	catalogKind := report.CatalogKindOf(kind)
	return func(cfg *config.Config) ([]schedule.Entry, error) {
		var out []schedule.Entry
		for _, b := range reportBlocks(cfg, kind) {
			written := b.Schedule
			expr := written
			if e, ok := reportSpecs[written]; ok {
				expr = e
			}
			spec, err := schedule.ParseSpec(expr, cfg.Daemon.Location)
			if err != nil {
				return nil, fmt.Errorf("report %q: %w", b.Name, err)
			}
			key := factKey(catalogKind, b.Name)
			out = append(out, schedule.Entry{
				Kind: "report_" + kind, Database: b.Name, Spec: spec, Schedule: written + " (" + expr + ")",
				Due: func(f schedule.Facts, now time.Time) schedule.Due {
					last := f.Site[key]
					if last.IsZero() {
						// Recorded before blocks had their own history.
						last = f.Site[catalogKind]
					}
					if last.IsZero() {
						if hasBackups(f) {
							return schedule.Due{Due: true, Why: "no " + kind + " report " + b.Name + " was ever made"}
						}
						return schedule.Due{}
					}
					if n := spec.Next(last); !n.After(now) {
						return schedule.Due{Due: true, Missed: n, Slots: schedule.Slots(spec, last, now, 100),
							Why: "last " + kind + " report " + b.Name + " " + last.Format(time.RFC3339)}
					}
					return schedule.Due{}
				},
			})
		}
		return out, nil
	}
}

func runReports(kind string) func(ctx context.Context, env *Env, t *schedule.Task) error {
	return func(ctx context.Context, env *Env, t *schedule.Task) error {
		k := &Kind{Name: t.Kind, CatalogKind: report.CatalogKindOf(kind)}
		run := env.run(nil, t)
		repo, err := env.OpenRepo(ctx)
		if err != nil {
			// Written under the state directory and sent all the same.
			env.Logger.Warn("the report is kept under the state directory only: the repository did not open", "error", err)
		} else {
			run.Repo = repo
		}
		rep := env.Config.Reports[t.Database]
		if rep == nil || rep.Kind != kind {
			return recordFailure(ctx, env, k, t, fault.Permanent(fmt.Errorf("no %s report block %q in the policy", kind, t.Database)))
		}
		job, err := site.ReportJob(env.Config, rep, "", "", "", run)
		if err != nil {
			return recordFailure(ctx, env, k, t, fault.Permanent(err))
		}
		job.Send = len(rep.Notify) > 0
		if _, err := job.Run(ctx); err != nil {
			return fmt.Errorf("report %q: %w", rep.Name, err)
		}
		return nil
	}
}
