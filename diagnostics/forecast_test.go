package diagnostics

import (
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

var day0 = time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)

func series(n int, f func(i int) float64) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{At: day0.AddDate(0, 0, i), Value: f(i)}
	}
	return pts
}

func TestPredict(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		name     string
		pts      []Point
		limit    float64
		status   string
		min, max float64 // expected days range (inclusive bounds), when status is days
		step     bool
	}{
		// 1000 + 10/day for 60 days: at day 59 the value is 1590; 2000 is
		// 41 days away.
		{name: "linear", pts: series(60, func(i int) float64 { return 1000 + 10*float64(i) }), limit: 2000,
			status: ForecastDays, min: 41, max: 41},
		{name: "flat", pts: series(60, func(int) float64 { return 1000 }), limit: 2000, status: ForecastNoGrowth},
		{name: "shrinking", pts: series(60, func(i int) float64 { return 2000 - 5*float64(i) }), limit: 2500, status: ForecastNoGrowth},
		// Noise of ±30 around 10/day: Theil–Sen stays near 41 days.
		{name: "noisy", pts: series(90, func(i int) float64 { return 1000 + 10*float64(i) + (rng.Float64()-0.5)*60 }), limit: 2300,
			status: ForecastDays, min: 35, max: 48},
		{name: "too short", pts: series(10, func(i int) float64 { return 1000 + 10*float64(i) }), limit: 2000, status: ForecastInsufficient},
		// Slow growth that would take far longer than three times the
		// history: capped.
		{name: "capped", pts: series(30, func(i int) float64 { return 1000 + 1*float64(i) }), limit: 100000, status: ForecastCapped},
		// A load of 5000 on day 40, then 10/day: the fit restarts after
		// the step, which leaves 20 points.
		{name: "step up", pts: series(60, func(i int) float64 {
			v := 1000 + 10*float64(i)
			if i >= 40 {
				v += 5000
			}
			return v
		}), limit: 7000, status: ForecastDays, min: 41, max: 41, step: true},
		// A step leaving fewer than 14 points: insufficient, step noted.
		{name: "step then short", pts: series(30, func(i int) float64 {
			if i >= 25 {
				return 9000 + float64(i)
			}
			return 1000 + float64(i)
		}), limit: 20000, status: ForecastInsufficient, step: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Predict("volume", tc.pts, tc.limit)
			if f.Status != tc.status {
				t.Fatalf("status %s, want %s (%+v)", f.Status, tc.status, f)
			}
			if (!f.StepAt.IsZero()) != tc.step {
				t.Errorf("step at %v, want step %v", f.StepAt, tc.step)
			}
			if tc.status == ForecastDays && (f.DaysMin < tc.min || f.DaysMax > tc.max || f.DaysMin > f.DaysMax) {
				t.Errorf("days %v..%v, want within %v..%v", f.DaysMin, f.DaysMax, tc.min, tc.max)
			}
			if tc.status == ForecastCapped && f.CapDays != 3*29 {
				t.Errorf("cap %v days, want %v", f.CapDays, 3*29)
			}
		})
	}
}

// TestDailyKeepsLastOfDay: several samples a day count once.
func TestDailyKeepsLastOfDay(t *testing.T) {
	pts := []Point{{day0, 1}, {day0.Add(time.Hour), 2}, {day0.AddDate(0, 0, 1), 3}}
	d := Daily(pts)
	if len(d) != 2 || d[0].Value != 2 || d[1].Value != 3 {
		t.Fatalf("%+v", d)
	}
}

func TestTheilSenIgnoresOutlier(t *testing.T) {
	pts := series(20, func(i int) float64 { return float64(2 * i) })
	pts[5].Value = 1000
	slope, _ := theilSen(pts, pts[len(pts)-1].At)
	if math.Abs(slope-2) > 0.01 {
		t.Fatalf("slope %v, want 2", slope)
	}
}

// TestVolumeOf: statfs gives a used share of a real volume; the forecast
// then runs against 85 % and 90 % of it.
func TestVolumeOf(t *testing.T) {
	v, err := VolumeOf(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if v.TotalBytes <= 0 || v.UsedBytes < 0 || v.UsedBytes > v.TotalBytes || v.Source != "statfs" {
		t.Fatalf("%+v", v)
	}
	if _, err := VolumeOf("/nonexistent/dbopsd"); err == nil {
		t.Error("no error for a missing path")
	}
}

// TestSpaceForecastFinding: space-forecast reports each limit (85 %, 90 %
// of the volume) reached already or reached within the horizon, and
// nothing for one further off.
func TestSpaceForecastFinding(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name        string
		perDay, now float64 // GiB a day; GiB used at the last sample, of 100
		want        string
	}{
		{"within the horizon", 1, 50, "volume 85%,volume 90%"},
		{"85 % within, 90 % beyond", 0.5, 40, "volume 85%"},
		{"beyond the horizon", 0.1, 50, ""},
		{"reached", 0.1, 95, "volume 85%,volume 90%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pts := series(30, func(i int) float64 { return (tc.now - tc.perDay*float64(30-i)) * gib })
			at := day0.AddDate(0, 0, 30)
			f := &diagmodel.Facts{Version: diagmodel.Version, Engine: "postgres", Database: "db", Level: diagmodel.Daily, CollectedAt: at,
				Areas: []string{diagmodel.AreaSize}, Volume: &diagmodel.Volume{UsedBytes: int64(tc.now * gib), TotalBytes: 100 * gib}}
			r := Analyze(Input{Facts: f, Volumes: pts, Lang: i18n.EN})
			got, nc := findingsOf(r, "space-forecast")
			if nc || strings.Join(got, ",") != tc.want {
				t.Errorf("space-forecast: %q (not checked %v), want %q; forecasts %+v", got, nc, tc.want, r.Forecasts)
			}
		})
	}
}
