package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report/chartfont"
)

// Charts are shown ChartWidth x ChartHeight CSS pixels wide in the mail and
// drawn at twice that, so that text stays sharp on high-density screens
// and when zoomed.
const (
	ChartWidth  = 560
	ChartHeight = 220
	chartScale  = 2
)

// Image is a chart as a PNG, referenced from the HTML as cid:CID.
type Image struct {
	CID    string
	Name   string // file name under --out
	Alt    string
	PNG    []byte
	Width  int // displayed, CSS pixels; the PNG is chartScale times larger
	Height int
}

// Series is one line of a chart.
type Series struct {
	Label  string
	X      []time.Time
	Y      []float64
	Dashed bool
	Color  color.Color
}

// Chart is what DrawChart draws.
type Chart struct {
	Title  string
	YLabel string
	Series []Series
	// Daily labels the days (a month's chart) rather than the months.
	Daily bool
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x5f, 0xa8, 0xff}, color.RGBA{0xd9, 0x6c, 0x1e, 0xff},
	color.RGBA{0x2e, 0x8b, 0x57, 0xff}, color.RGBA{0x8e, 0x44, 0xad, 0xff},
}

// DrawChart draws c as a PNG of (ChartWidth, ChartHeight) x chartScale pixels
// with the font of fonts (chartfont.Load).
func DrawChart(c Chart, fonts *font.Cache) ([]byte, error) {
	p := plot.New()
	h := text.Plain{Fonts: fonts}
	fnt := func(size vg.Length) font.Font {
		return font.Font{Typeface: chartfont.Typeface, Size: size}
	}
	p.Title.Text = c.Title
	p.Title.TextStyle.Handler, p.Title.TextStyle.Font = h, fnt(11)
	p.Y.Label.Text = c.YLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Handler, ax.Label.TextStyle.Font = h, fnt(9)
		ax.Tick.Label.Handler, ax.Tick.Label.Font = h, fnt(8)
	}
	p.Legend.TextStyle.Handler, p.Legend.TextStyle.Font = h, fnt(8)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	p.X.Tick.Marker = monthTicks{}
	if c.Daily {
		p.X.Tick.Marker = dayTicks{}
	}
	p.Add(plotter.NewGrid())
	for i, s := range c.Series {
		xys := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if math.IsNaN(s.Y[j]) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(s.X[j].Unix()), Y: s.Y[j]})
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", c.Title, err)
		}
		col := s.Color
		if col == nil {
			col = palette[i%len(palette)]
		}
		l.Color, l.Width = col, vg.Points(1.5)
		pts.Color, pts.Radius = col, vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			pts.Radius = 0
		}
		p.Add(l, pts)
		if s.Label != "" {
			p.Legend.Add(s.Label, l)
		}
	}
	if p.Y.Min > 0 {
		p.Y.Min = 0
	}
	// Headroom for the legend at the top left: no line runs under it.
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.35
	// 96 CSS pixels per inch, chartScale times over.
	w, hgt := vg.Length(ChartWidth)*vg.Inch/96, vg.Length(ChartHeight)*vg.Inch/96
	cv := vgimg.NewWith(vgimg.UseWH(w, hgt), vgimg.UseDPI(96*chartScale), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if err := png.Encode(&buf, cv.Image()); err != nil {
		return nil, fmt.Errorf("chart %q: encoding PNG: %w", c.Title, err)
	}
	return buf.Bytes(), nil
}

// monthTicks labels the first of each month (every other one past eight).
type monthTicks struct{}

func (monthTicks) Ticks(min, max float64) []plot.Tick {
	start := time.Unix(int64(min), 0).UTC()
	m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	if m.Before(start) {
		m = m.AddDate(0, 1, 0)
	}
	var months []time.Time
	for ; float64(m.Unix()) <= max; m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	step := 1
	if len(months) > 8 {
		step = 2
	}
	var ticks []plot.Tick
	for i, t := range months {
		tk := plot.Tick{Value: float64(t.Unix())}
		if i%step == 0 {
			tk.Label = t.Format("06-01")
		}
		ticks = append(ticks, tk)
	}
	if len(ticks) == 0 { // a span within one month
		return []plot.Tick{{Value: min, Label: start.Format("01-02")}, {Value: max, Label: time.Unix(int64(max), 0).UTC().Format("01-02")}}
	}
	return ticks
}

// dayTicks marks each day of a month's chart at noon, where its point
// is, and labels every fifth from the first.
type dayTicks struct{}

func (dayTicks) Ticks(min, max float64) []plot.Tick {
	start := time.Unix(int64(min), 0).UTC()
	d := time.Date(start.Year(), start.Month(), start.Day(), 12, 0, 0, 0, time.UTC)
	if float64(d.Unix()) < min {
		d = d.AddDate(0, 0, 1)
	}
	var ticks []plot.Tick
	for i := 0; float64(d.Unix()) <= max; i, d = i+1, d.AddDate(0, 0, 1) {
		tk := plot.Tick{Value: float64(d.Unix())}
		if i%5 == 0 {
			tk.Label = d.Format("01-02")
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// connectionsChart draws d's daily connection peaks against its
// max_connections (dashed); nil when none were counted.
func connectionsChart(d Database, idx int, lang i18n.Lang, fonts *font.Cache) (*Image, error) {
	if len(d.ConnDays) == 0 {
		return nil, nil
	}
	t := func(key string) string { return i18n.T(lang, key, i18n.Params{"database": d.Name}) }
	var xs, lx []time.Time
	var peak, limit []float64
	for _, c := range d.ConnDays {
		// A peak is drawn at noon, so that a day's point sits inside its
		// day whatever the time zone; max_connections as a step across the
		// whole day, so that it shows even for a single day.
		day := time.Date(c.Day.Year(), c.Day.Month(), c.Day.Day(), 0, 0, 0, 0, time.UTC)
		xs = append(xs, day.Add(12*time.Hour))
		peak = append(peak, float64(c.Peak))
		lx = append(lx, day, day.Add(24*time.Hour))
		limit = append(limit, nanIfZero(float64(c.Max)), nanIfZero(float64(c.Max)))
	}
	c := Chart{Title: t("report.chart.connections_title"), YLabel: t("report.chart.connections_axis"), Daily: true, Series: []Series{
		{Label: t("report.chart.connections"), X: xs, Y: peak},
		{Label: "max_connections", X: lx, Y: limit, Dashed: true, Color: palette[1]},
	}}
	b, err := DrawChart(c, fonts)
	if err != nil {
		return nil, err
	}
	return &Image{CID: fmt.Sprintf("connections-%d@dbopsd", idx+1), Name: fmt.Sprintf("chart-%d-connections.png", idx+1), Alt: c.Title,
		PNG: b, Width: ChartWidth, Height: ChartHeight}, nil
}

// forecastDays is how far ahead the dashed forecast line runs.
const forecastDays = 90

// forecastLine is the 30-day slope of d's newest diagnosis drawn from the
// last point of (x, y) (MiB) forecastDays ahead; nil when the diagnosis
// made no forecast with growth (its words say why).
func forecastLine(d Database, x []time.Time, y []float64) ([]time.Time, []float64) {
	slope := 0.0
	for _, f := range d.Forecasts {
		if f.Status == ForecastDays || f.Status == ForecastReached {
			slope = max(slope, f.SlopePerDay)
		}
	}
	i := len(y) - 1
	for i >= 0 && math.IsNaN(y[i]) {
		i--
	}
	if slope <= 0 || i < 0 {
		return nil, nil
	}
	end := x[i].AddDate(0, 0, forecastDays)
	return []time.Time{x[i], end}, []float64{y[i], y[i] + slope*forecastDays/(1<<20)}
}

// drawsForecast: d's size chart has a dashed forecast line.
func drawsForecast(d Database) bool {
	x, y := sizeSeries(d)
	fx, _ := forecastLine(d, x, y)
	return fx != nil
}

// forecastTexts joins the diagnosis's forecast sentences with sep.
func forecastTexts(d Database, sep string) string {
	var s []string
	for _, f := range d.Forecasts {
		s = append(s, f.Text)
	}
	return strings.Join(s, sep)
}

// sizeSeries is d's size by month in MiB: the volume register's bytes,
// the better measure, else the largest full's raw size.
func sizeSeries(d Database) ([]time.Time, []float64) {
	var xs []time.Time
	var size []float64
	if len(d.Volume) > 0 {
		for _, v := range d.Volume {
			xs, size = append(xs, v.Month), append(size, nanIfZero(float64(v.Bytes)/(1<<20)))
		}
		return xs, size
	}
	for _, p := range d.History {
		xs, size = append(xs, p.Month), append(size, nanIfZero(float64(p.RawBytes)/(1<<20)))
	}
	return xs, size
}

// chartsOf draws database d's charts: size with the diagnosis's forecast,
// full backup duration (seconds) and stored size (MiB), each on its own
// axis.
func chartsOf(d Database, idx int, lang i18n.Lang, fonts *font.Cache) ([]Image, error) {
	var xb []time.Time
	var dur, stored []float64
	for _, p := range d.History {
		xb = append(xb, p.Month)
		dur = append(dur, nanIfZero(p.AvgSecs))
		stored = append(stored, nanIfZero(float64(p.StoredBytes)/(1<<20)))
	}
	xs, size := sizeSeries(d)
	t := func(key string) string { return i18n.T(lang, key, i18n.Params{"database": d.Name}) }
	sizeLines := []Series{{Label: t("report.chart.size"), X: xs, Y: size}}
	if fx, fy := forecastLine(d, xs, size); fx != nil {
		sizeLines = append(sizeLines, Series{Label: t("report.chart.forecast"), X: fx, Y: fy, Dashed: true, Color: palette[0]})
	}
	charts := []struct {
		id string
		c  Chart
	}{
		{"size", Chart{Title: t("report.chart.size_title"), YLabel: "MiB", Series: sizeLines}},
		{"duration", Chart{Title: t("report.chart.duration_title"), YLabel: t("report.chart.seconds"), Series: []Series{
			{Label: t("report.chart.duration"), X: xb, Y: dur},
		}}},
		{"stored", Chart{Title: t("report.chart.stored_title"), YLabel: "MiB", Series: []Series{
			{Label: t("report.chart.stored"), X: xb, Y: stored, Color: palette[1]},
		}}},
	}
	var out []Image
	for _, c := range charts {
		b, err := DrawChart(c.c, fonts)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("chart-%d-%s.png", idx+1, c.id)
		out = append(out, Image{CID: fmt.Sprintf("%s-%d@dbopsd", c.id, idx+1), Name: name, Alt: c.c.Title, PNG: b, Width: ChartWidth, Height: ChartHeight})
	}
	return out, nil
}

func nanIfZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}
