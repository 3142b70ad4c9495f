package report_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/chartfont"
	"github.com/dbopsd/dbopsd/report/reporttest"
)

// BenchmarkMonthly7 builds and renders the monthly report of seven
// databases with a year of history (issue #13: under 5 s, peak RSS under
// 150 MB). It fails when a report takes longer or the process's peak RSS,
// font and catalog included, passes the limit. make bench runs it.
func BenchmarkMonthly7(b *testing.B) {
	h := reporttest.History{Databases: []string{"人口库", "法人库", "orders", "gis", "rating", "queue", "datahub"}, Months: 13,
		Last: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), Seed: 9}
	state := b.TempDir()
	reporttest.Generate(b, state, h)
	cat, err := catalog.Open(state)
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	from, to, label, _ := report.MonthPeriod("2026-11", time.Time{}, shanghai)
	in := report.Input{Kind: report.Monthly, Site: "市大数据中心", From: from, To: to, Label: label, Databases: dbs(h.Databases),
		Catalog: cat, RegisterPath: filepath.Join(state, register.FileName), Sources: reporttest.Sources(h)}
	b.ResetTimer()
	var slowest time.Duration
	for range b.N {
		start := time.Now()
		fonts, err := chartfont.Load("")
		if err != nil {
			b.Fatal(err)
		}
		r, err := report.Build(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		x, err := report.Render(r, report.Options{Lang: i18n.ZH, Loc: shanghai, Fonts: fonts})
		if err != nil {
			b.Fatal(err)
		}
		// Four a database: size, backup duration, stored size, connections.
		if len(x.Images) != 4*len(h.Databases) {
			b.Fatalf("%d charts", len(x.Images))
		}
		slowest = max(slowest, time.Since(start))
	}
	b.StopTimer()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	rss := float64(ru.Maxrss) / 1024 // KiB on Linux
	b.ReportMetric(slowest.Seconds(), "s/report-max")
	b.ReportMetric(rss, "MiB-peak-RSS")
	if slowest > 5*time.Second || rss > 150 {
		b.Fatal(fmt.Sprintf("a monthly report of 7 databases took %v with a peak RSS of %.0f MiB (limits: 5 s, 150 MiB)", slowest, rss))
	}
}
