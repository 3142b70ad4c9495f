package site

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// TestSchemaChangesWindow: which two stored dictionaries November's schema
// changes compare, and the note when no two can be compared.
func TestSchemaChangesWindow(t *testing.T) {
	ctx := context.Background()
	utc8 := time.FixedZone("CST", 8*3600)
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, utc8), time.Date(2026, 12, 1, 0, 0, 0, 0, utc8)
	// dict is a dictionary of one table with columns cols, taken at day.
	dict := func(db string, day time.Time, cols ...string) *dictionary.Dictionary {
		tb := dictionary.Table{Schema: "public", Name: "t", Kind: "table"}
		for i, c := range cols {
			tb.Columns = append(tb.Columns, dictionary.Column{Position: i + 1, Name: c, Type: "integer"})
		}
		return &dictionary.Dictionary{Engine: "postgres", Database: db, CollectedAt: day, Tables: []dictionary.Table{tb}}
	}
	oct := time.Date(2026, 10, 20, 2, 0, 0, 0, utc8)
	nov5, nov25 := time.Date(2026, 11, 5, 2, 0, 0, 0, utc8), time.Date(2026, 11, 25, 2, 0, 0, 0, utc8)
	dec := time.Date(2026, 12, 2, 2, 0, 0, 0, utc8)
	for _, tc := range []struct {
		name  string
		runs  []*dictionary.Dictionary
		want  []string // Object: Change
		note  string   // the note's key, when no comparison is made
		noted time.Time
	}{
		{name: "nothing stored", note: "site.schema.no_dictionary", noted: from},
		{name: "only before", runs: []*dictionary.Dictionary{dict("", oct, "a")}, note: "site.schema.no_run", noted: oct},
		{name: "first in the month", runs: []*dictionary.Dictionary{dict("", nov5, "a"), dict("", dec, "a", "x")}, note: "site.schema.first", noted: nov5},
		{name: "two in the month", runs: []*dictionary.Dictionary{dict("", nov5, "a"), dict("", nov25, "a", "b")},
			want: []string{"public.t.b: public.t 新增列 b（integer）"}},
		{name: "before, in, after", runs: []*dictionary.Dictionary{dict("", oct, "a", "z"), dict("", nov5, "a", "b"), dict("", nov25, "a", "b", "c"), dict("", dec, "a")},
			want: []string{"public.t.b: public.t 新增列 b（integer）", "public.t.c: public.t 新增列 c（integer）", "public.t.z: public.t 删除列 z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			repo, err := repository.Init(ctx, st, secret.New("schema window test"))
			if err != nil {
				t.Fatal(err)
			}
			cat, err := catalog.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			hs := history.Store{Repo: repo, Catalog: cat}
			for _, d := range tc.runs {
				d.Database = "hub"
				if _, err := dictionary.Save(ctx, hs, d); err != nil {
					t.Fatal(err)
				}
			}
			s := &storedSources{hs: hs, lang: i18n.ZH, read: map[string]schemaRead{}}
			got, err := s.SchemaChanges(ctx, "hub", from, to)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				// The workbook of the dictionary just compared is made
				// from it, not read again.
				cat.Close()
			}
			// The workbook is the period's last dictionary, not a newer one.
			var last *dictionary.Dictionary
			for _, d := range tc.runs {
				if d.CollectedAt.Before(to) {
					last = d
				}
			}
			b, ok, err := s.DictionaryXLSX(ctx, "hub")
			if err != nil || ok != (last != nil) {
				t.Fatalf("dictionary workbook: ok %v, %v", ok, err)
			}
			if ok {
				x, err := excelize.OpenReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				rows, err := x.GetRows("t")
				x.Close()
				var cols []string
				for _, c := range last.Tables[0].Columns {
					cols = append(cols, c.Name)
				}
				for _, c := range []string{"a", "b", "c", "x", "z"} {
					in := slices.ContainsFunc(rows, func(r []string) bool { return slices.Contains(r, c) })
					if in != slices.Contains(cols, c) {
						t.Errorf("column %s in the workbook: %v, want %v (the dictionary of %s)", c, in, !in, last.CollectedAt)
					}
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if tc.note != "" {
				tmpl, _ := i18n.Lookup(i18n.ZH, tc.note)
				head, _, _ := strings.Cut(tmpl, "{")
				if len(got) != 1 || got[0].Object != "" || !strings.HasPrefix(got[0].Change, head) || !got[0].At.Equal(tc.noted) {
					t.Errorf("%+v, want the note %s at %s", got, tc.note, tc.noted)
				}
				return
			}
			var lines []string
			for _, c := range got {
				lines = append(lines, fmt.Sprintf("%s: %s", c.Object, c.Change))
				if !c.At.Equal(nov25) {
					t.Errorf("%s dated %s, want %s", c.Object, c.At, nov25)
				}
			}
			if !slices.Equal(lines, tc.want) {
				t.Errorf("changes %q, want %q", lines, tc.want)
			}
		})
	}
}

// TestReportSourcesFromDiagnoses: the report job reads the findings, the
// connection peaks and the space forecasts from the stored diagnoses, in
// the report's language (TestReportForecastFromDiagnosis tests the source
// itself); the connection peak and the daily peaks of a database's period
// come from the snapshots its findings read, not from the catalog again.
func TestReportSourcesFromDiagnoses(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("report sources test"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			cat.Close()
		}
	})
	at := time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
	snapshot := map[string]any{"level": diagmodel.Daily, "at": at, "connections": diagmodel.Connections{Max: 100, Total: 42}}
	if _, err := (history.Store{Repo: repo, Catalog: cat}).Save(ctx, history.KindDiagnosis, "hall", at, snapshot); err != nil {
		t.Fatal(err)
	}

	src := reportSources(&config.Config{}, Run{Repo: repo, Catalog: cat}, i18n.EN)
	for name, got := range map[string]any{"findings": src.Findings, "connections": src.Connections, "forecasts": src.Forecasts} {
		if ds, ok := got.(DiagnosisSource); !ok || ds.Catalog != cat || ds.Lang != i18n.EN {
			t.Errorf("%s source %#v, want the diagnoses of the catalog in English", name, got)
		}
	}

	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if fs, err := src.Findings.Findings(ctx, "hall", from, to); err != nil || fs == nil {
		t.Fatalf("findings %v, %v; want collected and none", fs, err)
	}
	cat.Close()
	closed = true
	if _, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: "hall"}); err == nil {
		t.Fatal("a closed catalog still reads")
	}
	peak, ok, err := src.Connections.ConnectionPeak(ctx, "hall", from, to)
	if err != nil || !ok || peak != 42 {
		t.Errorf("connection peak %d, %v, %v; want 42 from the snapshots already read", peak, ok, err)
	}
	days, err := src.Connections.(report.ConnectionDaysSource).ConnectionDays(ctx, "hall", from, to)
	if err != nil || len(days) != 1 || days[0].Peak != 42 || days[0].Max != 100 {
		t.Errorf("daily peaks %+v, %v; want 42 of 100 on the 10th", days, err)
	}
}
