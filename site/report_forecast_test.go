package site_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/site"
)

// TestReportForecastFromDiagnosis: the space forecast of the newest
// diagnosis that made one reaches the report's model (a later inspection
// without the volume's size does not hide it), with the range of days and
// the 30-day slope; a diagnosis with too little history gives its
// "insufficient data" sentence and no days; a database without diagnoses
// has no forecast.
func TestReportForecastFromDiagnosis(t *testing.T) {
	ctx := context.Background()
	h, cat := newDiagHistory(t)
	const gib = 1 << 30
	save := func(db string, at time.Time, days int, withVolume bool) {
		t.Helper()
		f := &diagmodel.Facts{Version: diagmodel.Version, Engine: "postgres", Database: db, Level: diagmodel.Daily, CollectedAt: at,
			Connections: &diagmodel.Connections{Max: 100, Total: 10}}
		rec := diagmodel.Recorder{F: f}
		rec.Got(diagmodel.AreaConnections)
		in := diagnostics.Input{Facts: f, Thresholds: diagnostics.DefaultThresholds(), Lang: i18n.ZH}
		if withVolume {
			// 0.2 GiB a day, 60 GiB of 100 now: 85 % in 125 days, 90 % in 150.
			f.Volume = &diagmodel.Volume{UsedBytes: 60 * gib, TotalBytes: 100 * gib, Source: "statfs"}
			for d := days; d >= 1; d-- {
				in.Volumes = append(in.Volumes, diagnostics.Point{At: at.AddDate(0, 0, -d), Value: (60 - 0.2*float64(d)) * gib})
			}
		}
		if _, err := h.store.Save(ctx, history.KindDiagnosis, db, at, diagnostics.Analyze(in)); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d int) time.Time { return time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC) }
	save("hall", at(10), 90, true)
	save("hall", at(20), 120, true)
	save("hall", at(25), 0, false)
	save("hall", time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), 5, true) // after the period
	save("quiet", at(20), 5, true)

	src := site.DiagnosisSource{Catalog: cat, Lang: i18n.EN}
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r, err := report.Build(ctx, report.Input{Kind: report.Monthly, From: from, To: to, Label: "2026-11", Catalog: cat,
		Databases: []report.DB{{Name: "hall", Engine: "postgres"}, {Name: "quiet", Engine: "postgres"}, {Name: "none", Engine: "postgres"}},
		Sources:   report.Sources{Findings: src, Connections: src, Forecasts: src}})
	if err != nil {
		t.Fatal(err)
	}
	hall, quiet, none := r.Databases[0].Forecasts, r.Databases[1].Forecasts, r.Databases[2].Forecasts
	if len(hall) != 2 {
		t.Fatalf("hall's forecasts %+v, want 85 %% and 90 %%", hall)
	}
	for i, want := range []struct {
		pct, days float64
	}{{85, 125}, {90, 150}} {
		f := hall[i]
		if !f.At.Equal(at(20)) || f.Series != "volume" || f.LimitPct != want.pct || f.Status != report.ForecastDays ||
			f.DaysMin != want.days || f.DaysMax != want.days {
			t.Errorf("hall's forecast %d: %+v, want %v %% in %v days from the diagnosis of %v", i, f, want.pct, want.days, at(20))
		}
		if d := f.SlopePerDay - 0.2*gib; d < -1e3 || d > 1e3 {
			t.Errorf("hall's slope %v bytes a day, want 0.2 GiB", f.SlopePerDay)
		}
		if !strings.Contains(f.Text, "about 125–125 days") && !strings.Contains(f.Text, "about 150–150 days") {
			t.Errorf("hall's forecast says %q", f.Text)
		}
	}
	if len(quiet) != 2 || quiet[0].Status != "insufficient" || quiet[0].DaysMin != 0 || !strings.Contains(quiet[0].Text, "insufficient data") {
		t.Errorf("quiet's forecasts %+v, want insufficient data", quiet)
	}
	if none != nil {
		t.Errorf("a database without diagnoses has forecasts %+v", none)
	}
}
