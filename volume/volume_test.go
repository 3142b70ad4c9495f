package volume_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/volume"
)

// synthetic puts 13 months of daily samples into the catalog: "rating"
// from 2025-11-01 to 2026-11-30 (2026-10-31 missing), "queue" from
// 2026-10-20 only. The figures grow linearly with the day, so the
// month-end values below are computed by hand.
func synthetic(t *testing.T) *catalog.Catalog {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	put := func(s volume.Sample) {
		body, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.PutDocument(ctx, catalog.Document{Kind: history.KindVolume, Database: s.Database, ID: repository.NewBackupID(s.TakenAt), TakenAt: s.TakenAt, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2025, 11, 1, 1, 0, 0, 0, time.UTC)
	for d := 0; ; d++ {
		at := start.AddDate(0, 0, d)
		if at.After(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
			break
		}
		if at.Month() == time.October && at.Day() == 31 {
			continue
		}
		persons := int64(1000 + 10*d)
		log := int64(5000 + 100*d)
		s := volume.Sample{Database: "rating", Engine: "postgres", TakenAt: at, StoredBytes: int64(1000 * d), Backups: 3, Tables: []volume.TableSample{
			{Schema: "public", Name: "persons", Rows: persons, DataBytes: 100 * persons, IndexBytes: 20 * persons},
			{Schema: "public", Name: "log", Rows: log, RowsEstimated: true, DataBytes: 50 * log},
		}}
		if !at.Before(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) {
			s.Tables = append(s.Tables, volume.TableSample{Schema: "public", Name: "new", Rows: 7, DataBytes: 8192})
		}
		put(s)
	}
	qstart := time.Date(2026, 10, 20, 1, 0, 0, 0, time.UTC)
	for d := 0; d <= 41; d++ {
		jobs := int64(10 * d)
		put(volume.Sample{Database: "queue", Engine: "postgres", TakenAt: qstart.AddDate(0, 0, d), Tables: []volume.TableSample{
			{Schema: "public", Name: "jobs", Rows: jobs, DataBytes: 10 * jobs}}})
	}
	// A sample after the month, which the report must not read.
	put(volume.Sample{Database: "rating", TakenAt: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC), Tables: []volume.TableSample{{Schema: "public", Name: "persons", Rows: 1}}})
	return cat
}

func TestMonthlyReport(t *testing.T) {
	cat := synthetic(t)
	samples, err := volume.Load(context.Background(), cat, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(samples["rating"]); n != 395 {
		t.Fatalf("%d rating samples, want 395", n)
	}
	r := volume.Build(samples, volume.Options{
		Month: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), Lang: i18n.EN, Databases: []string{"queue", "rating", "archive"},
		Registered: []volume.Registered{{Label: "自然人库", Database: "rating", Table: "public.persons"}, {Label: "法人库", Database: "rating", Table: "public.companies"}},
	})
	if r.Month != "2026-11" {
		t.Errorf("month %s", r.Month)
	}
	g := func(rows, bytes int64, since string) *volume.Growth {
		s, _ := time.Parse("2006-01-02 15:04", since)
		return &volume.Growth{Since: s, Rows: rows, Bytes: bytes}
	}
	eqGrowth := func(what string, got, want *volume.Growth) {
		t.Helper()
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("%s growth %+v, want %+v", what, got, want)
		}
	}

	// The register, first: persons at day 394 (4940 rows, 120 bytes a row),
	// against day 363 (2026-10-30, as 10-31 is missing) and day 29
	// (2025-11-30).
	if len(r.Register) != 2 {
		t.Fatalf("register %+v", r.Register)
	}
	p := r.Register[0]
	if !p.Found || p.At.Rows != 4940 || p.At.Bytes != 592800 || p.At.DataBytes != 494000 || p.At.IndexBytes != 98800 {
		t.Errorf("自然人库 %+v", p)
	}
	eqGrowth("自然人库 month", p.Month, g(310, 37200, "2026-10-30 01:00"))
	eqGrowth("自然人库 year", p.Year, g(3650, 438000, "2025-11-30 01:00"))
	if r.Register[1].Found {
		t.Error("an unknown registered table was found")
	}

	if len(r.Databases) != 2 || r.Databases[0].Database != "queue" || r.Databases[1].Database != "rating" {
		t.Fatalf("databases %+v", r.Databases)
	}
	rating := r.Databases[1]
	if rating.At.Rows != 49347 || rating.At.Bytes != 2820992 || !rating.At.RowsEstimated || rating.StoredBytes != 394000 {
		t.Errorf("rating at month end %+v stored %d", rating.At, rating.StoredBytes)
	}
	if !rating.SampledAt.Equal(time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("rating sampled at %s", rating.SampledAt)
	}
	eqGrowth("rating month", rating.Month, g(3417, 200392, "2026-10-30 01:00"))
	eqGrowth("rating year", rating.Year, g(40157, 2271192, "2025-11-30 01:00"))
	if h := rating.History; h.Samples != 394 || h.Days != 395 {
		t.Errorf("rating history %+v", h)
	}

	queue := r.Databases[0]
	if queue.At.Rows != 410 || queue.At.Bytes != 4100 {
		t.Errorf("queue %+v", queue.At)
	}
	eqGrowth("queue month", queue.Month, g(300, 3000, "2026-10-31 01:00"))
	eqGrowth("queue year", queue.Year, nil)

	var largest, fastest []string
	for _, l := range r.Largest {
		largest = append(largest, l.Name)
	}
	for _, l := range r.Fastest {
		fastest = append(fastest, l.Name)
	}
	if strings.Join(largest, " ") != "log persons new jobs" || strings.Join(fastest, " ") != "log persons new jobs" {
		t.Errorf("largest %q, fastest %q", largest, fastest)
	}
	if f := r.Fastest[2]; f.Month.Rows != 7 || f.Month.Bytes != 8192 {
		t.Errorf("a table new this month grew from nothing: %+v", f.Month)
	}

	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{
		"queue: samples start on 2026-10-20 (42 days, 42 samples), less than 12 months: the 12-month growth needs a sample from before 2025-12-01.",
		"法人库: no sample of table public.companies in rating.",
		"archive: no volume sample yet",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// A month with too little history says so.
	early := volume.Build(samples, volume.Options{Month: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), Lang: i18n.EN})
	if len(early.Databases) != 1 || early.Databases[0].Month != nil || !strings.Contains(strings.Join(early.Notes, "\n"), "rating: samples start on 2025-11-01 (30 days, 30 samples); there is none from the end of last month") {
		t.Errorf("early report: %+v", early.Notes)
	}

	t.Run("renderings", func(t *testing.T) {
		var text, csvOut, xlsx bytes.Buffer
		if err := volume.WriteText(&text, r, i18n.ZH); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"按月登记数据汇总", "自然人库", "4940", "+310", "+3650"} {
			if !strings.Contains(text.String(), s) {
				t.Errorf("text lacks %q:\n%s", s, text.String())
			}
		}
		if err := volume.WriteCSV(&csvOut, r, i18n.EN); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
		if len(lines) != 1+2+4 || lines[1] != "自然人库,rating,public.persons,4940,,494000,98800,592800,310,37200,3650,438000" {
			t.Errorf("csv:\n%s", csvOut.String())
		}
		if err := volume.WriteXLSX(&xlsx, r, i18n.ZH); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&xlsx)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if v, _ := f.GetCellValue("各表明细", "D2"); v != "4940" {
			t.Errorf("D2 = %q", v)
		}
		if typ, _ := f.GetCellType("各表明细", "D2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("rows are not a number cell: %v", typ)
		}
	})
}
