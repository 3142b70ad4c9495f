package report_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/reporttest"
)

// TestConnectionsChart: the monthly report draws each database's daily
// connection peaks against its max_connections (dashed) in the trends, as
// a cid: image like the other charts, titled in the report's language; a
// source without daily peaks gives the figure alone, and the weekly
// summary reads none.
func TestConnectionsChart(t *testing.T) {
	r, state := build(t, report.Monthly, reporttest.Sources(history))
	days := r.Databases[0].ConnDays
	if len(days) != 30 || days[14].Peak != 90 || days[14].Max != 100 || days[0].Day.Day() != 1 {
		t.Fatalf("人口库's daily connection peaks: %+v", days)
	}
	zh := render(t, r, i18n.ZH, false)
	var chart *report.Image
	for i, im := range zh.Images {
		if im.Name == "chart-1-connections.png" {
			chart = &zh.Images[i]
		}
	}
	if chart == nil {
		t.Fatal("no chart-1-connections.png among the charts")
	}
	title := "人口库：每日连接数峰值与 max_connections"
	if chart.Alt != title || !strings.Contains(zh.HTML, `src="cid:connections-1@dbopsd"`) || !strings.Contains(zh.HTML, title) ||
		!strings.Contains(zh.Text, "["+title+": chart-1-connections.png]") {
		t.Errorf("the connections chart is not in the report as %q (alt %q)", title, chart.Alt)
	}
	img, err := png.Decode(bytes.NewReader(chart.PNG))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2*report.ChartWidth || h != 2*report.ChartHeight {
		t.Errorf("the chart is %dx%d, want %dx%d", w, h, 2*report.ChartWidth, 2*report.ChartHeight)
	}
	// Both lines are drawn: the peaks in the first colour, the limit in
	// the second.
	for name, c := range map[string]color.RGBA{"peaks": {0x1f, 0x5f, 0xa8, 0xff}, "max_connections": {0xd9, 0x6c, 0x1e, 0xff}} {
		if n := pixels(img, c); n < 200 {
			t.Errorf("the %s line has %d pixels of its colour", name, n)
		}
	}
	if en := render(t, r, i18n.EN, false); !strings.Contains(en.HTML, "人口库: connections per day against max_connections") {
		t.Error("the en report has no English connections chart title")
	}

	// The peak alone (a source without daily peaks): the figure, no chart.
	peakOnly := reporttest.Sources(history)
	peakOnly.Connections = struct{ report.ConnectionsSource }{peakOnly.Connections}
	plain := render(t, buildFrom(t, state, report.Monthly, peakOnly), i18n.ZH, false)
	for _, im := range plain.Images {
		if strings.HasSuffix(im.Name, "-connections.png") {
			t.Errorf("%s drawn without daily peaks", im.Name)
		}
	}
	if !strings.Contains(plain.Text, "连接数峰值") {
		t.Error("the connection peak figure is gone")
	}
	if w := buildFrom(t, state, report.Weekly, reporttest.Sources(history)); w.Databases[0].ConnDays != nil {
		t.Errorf("the weekly summary read daily connection peaks: %+v", w.Databases[0].ConnDays)
	}
}

// pixels counts img's pixels of colour c.
func pixels(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

// TestConnectionsChartOneDay: with a single inspected day (a new
// database, or the demo) max_connections is still drawn, as a step across
// that day, not as a lone point no one sees.
func TestConnectionsChartOneDay(t *testing.T) {
	r, _ := build(t, report.Monthly, reporttest.Sources(history))
	r.Databases[0].ConnDays = r.Databases[0].ConnDays[14:15]
	zh := render(t, r, i18n.ZH, false)
	for _, im := range zh.Images {
		if im.Name != "chart-1-connections.png" {
			continue
		}
		img, err := png.Decode(bytes.NewReader(im.PNG))
		if err != nil {
			t.Fatal(err)
		}
		if n := pixels(img, color.RGBA{0xd9, 0x6c, 0x1e, 0xff}); n < 200 {
			t.Errorf("max_connections over one day has %d pixels of its colour", n)
		}
		return
	}
	t.Fatal("no chart-1-connections.png among the charts")
}
