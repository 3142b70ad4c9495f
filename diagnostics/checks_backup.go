package diagnostics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

// The backup trends: the forecast machinery of the space forecasts
// (Theil–Sen over 30 and 90 days, the same honesty rules) run over
// dbopsd's own backups of the database, each backup type apart (a full
// and a differential of the same database differ by an order of
// magnitude): how long they take, against the policy's backup window or
// the backup_duration threshold, and what they store, as growth (dbopsd
// does not know the repository's capacity).

// Series of the backup trends (Forecast.Series).
const (
	SeriesBackupDuration = "backup_duration"
	SeriesBackupStored   = "backup_stored"
)

// backupHistoryDays is how far back the backup trends look: monthly fulls
// reach the 14 samples a forecast needs in about fourteen months.
const backupHistoryDays = 450

// backupTypes are the types the trends fit, each its own series.
var backupTypes = []string{"full", "differential"}

// backupHistory is the successful backups finished since since, oldest
// first, as the facts keep them.
func backupHistory(backups []catalog.Backup, since time.Time) []diagmodel.BackupSample {
	var out []diagmodel.BackupSample
	for _, b := range backups {
		if b.Status != "ok" || b.FinishedAt.Before(since) || !slices.Contains(backupTypes, b.Type) {
			continue
		}
		out = append(out, diagmodel.BackupSample{At: b.FinishedAt.UTC(), Type: b.Type, Seconds: b.DurationSeconds, StoredBytes: b.StoredBytes})
	}
	slices.SortStableFunc(out, func(a, b diagmodel.BackupSample) int { return a.At.Compare(b.At) })
	return out
}

// windowSeconds is the length of policy p's backup window, 0 for any
// time.
func windowSeconds(p *config.Policy) float64 {
	if p == nil || p.Window.Start == p.Window.End {
		return 0
	}
	d := p.Window.End - p.Window.Start
	if d < 0 {
		d += 24 * time.Hour
	}
	return d.Seconds()
}

// backupForecasts fits the backup trends of a monthly diagnosis: for each
// backup type with samples, its duration against the window (else the
// threshold) and its stored size's growth. No sample at all gives the
// full backups' "insufficient data", so that the page says so.
func backupForecasts(f *diagmodel.Facts, t Thresholds) []Forecast {
	b := f.Backups
	if b == nil || f.Level != diagmodel.Monthly {
		return nil
	}
	limit, source := t.BackupDuration.Seconds(), "threshold"
	if limit <= 0 { // thresholds built without it
		limit = DefaultThresholds().BackupDuration.Seconds()
	}
	if b.WindowSeconds > 0 {
		limit, source = b.WindowSeconds, "window"
	}
	types := backupTypes
	if len(b.History) == 0 {
		types = []string{"full"} // no backup yet: "insufficient data", said once
	}
	var out []Forecast
	for _, typ := range types {
		var dur, stored []Point
		for _, s := range b.History {
			if s.Type == typ {
				dur = append(dur, Point{At: s.At, Value: s.Seconds})
				stored = append(stored, Point{At: s.At, Value: float64(s.StoredBytes)})
			}
		}
		if len(dur) == 0 && len(b.History) > 0 {
			continue // a type this database's policy does not take
		}
		d := Predict(SeriesBackupDuration, dur, limit)
		d.Type, d.LimitSource = typ, source
		g := Growth(SeriesBackupStored, stored)
		g.Type = typ
		out = append(out, d, g)
	}
	return out
}

func checkBackupDurationTrend(a *analysis) {
	for _, fc := range a.backupForecasts {
		if fc.Series != SeriesBackupDuration || !a.due(fc) {
			continue
		}
		finding, details := "finding", "details" // within the horizon; against the window
		if fc.Status == ForecastReached {
			finding = "finding_reached"
		}
		if fc.LimitSource != "window" {
			details = "details_threshold"
		}
		a.addAs(a.check.Priority, finding, details, a.f.Database+" "+fc.Type,
			"type", fc.Type, "limit", secs(fc.Limit), "min", fmt.Sprintf("%.0f", fc.DaysMin), "max", fmt.Sprintf("%.0f", fc.DaysMax),
			"per_month", secs(math.Round(fc.SlopePerDay[0]*30)), "points", strconv.Itoa(fc.Points), "step", stepText(fc))
	}
}

func checkBackupSizeTrend(a *analysis) {
	for _, fc := range a.backupForecasts {
		if fc.Series != SeriesBackupStored || fc.Status != ForecastGrowth {
			continue
		}
		a.add(a.f.Database+" "+fc.Type, "type", fc.Type,
			"slope", bytesText(int64(fc.SlopePerDay[0])), "slope90", bytesText(int64(fc.SlopePerDay[1])),
			"points", strconv.Itoa(fc.Points), "step", stepText(fc))
	}
}

func stepText(fc Forecast) string {
	if fc.StepAt.IsZero() {
		return "-"
	}
	return fc.StepAt.Format(time.DateOnly)
}

// BackupForecastText says a backup trend in a sentence, with the honesty
// rules of ForecastText.
func BackupForecastText(fc Forecast, lang i18n.Lang) string {
	kind := "duration"
	if fc.Series == SeriesBackupStored {
		kind = "stored"
	}
	p := i18n.Params{"type": i18n.T(lang, "diagnostics.backup_type."+fc.Type, nil),
		"points": strconv.Itoa(fc.Points), "min": strconv.FormatFloat(fc.DaysMin, 'f', 0, 64),
		"max": strconv.FormatFloat(fc.DaysMax, 'f', 0, 64), "cap": strconv.FormatFloat(fc.CapDays, 'f', 0, 64),
		"limit": secs(fc.Limit), "limit_source": i18n.T(lang, "diagnostics.backup_limit."+fc.LimitSource, nil),
		"slope": humanize.Bytes(int64(fc.SlopePerDay[0]))}
	s := i18n.T(lang, "diagnostics.backup_forecast."+kind+"."+fc.Status, p)
	if !fc.StepAt.IsZero() {
		s += i18n.T(lang, "diagnostics.forecast.step", i18n.Params{"step": fc.StepAt.Format(time.DateOnly)})
	}
	return s
}
