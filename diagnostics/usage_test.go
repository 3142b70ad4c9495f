package diagnostics

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
)

func n64(n int64) *int64 { return &n }

// usageFacts are a monthly snapshot of PostgreSQL with the given tables
// and statements.
func usageFacts(at, started time.Time, tables []diagmodel.Table, stmts []diagmodel.Statement) *diagmodel.Facts {
	f := &diagmodel.Facts{Version: 1, Engine: "postgres", Database: "hall", Level: diagmodel.Monthly, CollectedAt: at,
		Areas:  []string{diagmodel.AreaServer, diagmodel.AreaTables},
		Server: &diagmodel.Server{Version: "15.20", StartedAt: started}, Tables: tables, Statements: stmts}
	if stmts != nil {
		f.Areas = append(f.Areas, diagmodel.AreaStatements)
	}
	return f
}

// findingsOf returns check's findings, and whether it said "not checked".
func findingsOf(r *Report, check string) (objects []string, notChecked bool) {
	for _, f := range r.Findings {
		if f.Check != check {
			continue
		}
		if f.NotChecked {
			notChecked = true
			continue
		}
		if f.Finding == "" || f.Details == "" || f.Recommendation == "" || f.Link != Link(check) {
			panic("incomplete finding: " + f.Check)
		}
		objects = append(objects, f.Object)
	}
	return objects, notChecked
}

func TestSeqScanTables(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	big := int64(200 << 20)
	tables := []diagmodel.Table{
		{Schema: "public", Name: "scanned", DataBytes: big, Bytes: big, SeqScans: n64(900), IdxScans: n64(100)},
		{Schema: "public", Name: "no_index", DataBytes: big, Bytes: big, SeqScans: n64(500)},
		{Schema: "public", Name: "indexed", DataBytes: big, Bytes: big, SeqScans: n64(900), IdxScans: n64(90000)},
		{Schema: "public", Name: "small", DataBytes: 1 << 20, Bytes: 1 << 20, SeqScans: n64(90000), IdxScans: n64(0)},
		{Schema: "public", Name: "rarely", DataBytes: big, Bytes: big, SeqScans: n64(20), IdxScans: n64(0)},
		{Schema: "public", Name: "no_stats", DataBytes: big, Bytes: big},
	}
	r := Analyze(Input{Facts: usageFacts(at, at.AddDate(0, -3, 0), tables, nil), Lang: i18n.EN})
	got, nc := findingsOf(r, "seq-scan-tables")
	if nc || strings.Join(got, ",") != "public.scanned,public.no_index" {
		t.Errorf("seq-scan-tables: %v (not checked %v), want public.scanned and public.no_index", got, nc)
	}
	for _, f := range r.Findings {
		if f.Check == "seq-scan-tables" && f.Object == "public.scanned" && !strings.Contains(f.Finding, "90 %") {
			t.Errorf("share: %q", f.Finding)
		}
	}
	my := usageFacts(at, at, tables, nil)
	my.Engine = "mysql"
	if st := statusOf(Analyze(Input{Facts: my}), "seq-scan-tables"); st != StatusNotApplicable {
		t.Errorf("mysql: %s", st)
	}
}

func statusOf(r *Report, id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func TestTableUnread(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	started := at.AddDate(0, -3, 0)
	prevTables := []diagmodel.Table{
		{Schema: "public", Name: "read_seq", SeqScans: n64(10), IdxScans: n64(5)},
		{Schema: "public", Name: "read_idx", SeqScans: n64(10), IdxScans: n64(5)},
		{Schema: "public", Name: "idle", SeqScans: n64(10), IdxScans: n64(5), Bytes: 8 << 20},
		{Schema: "public", Name: "idle_no_index", SeqScans: n64(3)},
	}
	curTables := []diagmodel.Table{
		{Schema: "public", Name: "read_seq", SeqScans: n64(11), IdxScans: n64(5)},
		{Schema: "public", Name: "read_idx", SeqScans: n64(10), IdxScans: n64(6)},
		{Schema: "public", Name: "idle", SeqScans: n64(10), IdxScans: n64(5), Bytes: 8 << 20},
		{Schema: "public", Name: "idle_no_index", SeqScans: n64(3)},
		{Schema: "public", Name: "new_this_month", SeqScans: n64(0), IdxScans: n64(0)},
	}
	prev := usageFacts(at.AddDate(0, -1, 0), started, prevTables, nil)
	r := Analyze(Input{Facts: usageFacts(at, started, curTables, nil), Prev: prev, Lang: i18n.EN})
	got, nc := findingsOf(r, "table-unread")
	if nc || strings.Join(got, ",") != "public.idle,public.idle_no_index" {
		t.Errorf("table-unread: %v (not checked %v), want public.idle and public.idle_no_index", got, nc)
	}

	// Without an earlier snapshot with tables, across a restart, or with
	// a daily snapshot before (no tables): not checked, never an error.
	daily := usageFacts(at.AddDate(0, 0, -1), started, nil, nil)
	daily.Level, daily.Areas = diagmodel.Daily, []string{diagmodel.AreaServer}
	for name, p := range map[string]*diagmodel.Facts{
		"none":      nil,
		"restarted": usageFacts(at.AddDate(0, -1, 0), started.Add(-time.Hour), prevTables, nil),
		"daily":     daily,
	} {
		r := Analyze(Input{Facts: usageFacts(at, started, curTables, nil), Prev: p, Lang: i18n.EN})
		got, nc := findingsOf(r, "table-unread")
		if !nc || len(got) > 0 || statusOf(r, "table-unread") != StatusNotChecked {
			t.Errorf("%s: table-unread %v, not checked %v; want not checked only", name, got, nc)
		}
	}
}

func TestTopStatements(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	var stmts []diagmodel.Statement
	for i, ms := range []float64{100, 500, 50, 200, 25, 75, 50} {
		stmts = append(stmts, diagmodel.Statement{Query: "SELECT\n  " + strings.Repeat("x", i+1), Calls: int64(i + 1), TotalMS: ms})
	}
	r := Analyze(Input{Facts: usageFacts(at, at, nil, stmts), Lang: i18n.EN})
	var f *Finding
	for i := range r.Findings {
		if r.Findings[i].Check == "top-statements" {
			f = &r.Findings[i]
		}
	}
	if f == nil || f.NotChecked {
		t.Fatalf("no top-statements finding: %+v", r.Findings)
	}
	if f.Priority != 200 || !strings.Contains(f.Finding, "50.0 %") {
		t.Errorf("finding: %d %q", f.Priority, f.Finding)
	}
	// 500 of 1000 ms, then 200, 100, 75, and one of the 50s; not the 25.
	for _, want := range []string{"1. 50.0% SELECT xx (2, 500ms)", "2. 20.0% SELECT xxxx", "3. 10.0% SELECT x (1,", "4. 7.5% ", "5. 5.0% "} {
		if !strings.Contains(f.Details, want) {
			t.Errorf("details lack %q: %s", want, f.Details)
		}
	}
	if strings.Contains(f.Details, "6.") || strings.Contains(f.Details, "2.5%") {
		t.Errorf("more than five: %s", f.Details)
	}

	// No statements collected: not checked, with the collector's reason.
	none := usageFacts(at, at, nil, nil)
	none.Unavailable = []diagmodel.Unavailable{{Area: diagmodel.AreaStatements, Reason: "the pg_stat_statements extension is not installed in this database"}}
	r = Analyze(Input{Facts: none, Lang: i18n.EN})
	if got, nc := findingsOf(r, "top-statements"); !nc || len(got) > 0 {
		t.Errorf("without statements: %v, not checked %v", got, nc)
	}
	// Collected but empty: ran, nothing to say.
	empty := usageFacts(at, at, nil, []diagmodel.Statement{})
	r = Analyze(Input{Facts: empty, Lang: i18n.EN})
	if got, nc := findingsOf(r, "top-statements"); nc || len(got) > 0 || statusOf(r, "top-statements") != StatusRan {
		t.Errorf("empty statements: %v, not checked %v", got, nc)
	}
}

func TestSessionPeak(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	cur := func(total int) *diagmodel.Facts {
		f := usageFacts(at, at, nil, nil)
		f.Areas = append(f.Areas, diagmodel.AreaConnections)
		f.Connections = &diagmodel.Connections{Max: 100, Total: total}
		return f
	}
	var quiet []ConnectionSample
	for d := 1; d <= 30; d++ {
		quiet = append(quiet, ConnectionSample{At: at.AddDate(0, 0, -d), Total: 20 + d%7, Max: 100})
	}
	busy := append(slices.Clone(quiet), ConnectionSample{At: at.AddDate(0, 0, -12), Total: 91, Max: 100})
	old := append(slices.Clone(quiet), ConnectionSample{At: at.AddDate(0, 0, -45), Total: 99, Max: 100})
	for _, tc := range []struct {
		name    string
		f       *diagmodel.Facts
		samples []ConnectionSample
		want    string // "" none, an object, "not_checked"
	}{
		{"quiet month", cur(30), quiet, ""},
		{"peak on a day", cur(30), busy, "hall"},
		{"peak today", cur(85), quiet, "hall"},
		{"peak before the month", cur(30), old, ""},
		{"no history", cur(95), nil, "not_checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Analyze(Input{Facts: tc.f, Connections: tc.samples, Lang: i18n.EN})
			got, nc := findingsOf(r, "session-peak")
			s := strings.Join(got, ",")
			if nc {
				s += "not_checked"
			}
			if s != tc.want {
				t.Errorf("session-peak: %q, want %q (%s)", s, tc.want, statusOf(r, "session-peak"))
			}
			if tc.name == "peak on a day" {
				for _, f := range r.Findings {
					if f.Check == "session-peak" && !strings.Contains(f.Finding, "91 of 100 (91 %) on 2026-06-19") {
						t.Errorf("finding: %q", f.Finding)
					}
				}
			}
		})
	}
}

// TestMonthHistory: a monthly run reads the month's connection samples and
// the previous monthly snapshot's tables from the catalog, past the daily
// snapshots in between, and the volume samples of the forecasts' 100 days:
// a daily snapshot 80 days back is a volume sample but no connection
// sample, one 120 days back neither.
func TestMonthHistory(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	started := at.AddDate(0, -3, 0)
	put := func(f *diagmodel.Facts) {
		body, err := json.Marshal(Report{Version: ReportVersion, Database: f.Database, Engine: f.Engine, Level: f.Level, At: f.CollectedAt, Facts: f})
		if err != nil {
			t.Fatal(err)
		}
		id := f.CollectedAt.Format("20060102T150405")
		if err := cat.PutDocument(ctx, catalog.Document{Kind: history.KindDiagnosis, Database: "hall", ID: id, TakenAt: f.CollectedAt, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	withConns := func(f *diagmodel.Facts, total int) *diagmodel.Facts {
		f.Areas = append(f.Areas, diagmodel.AreaConnections)
		f.Connections = &diagmodel.Connections{Max: 100, Total: total}
		f.Volume = &diagmodel.Volume{UsedBytes: 40 << 30, TotalBytes: 100 << 30, Source: "statfs"}
		return f
	}
	for _, d := range []int{120, 80} {
		old := withConns(usageFacts(at.AddDate(0, 0, -d), started, nil, nil), 99)
		old.Level, old.Areas = diagmodel.Daily, []string{diagmodel.AreaServer, diagmodel.AreaConnections}
		put(old)
	}
	put(withConns(usageFacts(at.AddDate(0, -1, 0), started, []diagmodel.Table{
		{Schema: "public", Name: "idle", SeqScans: n64(4), IdxScans: n64(4)},
		{Schema: "public", Name: "busy", SeqScans: n64(4), IdxScans: n64(4)},
	}, nil), 10))
	for d := 29; d >= 1; d-- {
		daily := withConns(usageFacts(at.AddDate(0, 0, -d), started, nil, nil), 20)
		daily.Level, daily.Areas = diagmodel.Daily, []string{diagmodel.AreaServer, diagmodel.AreaConnections}
		if d == 9 {
			daily.Connections.Total = 88
		}
		put(daily)
	}
	cur := withConns(usageFacts(at, started, []diagmodel.Table{
		{Schema: "public", Name: "idle", SeqScans: n64(4), IdxScans: n64(4)},
		{Schema: "public", Name: "busy", SeqScans: n64(4), IdxScans: n64(40)},
	}, nil), 15)
	r, err := Run{Catalog: cat, Database: "hall", Lang: i18n.EN}.Reanalyze(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if got, nc := findingsOf(r, "table-unread"); nc || strings.Join(got, ",") != "public.idle" {
		t.Errorf("table-unread: %v, not checked %v; want public.idle", got, nc)
	}
	found := false
	for _, f := range r.Findings {
		if f.Check == "session-peak" && !f.NotChecked {
			found = strings.Contains(f.Finding, "88 of 100") && strings.Contains(f.Details, "31 snapshots")
			if !found {
				t.Errorf("session-peak: %q / %q", f.Finding, f.Details)
			}
		}
	}
	if !found {
		t.Errorf("no session-peak finding: %s", statusOf(r, "session-peak"))
	}
	// 80 days back, a month back, the 29 dailies and this run.
	if len(r.Forecasts) == 0 || r.Forecasts[0].Series != "volume" || r.Forecasts[0].Points != 32 {
		t.Errorf("volume forecasts: %+v, want 32 points", r.Forecasts)
	}
}

func TestCheckpointsRequested(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	started := at.AddDate(0, -3, 0)
	mk := func(when time.Time, checkpoints int64, settings ...diagmodel.Setting) *diagmodel.Facts {
		f := usageFacts(when, started, nil, nil)
		f.Areas = append(f.Areas, diagmodel.AreaCounters, diagmodel.AreaSettings)
		f.Counters = map[string]int64{diagmodel.CounterCheckpoints: checkpoints}
		f.Settings = settings
		return f
	}
	from := at.AddDate(0, 0, -30) // 30 days: at most 8640 timed checkpoints of 5 min
	slow := diagmodel.Setting{Name: "checkpoint_timeout", Value: "1800", Source: "configuration file"}
	noSettings := mk(at, 1000+12000)
	noSettings.Areas = []string{diagmodel.AreaServer, diagmodel.AreaCounters}
	noSettings.Unavailable = []diagmodel.Unavailable{{Area: diagmodel.AreaSettings, Reason: "permission denied for pg_settings"}}
	for _, tc := range []struct {
		name      string
		cur, prev *diagmodel.Facts
		want      string // "" none, "finding", "not_checked"
	}{
		{"timed only", mk(at, 1000+8000), mk(from, 1000), ""},
		{"forced by WAL", mk(at, 1000+12000), mk(from, 1000), "finding"},
		{"few", mk(at, 1000+8645), mk(from, 1000), ""},
		{"longer timeout", mk(at, 1000+2000, slow), mk(from, 1000, slow), "finding"},
		{"longer timeout, timed", mk(at, 1000+1400, slow), mk(from, 1000, slow), ""},
		{"first snapshot", mk(at, 1000+12000), nil, "not_checked"},
		{"restarted", mk(at, 12000), mk(from, 1000), "not_checked"},
		{"settings not collected", noSettings, mk(from, 1000), "not_checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "restarted" {
				tc.prev.Server.StartedAt = started.Add(-time.Hour)
			}
			r := Analyze(Input{Facts: tc.cur, Prev: tc.prev, Lang: i18n.EN})
			got, nc := findingsOf(r, "checkpoints-requested")
			s := ""
			switch {
			case nc && len(got) == 0:
				s = "not_checked"
			case len(got) == 1 && !nc:
				s = "finding"
			case len(got) > 0:
				s = "several"
			}
			if s != tc.want {
				t.Errorf("checkpoints-requested: %q, want %q (%s)", s, tc.want, listOf(r))
			}
		})
	}
	r := Analyze(Input{Facts: mk(at, 1000+12000), Prev: mk(from, 1000), Lang: i18n.EN})
	for _, f := range r.Findings {
		if f.Check == "checkpoints-requested" && !strings.Contains(f.Finding, "At least 3360 of 12000 checkpoints (28 %)") {
			t.Errorf("finding: %q", f.Finding)
		}
	}
	my := mk(at, 1000+12000)
	my.Engine = "mysql"
	if st := statusOf(Analyze(Input{Facts: my}), "checkpoints-requested"); st != StatusNotApplicable {
		t.Errorf("mysql: %s", st)
	}
}

func listOf(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.Check + " [" + f.Object + "] " + f.Finding + " / " + f.Details + "; ")
	}
	return b.String()
}
