package diagnostics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/when"
)

// backupRun runs a monthly diagnosis of "db" (no engine: only the catalog
// checks can run) over a catalog holding the backups add records.
func backupRun(t *testing.T, pol *config.Policy, th diagnostics.Thresholds, lang i18n.Lang, add func(func(catalog.Backup))) *diagnostics.Report {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	n := 0
	add(func(b catalog.Backup) {
		n++
		b.ID, b.Database, b.Engine, b.Generation, b.Status = fmt.Sprintf("b%03d", n), "db", "postgres", "g", "ok"
		b.StartedAt = b.FinishedAt.Add(-time.Duration(b.DurationSeconds * float64(time.Second)))
		if err := cat.AddBackup(ctx, b); err != nil {
			t.Fatal(err)
		}
	})
	r, err := diagnostics.Run{EngineName: "postgres", EngineErr: "no engine in this test", Database: "db", Level: diagmodel.Monthly,
		Catalog: cat, Policy: pol, Thresholds: th, Lang: lang}.Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func backupTexts(r *diagnostics.Report, lang i18n.Lang) string {
	var s []string
	for _, fc := range r.BackupForecasts {
		s = append(s, diagnostics.BackupForecastText(fc, lang))
	}
	return strings.Join(s, "\n")
}

// TestBackupTrends: synthetic catalog series. Nightly differentials whose
// duration grows 60 s a day reach a 01:00–03:00 window inside the horizon
// and store 1 MiB a day more each day: both trends are findings. Three
// monthly fulls are too few: "数据不足", no finding. Without a window the
// backup_duration threshold is the limit. Ten differentials are too few
// for either trend; flat durations are "未见增长趋势".
func TestBackupTrends(t *testing.T) {
	now := time.Now().UTC()
	day0 := now.Truncate(24*time.Hour).AddDate(0, 0, -60).Add(2 * time.Hour)
	growing := func(days int) func(func(catalog.Backup)) {
		return func(add func(catalog.Backup)) {
			for i := range 3 {
				add(catalog.Backup{Type: "full", FinishedAt: day0.AddDate(0, 0, 20*i).Add(-time.Hour), DurationSeconds: 3000, StoredBytes: 5 << 30})
			}
			for i := 60 - days; i < 60; i++ {
				add(catalog.Backup{Type: "differential", FinishedAt: day0.AddDate(0, 0, i),
					DurationSeconds: float64(600 + 60*i), StoredBytes: int64(100<<20 + i<<20)})
			}
		}
	}
	window := &config.Policy{Name: "p", Full: "monthly", Differential: "weekly", Window: when.Window{Start: time.Hour, End: 3 * time.Hour}}

	t.Run("growing", func(t *testing.T) {
		r := backupRun(t, window, diagnostics.DefaultThresholds(), i18n.ZH, growing(60))
		texts := backupTexts(r, i18n.ZH)
		t.Logf("forecasts:\n%s", texts)
		d := wantFinding(t, r, "backup-duration-trend", "db differential")
		// 600 + 60·59 = 4140 s on the last day; 7200 s is 51 days on.
		if d.Message.Key != "diagnostics.check.backup-duration-trend.finding" || !strings.Contains(d.Details, "备份窗口") ||
			!strings.Contains(d.Finding, "2h0m0s") || !strings.Contains(d.Finding, "51") {
			t.Errorf("duration finding: %q / %q", d.Finding, d.Details)
		}
		s := wantFinding(t, r, "backup-size-trend", "db differential")
		if !strings.Contains(s.Finding, "1.0 MiB") || !strings.Contains(s.Details, "只报增长") {
			t.Errorf("size finding: %q / %q", s.Finding, s.Details)
		}
		for _, check := range []string{"backup-duration-trend", "backup-size-trend"} {
			if fs := found(r, check, "db full"); len(fs) > 0 {
				t.Errorf("three fulls gave a %s finding: %+v", check, fs)
			}
		}
		for _, want := range []string{"全量备份时长：数据不足（3 个样本", "全量备份存储量：数据不足（3 个样本", "差异备份时长约 51–51 天后超过备份窗口（2h0m0s）",
			"差异备份存储量每天增长约 1.0 MiB（未知备份仓库容量，只报增长）"} {
			if !strings.Contains(texts, want) {
				t.Errorf("forecasts lack %q", want)
			}
		}
		if len(r.Forecasts) != 0 {
			t.Errorf("backup trends leaked into the space forecasts: %+v", r.Forecasts)
		}
		var html strings.Builder
		if err := diagnostics.WriteHTML(&html, r, i18n.ZH, time.UTC); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html.String(), "差异备份时长约 51–51 天") {
			t.Errorf("the page lacks the backup trend")
		}
	})

	t.Run("threshold", func(t *testing.T) {
		th := diagnostics.DefaultThresholds()
		th.BackupDuration = time.Hour // 3600 s: the last differentials already take longer
		noWindow := *window
		noWindow.Window = when.Window{}
		r := backupRun(t, &noWindow, th, i18n.EN, growing(60))
		d := wantFinding(t, r, "backup-duration-trend", "db differential")
		if d.Message.Key != "diagnostics.check.backup-duration-trend.finding_reached" || !strings.Contains(d.Details, "backup_duration threshold") {
			t.Errorf("threshold finding: %q / %q", d.Finding, d.Details)
		}
	})

	t.Run("too short", func(t *testing.T) {
		r := backupRun(t, window, diagnostics.DefaultThresholds(), i18n.ZH, growing(10))
		texts := backupTexts(r, i18n.ZH)
		for _, check := range []string{"backup-duration-trend", "backup-size-trend"} {
			if st := status(r, check); st.Status != diagnostics.StatusRan {
				t.Errorf("%s: %+v", check, st)
			}
			if fs := found(r, check, ""); len(fs) > 0 {
				t.Errorf("ten samples gave a %s finding: %+v", check, fs)
			}
		}
		if !strings.Contains(texts, "差异备份时长：数据不足（10 个样本，至少需要 14 个）") {
			t.Errorf("forecasts:\n%s", texts)
		}
	})

	t.Run("flat and none", func(t *testing.T) {
		r := backupRun(t, window, diagnostics.DefaultThresholds(), i18n.ZH, func(add func(catalog.Backup)) {
			for i := range 30 {
				add(catalog.Backup{Type: "differential", FinishedAt: day0.AddDate(0, 0, i), DurationSeconds: 900, StoredBytes: 100 << 20})
			}
		})
		if texts := backupTexts(r, i18n.ZH); !strings.Contains(texts, "差异备份时长：未见增长趋势") || !strings.Contains(texts, "差异备份存储量：未见增长趋势") {
			t.Errorf("flat: %s", texts)
		}
		r = backupRun(t, window, diagnostics.DefaultThresholds(), i18n.ZH, func(func(catalog.Backup)) {})
		if texts := backupTexts(r, i18n.ZH); !strings.Contains(texts, "全量备份时长：数据不足（0 个样本") {
			t.Errorf("no backups: %s", texts)
		}
	})

	t.Run("daily keeps no history", func(t *testing.T) {
		ctx := context.Background()
		cat, err := catalog.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		if err := cat.AddBackup(ctx, catalog.Backup{ID: "x", Database: "db", Engine: "postgres", Type: "full", Generation: "g",
			StartedAt: now.Add(-2 * time.Hour), FinishedAt: now.Add(-time.Hour), DurationSeconds: 3600, Status: "ok"}); err != nil {
			t.Fatal(err)
		}
		r, err := diagnostics.Run{EngineName: "postgres", Database: "db", Level: diagmodel.Daily, Catalog: cat, Policy: window}.Do(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b := r.Facts.Backups; b == nil || len(b.History) != 0 || b.WindowSeconds != 7200 || len(r.BackupForecasts) != 0 {
			t.Errorf("daily: backups %+v, forecasts %+v", b, r.BackupForecasts)
		}
	})
}
