package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/reporttest"
)

// TestSpaceForecast: the newest diagnosis's space forecast reaches the
// monthly report: the summary gives the days until 85 % and 90 % full as
// the diagnosis's range, the size chart gets the dashed line, a database
// whose diagnosis made no forecast says why in the diagnosis's words, one
// without any says so, and the footnote names Theil–Sen; the backup
// duration and stored size are charts of their own.
func TestSpaceForecast(t *testing.T) {
	r, state := build(t, report.Monthly, reporttest.Sources(history))
	if f := r.Databases[0].Forecasts; len(f) != 2 || f[0].DaysMin != 400 || f[1].DaysMax != 530 {
		t.Fatalf("人口库's forecasts %+v", f)
	}
	if r.Databases[2].Forecasts != nil {
		t.Errorf("gis has forecasts %+v", r.Databases[2].Forecasts)
	}
	zh := render(t, r, i18n.ZH, false)
	for _, want := range []string{
		"人口库 空间预测：volume 达到 85%：约 400–440 天；volume 达到 90%：约 490–530 天。",
		"无预测线：volume 达到 85%：数据不足（9 个每日样本，至少需要 14 个）",
		"无空间预测",
		"Theil–Sen",
	} {
		if !strings.Contains(zh.HTML, want) || !strings.Contains(zh.Text, want) {
			t.Errorf("the zh-CN report lacks %q", want)
		}
	}
	if !strings.Contains(zh.Text, "orders 空间预测：") {
		t.Errorf("the summary does not say orders' forecast in words")
	}
	en := render(t, r, i18n.EN, false)
	for _, want := range []string{"Space forecast for 人口库:", "No forecast line:", "No space forecast", "Theil–Sen slopes over the last 30 and 90 days"} {
		if !strings.Contains(en.Text, want) {
			t.Errorf("the en report lacks %q", want)
		}
	}
	if w := buildFrom(t, state, report.Weekly, reporttest.Sources(history)); w.Databases[0].Forecasts != nil {
		t.Errorf("the weekly summary read the forecasts: %+v", w.Databases[0].Forecasts)
	}
	names := map[string][]byte{}
	for _, im := range zh.Images {
		names[im.Name] = im.PNG
	}
	for _, n := range []string{"chart-1-size.png", "chart-1-duration.png", "chart-1-stored.png", "chart-3-stored.png"} {
		if names[n] == nil {
			t.Errorf("no %s among the charts", n)
		}
	}

	// Without the forecasts the first size chart has no dashed line; the
	// second's (no forecast made) is the same either way.
	plain := render(t, buildFrom(t, state, report.Monthly, report.Sources{Volume: reporttest.Sources(history).Volume}), i18n.ZH, false)
	for _, im := range plain.Images {
		switch im.Name {
		case "chart-1-size.png":
			if bytes.Equal(im.PNG, names[im.Name]) {
				t.Error("人口库's size chart has no forecast line")
			}
		case "chart-2-size.png":
			if !bytes.Equal(im.PNG, names[im.Name]) {
				t.Error("orders' size chart changed although its diagnosis made no forecast")
			}
		}
	}
}
