package diagnostics

import (
	"math"
	"sort"
	"time"
)

// Point is one sample of a series: a volume's used bytes, a database's
// size, a backup's duration.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// Forecast statuses.
const (
	// ForecastInsufficient: fewer than MinPoints daily points (after a
	// step, counted from the step): "数据不足", no forecast.
	ForecastInsufficient = "insufficient"
	// ForecastNoGrowth: the series is flat or shrinking: "未见增长趋势".
	ForecastNoGrowth = "no_growth"
	// ForecastDays: DaysMin..DaysMax days until Limit.
	ForecastDays = "days"
	// ForecastCapped: beyond CapDays (three times the history): "超过 N 天".
	ForecastCapped = "capped"
	// ForecastReached: the limit is reached already.
	ForecastReached = "reached"
	// ForecastGrowth: the series grows and there is no limit to forecast
	// against (Growth): SlopePerDay says how fast.
	ForecastGrowth = "growth"
)

// MinPoints is the fewest daily points a forecast is made from.
const MinPoints = 14

// Forecast is when a growing series reaches Limit, as a range from the
// 30- and 90-day Theil–Sen slopes.
type Forecast struct {
	Series string  `json:"series"` // "volume", "database"; "backup_duration", "backup_stored" (checks_backup.go)
	Limit  float64 `json:"limit"`
	// Type is the backup type of a backup series ("full", "differential");
	// LimitSource says where a backup duration's limit comes from
	// ("window": the policy's backup window; "threshold").
	Type        string `json:"type,omitempty"`
	LimitSource string `json:"limit_source,omitempty"`
	// LimitPct is the limit as a share of capacity (85, 90), 0 when the
	// limit is not a share.
	LimitPct float64 `json:"limit_pct,omitempty"`
	Status   string  `json:"status"`
	Points   int     `json:"points"`
	// SlopePerDay are the 30- and 90-day slopes, units per day (the
	// 90-day one is the 30-day one when the history is shorter).
	SlopePerDay [2]float64 `json:"slope_per_day"`
	DaysMin     float64    `json:"days_min,omitempty"`
	DaysMax     float64    `json:"days_max,omitempty"`
	CapDays     float64    `json:"cap_days,omitempty"`
	// StepAt is where a step change (a load, a purge) was found; the fit
	// starts after it.
	StepAt time.Time `json:"step_at,omitzero"`
}

// Daily keeps the last point of each UTC day, oldest first.
func Daily(points []Point) []Point {
	byDay := map[string]Point{}
	for _, p := range points {
		k := p.At.UTC().Format(time.DateOnly)
		if q, ok := byDay[k]; !ok || !p.At.Before(q.At) {
			byDay[k] = p
		}
	}
	out := make([]Point, 0, len(byDay))
	for _, p := range byDay {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Predict forecasts when the series points (any order, several a day
// allowed) reaches limit.
func Predict(series string, points []Point, limit float64) Forecast {
	f := Forecast{Series: series, Limit: limit}
	pts := Daily(points)
	if i := stepIndex(pts); i > 0 {
		f.StepAt = pts[i].At
		pts = pts[i:]
	}
	f.Points = len(pts)
	if len(pts) < MinPoints {
		f.Status = ForecastInsufficient
		return f
	}
	last := pts[len(pts)-1]
	if last.Value >= limit {
		f.Status = ForecastReached
		return f
	}
	span := last.At.Sub(pts[0].At).Hours() / 24
	f.CapDays = math.Round(3 * span)
	var days []float64
	for k, window := range []float64{30, 90} {
		w := since(pts, last.At.Add(-time.Duration(window*24)*time.Hour))
		if len(w) < MinPoints {
			w = pts[max(len(pts)-MinPoints, 0):]
		}
		slope, intercept := theilSen(w, last.At)
		f.SlopePerDay[k] = slope
		// Growth too small to matter against the level is no growth: a
		// thousandth of the level a year.
		if slope <= math.Abs(last.Value)*1e-3/365 {
			continue
		}
		days = append(days, (limit-intercept)/slope)
	}
	if len(days) == 0 {
		f.Status = ForecastNoGrowth
		return f
	}
	sort.Float64s(days)
	f.DaysMin, f.DaysMax = math.Max(0, math.Round(days[0])), math.Max(0, math.Round(days[len(days)-1]))
	if f.DaysMin > f.CapDays {
		f.Status = ForecastCapped
		return f
	}
	f.DaysMax = math.Min(f.DaysMax, f.CapDays)
	f.Status = ForecastDays
	return f
}

// Growth applies Predict's honesty rules to a series with no limit to
// forecast against: ForecastGrowth with the slopes, or ForecastInsufficient
// or ForecastNoGrowth as Predict would say.
func Growth(series string, points []Point) Forecast {
	f := Predict(series, points, math.Inf(1))
	f.Limit = 0
	if f.Status == ForecastCapped || f.Status == ForecastDays {
		f.Status = ForecastGrowth
		f.DaysMin, f.DaysMax, f.CapDays = 0, 0, 0
	}
	return f
}

func since(pts []Point, from time.Time) []Point {
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].At.Before(from) })
	return pts[i:]
}

// theilSen is the median of pairwise slopes (units per day) and the fitted
// value at t0 (the median of value - slope·x, x in days before t0).
func theilSen(pts []Point, t0 time.Time) (slope, at0 float64) {
	x := func(p Point) float64 { return p.At.Sub(t0).Hours() / 24 }
	var slopes []float64
	for i := range pts {
		for j := i + 1; j < len(pts); j++ {
			if dx := x(pts[j]) - x(pts[i]); dx > 0 {
				slopes = append(slopes, (pts[j].Value-pts[i].Value)/dx)
			}
		}
	}
	slope = median(slopes)
	res := make([]float64, len(pts))
	for i, p := range pts {
		res[i] = p.Value - slope*x(p)
	}
	return slope, median(res)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// stepIndex finds the last step change of the series: a day-to-day change
// more than ten times the median absolute day-to-day change and more than
// 5 % of the level. It returns the index of the first point after the
// step, or 0 for none.
func stepIndex(pts []Point) int {
	if len(pts) < 3 {
		return 0
	}
	diffs := make([]float64, len(pts)-1)
	abs := make([]float64, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		diffs[i-1] = pts[i].Value - pts[i-1].Value
	}
	med := median(diffs)
	for i, d := range diffs {
		abs[i] = math.Abs(d - med)
	}
	mad := median(abs)
	step := 0
	for i, d := range diffs {
		level := math.Max(math.Abs(pts[i].Value), 1)
		if math.Abs(d-med) > 10*math.Max(mad, level*1e-4) && math.Abs(d) > 0.05*level {
			step = i + 1
		}
	}
	return step
}
