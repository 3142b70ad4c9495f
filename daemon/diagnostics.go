package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// The diagnostics kinds run the daily inspection and the monthly diagnosis
// of every database at the times of its policy's diagnostics { } block,
// save each snapshot (history.KindDiagnosis), record the run in the job
// log, and alert through notify when a finding of priority 50 or more
// urgent appears, changes or clears.
const (
	KindDiagnoseDaily   = "diagnose-daily"
	KindDiagnoseMonthly = "diagnose-monthly"
)

// diagnoseKinds are the kinds' names, for the history of their last
// success (catalogHistory).
var diagnoseKinds = []string{KindDiagnoseDaily, KindDiagnoseMonthly}

// AlertPriority: findings at this priority or more urgent are alerted.
const AlertPriority = 50

// Alerter raises and clears problems (*notify.Notifier).
type Alerter interface {
	Raise(ev notify.Event) bool
	Clear(typ, database, kind, summary string) bool
}

func diagnosticsKinds() []Kind {
	return []Kind{
		{Name: KindDiagnoseDaily, Plan: planDiagnose(diagmodel.Daily), Run: runDiagnose(diagmodel.Daily)},
		{Name: KindDiagnoseMonthly, Plan: planDiagnose(diagmodel.Monthly), Run: runDiagnose(diagmodel.Monthly)},
	}
}

func diagnoseKind(level string) string {
	if level == diagmodel.Monthly {
		return KindDiagnoseMonthly
	}
	return KindDiagnoseDaily
}

// factKey is where catalogHistory puts the last success of a
// diagnostics kind for a database, or of a report kind for its block, in
// schedule.Facts.Site.
func factKey(kind, database string) string { return kind + "/" + database }

// planDiagnose plans one entry per database whose policy has a
// diagnostics block: due at the block's time
// (daily) or day and time (monthly) in daemon.timezone, caught up after
// downtime as backups are, and at once when the database was never
// diagnosed at that level.
func planDiagnose(level string) schedule.Planner {
	return func(cfg *config.Config) ([]schedule.Entry, error) {
		kind := diagnoseKind(level)
		var out []schedule.Entry
		for _, name := range slices.Sorted(maps.Keys(cfg.Databases)) {
			db := cfg.Databases[name]
			// Scheduled runs are the policy's choice: without a
			// diagnostics block (the database's or its policy's) they are
			// left to the CLI.
			if p := cfg.PolicyFor(db); db.Diagnostics == nil && (p == nil || p.Diagnostics == nil) {
				continue
			}
			g := cfg.DiagnosticsFor(db)
			cron := fmt.Sprintf("%d %d * * *", int(g.DailyTime.Minutes())%60, int(g.DailyTime.Hours()))
			if level == diagmodel.Monthly {
				cron = fmt.Sprintf("%d %d %d * *", int(g.MonthlyTime.Minutes())%60, int(g.MonthlyTime.Hours()), g.MonthlyDay)
			}
			spec, err := schedule.ParseSpec(cron, cfg.Daemon.Location)
			if err != nil {
				return nil, fmt.Errorf("diagnostics schedule of %s: %w", name, err)
			}
			key := factKey(kind, name)
			out = append(out, schedule.Entry{
				Kind: kind, Database: name, Policy: db.Policy, Spec: spec, Schedule: level + " " + cron,
				Critical: db.Critical, Server: engines.ServerOf(db.Engine, db.DSN),
				Due: func(f schedule.Facts, now time.Time) schedule.Due {
					last := f.Site[key]
					if last.IsZero() {
						return schedule.Due{Due: true, Why: "never diagnosed (" + level + ")"}
					}
					return schedule.BySpec(spec, last, now, level+" diagnosis")
				},
			})
		}
		return out, nil
	}
}

func runDiagnose(level string) func(ctx context.Context, env *Env, t *schedule.Task) error {
	kind := diagnoseKind(level)
	return func(ctx context.Context, env *Env, t *schedule.Task) error {
		k := &Kind{Name: kind}
		db, err := env.Config.Database(t.Database)
		if err != nil {
			return recordFailure(ctx, env, k, t, fault.Permanent(err))
		}
		id, err := env.Catalog.StartJob(ctx, catalogJob(k, t))
		if err != nil {
			return err
		}
		log := env.Logger.Named("diagnose").With("database", db.Name, "level", level)
		rep, err := site.DiagnoseRun(env.Config, db, level, env.Catalog).Do(ctx)
		var details map[string]any
		var findings, urgent int
		if err == nil {
			r, rerr := env.OpenRepo(ctx)
			if rerr != nil {
				err = fmt.Errorf("%s diagnosis of %s: saving the snapshot: %w", level, db.Name, rerr)
			} else if _, serr := (history.Store{Repo: r, Catalog: env.Catalog}).Save(ctx, history.KindDiagnosis, db.Name, rep.At, rep); serr != nil {
				err = fmt.Errorf("%s diagnosis of %s: %w", level, db.Name, serr)
			}
			findings, urgent = len(rep.Problems(250)), len(rep.Problems(AlertPriority))
			details = map[string]any{"ran": rep.Ran, "not_checked": rep.NotChecked, "findings": findings, "urgent": urgent}
		}
		if ferr := env.Catalog.FinishJob(context.WithoutCancel(ctx), id, "", 0, err, details); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		log.Info("diagnosis done", "ran", rep.Ran, "not_checked", rep.NotChecked, "findings", findings, "urgent", urgent)
		if env.Alerts != nil {
			alertFindings(ctx, env, db.Name, kind, rep)
		}
		return nil
	}
}

// alertFindings raises the database's problem while findings of priority
// AlertPriority or more urgent remain, and clears it when none does. The
// set is the daily checks' findings of this run and the monthly checks'
// findings of the newest monthly diagnosis, so that the daily and the
// monthly runs agree on it; a new or cleared finding changes the set and
// the message goes out again, the same set does not.
func alertFindings(ctx context.Context, env *Env, database, kind string, rep *diagnostics.Report) {
	urgent := monthlyOnly(rep.Problems(AlertPriority), false)
	monthly := rep
	if rep.Level != diagmodel.Monthly {
		// A damaged or unreadable snapshot leaves the monthly checks'
		// findings out of the set, as when there is none.
		monthly, _, _ = diagnostics.LatestMonthly(ctx, env.Catalog, database, rep.At)
	}
	if monthly != nil {
		urgent = append(urgent, monthlyOnly(monthly.Problems(AlertPriority), true)...)
	}
	if len(urgent) == 0 {
		env.Alerts.Clear(config.EventDiagnosisFinding, database, "",
			fmt.Sprintf("No finding of priority %d or more urgent remains (%s, %s).", AlertPriority, kind, rep.At.Format(time.RFC3339)))
		return
	}
	sort.Slice(urgent, func(i, j int) bool {
		if urgent[i].Priority != urgent[j].Priority {
			return urgent[i].Priority < urgent[j].Priority
		}
		return urgent[i].Key() < urgent[j].Key()
	})
	var en, zh []string
	for _, f := range urgent {
		en = append(en, fmt.Sprintf("[%d] %s %s: %s", f.Priority, f.Check, f.Object, f.Message.Text("en")))
		zh = append(zh, fmt.Sprintf("[%d] %s %s: %s", f.Priority, f.Check, f.Object, f.Message.Text("zh-CN")))
	}
	// One Kind for both levels: the notifier tells problems apart by
	// their Kind and text, and the same set from the daily and the
	// monthly run is one problem.
	env.Alerts.Raise(notify.Event{Type: config.EventDiagnosisFinding, Database: database, Kind: "diagnose",
		Summary: fmt.Sprintf("%d findings of priority %d or more urgent in %s.", len(urgent), AlertPriority, database),
		Error:   strings.Join(en, "\n"), Detail: strings.Join(zh, "\n")})
}

// monthlyOnly keeps the findings of monthly-only checks (want true) or of
// daily checks (want false).
func monthlyOnly(fs []diagnostics.Finding, want bool) []diagnostics.Finding {
	var out []diagnostics.Finding
	for _, f := range fs {
		c, _ := diagnostics.CheckByID(f.Check)
		if (c.Level == diagmodel.Monthly) == want {
			out = append(out, f)
		}
	}
	return out
}
