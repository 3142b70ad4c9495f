package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/reporttest"
	"github.com/dbopsd/dbopsd/site"
)

// reconciles are the policy's reconcile blocks the operations test uses:
// three touch the report's databases, "elsewhere" does not.
func reconciles() *config.Config {
	side := func(db, table string) config.ReconcileSide {
		return config.ReconcileSide{Database: db, Table: engines.TableRef{Schema: "public", Name: table}}
	}
	return &config.Config{Reconciles: map[string]*config.Reconcile{
		"market":    {Name: "market", Left: side("orders", "registrations"), Right: side("gis", "registrations")},
		"persons":   {Name: "persons", Left: side("人口库", "persons"), Right: side("gis", "persons")},
		"legal":     {Name: "legal", Left: side("orders", "legal"), Right: side("人口库", "legal")},
		"elsewhere": {Name: "elsewhere", Left: side("hr", "staff"), Right: side("payroll", "staff")},
	}}
}

// seedOperations records, in state's catalog, the table maintenance and
// reconciliations of October and November 2026 as the maintenance runner
// and site.Reconcile record them, and returns the report's sources: the
// generated ones with the site adapters that read these records.
func seedOperations(t testing.TB, state string) report.Sources {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() }) // the adapters read it while the report builds
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, shanghai)
	}
	facts := func(total int64) *maintmodel.TableFacts {
		return &maintmodel.TableFacts{TotalBytes: total, DeadTuples: -1, DataFree: -1, ModifiedSinceAnalyze: -1}
	}
	table := engines.TableRef{Schema: "public", Name: "tickets"}
	for _, m := range []struct {
		res maintenance.Result
		err error
	}{
		{res: maintenance.Result{Database: "orders", Request: "r-oct", Operation: maintmodel.Operation{Op: maintmodel.Analyze, Table: table},
			Statement: "ANALYZE public.tickets", Started: at(10, 20, 2), Duration: time.Second, Outcome: maintenance.Succeeded}},
		{res: maintenance.Result{Database: "orders", Request: "r-full", Operation: maintmodel.Operation{Op: maintmodel.VacuumFull, Table: table},
			Statement: "VACUUM (FULL, ANALYZE) public.tickets", Started: at(11, 10, 2), Duration: 95 * time.Second,
			Before: facts(512 << 20), After: facts(128 << 20), Outcome: maintenance.Succeeded}},
		{res: maintenance.Result{Database: "orders", Request: "r-reindex", Operation: maintmodel.Operation{Op: maintmodel.Reindex, Table: table, Index: "tickets_at_idx"},
			Statement: "REINDEX INDEX CONCURRENTLY public.tickets_at_idx", Started: at(11, 12, 3), Duration: 5 * time.Second,
			Before: facts(300 << 20), Outcome: maintenance.LockTimeout, Error: "canceling statement due to lock timeout"},
			err: errors.New("canceling statement due to lock timeout")},
		{res: maintenance.Result{Database: "人口库", Request: "r-window", Operation: maintmodel.Operation{Op: maintmodel.Vacuum, Table: table},
			Statement: "VACUUM (ANALYZE) public.tickets", Started: at(11, 15, 14), Outcome: maintenance.NotRun, Error: "outside the maintenance window 02:00-05:00"},
			err: fmt.Errorf("%w: outside the maintenance window 02:00-05:00", catalog.ErrNotRun)},
	} {
		b, err := json.Marshal(m.res)
		if err != nil {
			t.Fatal(err)
		}
		var details map[string]any
		if err := json.Unmarshal(b, &details); err != nil {
			t.Fatal(err)
		}
		j := catalog.Job{Kind: maintenance.JobKind, Database: m.res.Database, StartedAt: m.res.Started, Trigger: "request",
			Details: map[string]any{"maintenance": details}}
		if _, err := cat.RecordJob(ctx, j, m.err); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []reconcile.Result{
		{Name: "market", Status: reconcile.StatusDifferent, Started: at(10, 20, 20), MissingLeft: 3},
		{Name: "market", Status: reconcile.StatusDifferent, Started: at(11, 3, 20), MissingLeft: 1, Different: 1},
		{Name: "market", Status: reconcile.StatusFailed, Started: at(11, 10, 20), Error: "statement timeout"},
		{Name: "market", Status: reconcile.StatusDifferent, Started: at(11, 17, 20), MissingLeft: 1, MissingRight: 2, Different: 4,
			Samples: reconcile.Samples{MissingLeft: []string{"91"}, MissingRight: []string{"7", "8"}, Different: []reconcile.Difference{{Key: "3", Columns: []string{"name"}}}}},
		{Name: "persons", Status: reconcile.StatusFailed, Started: at(11, 17, 21), Error: "connecting to gis: connection refused"},
		{Name: "legal", Status: reconcile.StatusMatch, Started: at(10, 6, 20)},
		{Name: "legal", Status: reconcile.StatusMatch, Started: at(12, 1, 1)},
		{Name: "elsewhere", Status: reconcile.StatusDifferent, Started: at(11, 17, 22), Different: 9},
	} {
		r.Finished = r.Started.Add(time.Minute)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.RecordReconciliation(ctx, catalog.Reconciliation{Name: r.Name, Started: r.Started, Finished: r.Finished, Status: r.Status,
			MissingLeft: r.MissingLeft, MissingRight: r.MissingRight, Different: r.Different, Result: b}); err != nil {
			t.Fatal(err)
		}
	}
	src := reporttest.Sources(history)
	ops := site.ReportSources(reconciles(), cat)
	src.Maintenance, src.Reconciliations = ops.Maintenance, ops.Reconciliations
	return src
}

// TestMonthlyOperations: the month's table maintenance and each reconcile
// block's latest result of the month, read from the catalog through the
// site adapters, in both languages; nothing of other months or of
// reconcile blocks of other databases.
func TestMonthlyOperations(t *testing.T) {
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	src := seedOperations(t, state)
	r := buildFrom(t, state, report.Monthly, src)

	var got []string
	for _, m := range r.Maintenance {
		got = append(got, fmt.Sprintf("%s %s %s %s %d→%d %.0fs %s", m.At.In(shanghai).Format("01-02"), m.Database, m.Operation, m.Object,
			m.BeforeBytes>>20, m.AfterBytes>>20, m.Secs, m.Outcome))
	}
	want := []string{
		"11-10 orders vacuum_full public.tickets 512→128 95s succeeded",
		"11-12 orders reindex public.tickets (tickets_at_idx) 300→0 5s lock timeout",
		"11-15 人口库 vacuum public.tickets 0→0 0s not run",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("maintenance:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = got[:0]
	for _, c := range r.Reconciliations {
		got = append(got, fmt.Sprintf("%s ran=%v %s %d/%d/%d samples=%d prev=%v:%d err=%q", c.Name, c.Ran, c.Status,
			c.MissingLeft, c.MissingRight, c.Different, c.Samples, c.HasPrevious, c.PreviousTotal, c.Error))
	}
	want = []string{
		`legal ran=false  0/0/0 samples=0 prev=false:0 err=""`,
		`market ran=true different 1/2/4 samples=4 prev=true:2 err=""`,
		`persons ran=true failed 0/0/0 samples=0 prev=false:0 err="connecting to gis: connection refused"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reconciliations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for lang, words := range map[i18n.Lang][]string{
		i18n.ZH: {"表维护", "本月经审批的表维护 3 次，其中成功 1 次。", "512.0 MiB → 128.0 MiB (−75%)", "1分35秒", "等锁超时，已放弃",
			"未执行: outside the maintenance window", "接口数据核查", "market（orders.public.registrations ↔ gis.public.registrations）",
			"发现差异", "增加 5", "本月未运行", "未能比对: connecting to gis"},
		i18n.EN: {"Table maintenance", "3 approved maintenance runs this month, 1 succeeded.", "gave up waiting for its lock",
			"Interface-data reconciliation", "differences found", "5 more", "not run this month", "could not compare: connecting to gis"},
	} {
		x := render(t, r, lang, false)
		for _, w := range words {
			if !strings.Contains(x.HTML, w) || !strings.Contains(x.Text, w) {
				t.Errorf("%s: the report does not say %q", lang, w)
			}
		}
		for _, w := range []string{"r-oct", "elsewhere"} {
			if strings.Contains(x.HTML, w) {
				t.Errorf("%s: the report lists %q, which is not this month's or not its databases'", lang, w)
			}
		}
	}
	// The weekly summary has neither section.
	if w := buildFrom(t, state, report.Weekly, src); w.Maintenance != nil || w.Reconciliations != nil {
		t.Errorf("the weekly summary collected maintenance %v and reconciliations %v", w.Maintenance, w.Reconciliations)
	}
}
