package site_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/chartfont"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage/local"
)

// diagHistory stores diagnosis snapshots of database "hall", analysed by
// the diagnostics package from facts, as the daemon saves them.
type diagHistory struct {
	t     *testing.T
	store history.Store
}

func newDiagHistory(t *testing.T) (*diagHistory, *catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("report diagnostics test"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &diagHistory{t: t, store: history.Store{Repo: repo, Catalog: cat}}, cat
}

type snap struct {
	at      time.Time
	level   string
	conns   int
	tables  []diagmodel.Table
	indexes []diagmodel.Index
}

func (h *diagHistory) save(s snap) {
	h.t.Helper()
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: "postgres", Database: "hall", Level: s.level, CollectedAt: s.at,
		Connections: &diagmodel.Connections{Max: 100, Total: s.conns}}
	rec := diagmodel.Recorder{F: f}
	rec.Got(diagmodel.AreaConnections)
	if s.level == diagmodel.Monthly {
		f.Tables, f.Indexes = s.tables, s.indexes
		rec.Got(diagmodel.AreaTables)
		rec.Got(diagmodel.AreaIndexes)
		rec.Got(diagmodel.AreaIndexUsage)
	}
	th := diagnostics.DefaultThresholds()
	th.BigTableBytes = 1 << 20
	r := diagnostics.Analyze(diagnostics.Input{Facts: f, Thresholds: th, Lang: i18n.ZH,
		Suppressions: []diagnostics.Suppression{{Database: "hall", Check: "big-table", Object: "public.archive", Reason: "kept by law"}}})
	if _, err := h.store.Save(context.Background(), history.KindDiagnosis, "hall", s.at, r); err != nil {
		h.t.Fatal(err)
	}
}

func scans(n int64) *int64 { return &n }

// TestReportFromDiagnoses: the report's findings and connection peak come
// from the stored diagnoses; new and resolved are judged per check against
// its own previous run (the monthly checks against the monthly diagnosis
// before the period, not against the daily inspections in between);
// suppressed findings are counted; links point at the check pages; a
// database without diagnoses is "not collected".
func TestReportFromDiagnoses(t *testing.T) {
	ctx := context.Background()
	h, cat := newDiagHistory(t)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 3, 0, 0, 0, time.UTC) }
	big := diagmodel.Table{Schema: "public", Name: "orders", Bytes: 8 << 20, DataBytes: 8 << 20, Rows: 100_000, LastAnalyze: day(9, 1)}
	archive := diagmodel.Table{Schema: "public", Name: "archive", Bytes: 4 << 20, DataBytes: 4 << 20, Rows: 50_000, LastAnalyze: day(9, 1)}
	base := diagmodel.Index{Schema: "public", Table: "orders", Name: "orders_customer", Columns: []string{"customer"}, Bytes: 2 << 20, Scans: scans(40)}
	oldIdx := diagmodel.Index{Schema: "public", Table: "orders", Name: "orders_note", Columns: []string{"note"}, Bytes: 2 << 20, Scans: scans(0)}
	dup := diagmodel.Index{Schema: "public", Table: "orders", Name: "orders_customer2", Columns: []string{"customer"}, Bytes: 100, Scans: scans(0)}

	// Before the period: October's monthly diagnosis and a daily inspection.
	h.save(snap{at: day(10, 2), level: diagmodel.Monthly, conns: 20, tables: []diagmodel.Table{big, archive}, indexes: []diagmodel.Index{base, oldIdx}})
	h.save(snap{at: day(10, 31), level: diagmodel.Daily, conns: 90})
	// November: the connections stay high a day, then drop; the monthly
	// diagnosis finds the unused index dropped and a duplicate added.
	h.save(snap{at: day(11, 1), level: diagmodel.Daily, conns: 95})
	h.save(snap{at: day(11, 2), level: diagmodel.Monthly, conns: 85, tables: []diagmodel.Table{big, archive}, indexes: []diagmodel.Index{base, dup}})
	h.save(snap{at: day(11, 3), level: diagmodel.Daily, conns: 12})
	h.save(snap{at: day(11, 4), level: diagmodel.Daily, conns: 15})
	// December is another period.
	h.save(snap{at: day(12, 1), level: diagmodel.Daily, conns: 99})

	src := site.DiagnosisSource{Catalog: cat, Lang: i18n.EN}
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r, err := report.Build(ctx, report.Input{Kind: report.Monthly, From: from, To: to, Label: "2026-11", Catalog: cat,
		Databases: []report.DB{{Name: "hall", Engine: "postgres"}, {Name: "quiet", Engine: "postgres"}},
		Sources:   report.Sources{Findings: src, Connections: src}})
	if err != nil {
		t.Fatal(err)
	}
	hall, quiet := r.Databases[0], r.Databases[1]
	type state struct {
		priority                  string
		new, resolved, suppressed bool
	}
	want := map[string]state{
		"connections-high\x00":                       {priority: report.PriorityHigh, resolved: true},
		"big-table\x00public.orders":                 {priority: report.PriorityMedium},
		"big-table\x00public.archive":                {priority: report.PriorityMedium, suppressed: true},
		"unused-index\x00public.orders_note":         {priority: report.PriorityMedium, resolved: true},
		"duplicate-index\x00public.orders_customer2": {priority: report.PriorityMedium, new: true},
	}
	got := map[string]report.Finding{}
	for _, f := range hall.Findings {
		got[f.Check+"\x00"+f.Object] = f
	}
	for k, w := range want {
		f, ok := got[k]
		if !ok {
			t.Errorf("no finding %q in the report; findings: %+v", k, hall.Findings)
			continue
		}
		if (state{f.Priority, f.New, f.Resolved, f.Suppressed}) != w {
			t.Errorf("%q: priority %s new %v resolved %v suppressed %v, want %+v", k, f.Priority, f.New, f.Resolved, f.Suppressed, w)
		}
		if f.Link != "docs/checks/"+f.Check+".md" || f.Finding == "" || f.Database != "hall" {
			t.Errorf("%q: link %q, finding %q, database %q", k, f.Link, f.Finding, f.Database)
		}
	}
	if len(hall.Findings) != len(want) {
		t.Errorf("%d findings, want %d: %+v", len(hall.Findings), len(want), hall.Findings)
	}
	// The report's words are the report's language (the snapshots were
	// analysed in Chinese).
	if f := got["duplicate-index\x00public.orders_customer2"]; f.Group != "Indexes" || !containsASCIIWord(f.Finding) {
		t.Errorf("duplicate-index rendered as group %q, finding %q", f.Group, f.Finding)
	}
	if !hall.ConnKnown || hall.ConnPeak != 95 {
		t.Errorf("connection peak %d (known %v), want 95", hall.ConnPeak, hall.ConnKnown)
	}
	// The chart's daily peaks: one a day inspected, against max_connections.
	wantDays := []report.ConnectionDay{{Day: from, Peak: 95, Max: 100}, {Day: from.AddDate(0, 0, 1), Peak: 85, Max: 100},
		{Day: from.AddDate(0, 0, 2), Peak: 12, Max: 100}, {Day: from.AddDate(0, 0, 3), Peak: 15, Max: 100}}
	if !slices.EqualFunc(hall.ConnDays, wantDays, func(a, b report.ConnectionDay) bool { return a.Day.Equal(b.Day) && a.Peak == b.Peak && a.Max == b.Max }) {
		t.Errorf("daily connection peaks %+v, want %+v", hall.ConnDays, wantDays)
	}
	if quiet.Findings != nil || quiet.ConnKnown {
		t.Errorf("a database without diagnoses: findings %+v, connections known %v", quiet.Findings, quiet.ConnKnown)
	}
	if !r.Totals.FindingsKnown || r.Totals.NewUrgent != 0 {
		t.Errorf("totals %+v", r.Totals)
	}

	// The weekly summary's marks per check group: Monday 2 November had
	// the monthly diagnosis, Tuesday's inspection saw the connections drop.
	wk, err := report.Build(ctx, report.Input{Kind: report.Weekly, From: day(11, 2).Truncate(24 * time.Hour), To: day(11, 9).Truncate(24 * time.Hour),
		Label: "2026-W45", Catalog: cat, Databases: []report.DB{{Name: "hall", Engine: "postgres"}}, Sources: report.Sources{Findings: src, Connections: src}})
	if err != nil {
		t.Fatal(err)
	}
	d := wk.Databases[0]
	if len(d.Days) != 7 || !d.Days[0].Inspected || d.Days[0].Groups["Indexes"] != report.PriorityMedium || d.Days[0].Groups["Space"] != report.PriorityMedium {
		t.Fatalf("Monday's marks: %+v", d.Days)
	}
	if !d.Days[1].Inspected || d.Days[1].Groups["Sessions and locks"] != "" {
		t.Errorf("Tuesday's marks (connections resolved): %+v", d.Days[1])
	}
	// Wednesday's inspection ran the daily checks and found nothing: its
	// groups are inspected and clean, the monthly ones not inspected;
	// Saturday had no inspection at all.
	if g, ran := d.Days[2].Groups["Sessions and locks"]; !d.Days[2].Inspected || !ran || g != "" {
		t.Errorf("Wednesday's marks (clean inspection): %+v", d.Days[2])
	}
	if _, ran := d.Days[2].Groups["Indexes"]; ran {
		t.Errorf("Wednesday's marks: the monthly index checks did not run: %+v", d.Days[2])
	}
	if d.Days[5].Inspected || len(d.Days[5].Groups) != 0 {
		t.Errorf("Saturday's marks (no inspection): %+v", d.Days[5])
	}
	fonts, err := chartfont.Load("")
	if err != nil {
		t.Fatal(err)
	}
	x, err := report.Render(wk, report.Options{Lang: i18n.EN, Loc: time.UTC, Fonts: fonts})
	if err != nil {
		t.Fatal(err)
	}
	// Mon (monthly: connections high), Tue (resolved: clean), Wed (clean), Thu-Sun none.
	for name, row := range map[string][]string{"Sessions and locks": {"H", "✓", "✓", "·", "·", "·", "·"}, "Indexes": {"M", "·", "·", "·", "·", "·", "·"}} {
		if got := htmlRow(x.HTML, name); !slices.Equal(got, row) {
			t.Errorf("HTML row %q: %q, want %q", name, got, row)
		}
		if got := textRow(x.Text, name); !slices.Equal(got, row) {
			t.Errorf("text row %q: %q, want %q", name, got, row)
		}
	}
	if legend := "· not inspected or nothing that day"; !strings.Contains(x.HTML, legend) || !strings.Contains(x.Text, legend) {
		t.Errorf("the legend does not say what · is:\n%s", x.Text)
	}
	for _, g := range []string{"Indexes", "Space", "Sessions and locks"} {
		found := false
		for _, x := range d.Groups {
			found = found || x == g
		}
		if !found {
			t.Errorf("weekly groups %v lack %q", d.Groups, g)
		}
	}
	for _, f := range d.Findings {
		if f.Check == "connections-high" && (!f.Resolved || f.New) {
			t.Errorf("weekly: connections-high %+v, want resolved (open since before the week)", f)
		}
		if f.Check == "duplicate-index" && !f.New {
			t.Errorf("weekly: duplicate-index %+v, want new", f)
		}
	}
}

func containsASCIIWord(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return false
		}
	}
	return s != ""
}

// htmlRow is the cells after the first of the HTML table row that starts
// with name.
func htmlRow(html, name string) []string {
	_, rest, ok := strings.Cut(html, ">"+name+"</td>")
	if !ok {
		return nil
	}
	row, _, _ := strings.Cut(rest, "</tr>")
	var out []string
	for _, c := range strings.Split(row, "</td>") {
		if i := strings.LastIndex(c, ">"); i >= 0 {
			out = append(out, strings.TrimSpace(c[i+1:]))
		}
	}
	return out
}

// textRow is the values after the first of the plain-text table row
// ("- Item: name; Mon 11-02: ✓; ...") that starts with name.
func textRow(text, name string) []string {
	for _, line := range strings.Split(text, "\n") {
		parts := strings.Split(strings.TrimPrefix(line, "- "), "; ")
		if len(parts) < 2 || !strings.HasSuffix(parts[0], ": "+name) {
			continue
		}
		var out []string
		for _, p := range parts[1:] {
			_, v, _ := strings.Cut(p, ": ")
			out = append(out, v)
		}
		return out
	}
	return nil
}
