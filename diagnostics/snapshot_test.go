package diagnostics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/chromiumtest"
)

// TestOlderSnapshot: a snapshot that lacks areas this build collects
// (written by an earlier collector) is re-analysed: what it has gives
// findings, what it lacks is "not checked", nothing fails.
func TestOlderSnapshot(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "older-snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := DecodeReport(body)
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(Input{Facts: old.Facts, Lang: i18n.EN})
	want := map[string]string{
		"connections-high": StatusRan, "version-patch": StatusRan, "big-table": StatusRan, "ssl-off": StatusRan,
		"invalid-index": StatusNotChecked, "role-md5": StatusNotChecked, "error-log": StatusNotChecked,
		"anonymous-account": StatusNotApplicable,
	}
	for id, st := range want {
		var got CheckRun
		for _, c := range r.Checks {
			if c.ID == id {
				got = c
			}
		}
		if got.Status != st {
			t.Errorf("%s: %+v, want %s", id, got, st)
		}
	}
	for _, id := range []string{"connections-high", "version-patch", "big-table", "ssl-off"} {
		ok := false
		for _, f := range r.Findings {
			ok = ok || f.Check == id && !f.NotChecked
		}
		if !ok {
			t.Errorf("no %s finding from the older snapshot", id)
		}
	}
	// Bare facts (a collector's output alone) read too.
	facts, _ := json.Marshal(old.Facts)
	if r2, err := DecodeReport(facts); err != nil || r2.Facts.Database != "hall" {
		t.Errorf("bare facts: %v", err)
	}
	// A snapshot of a newer model is refused with a reason.
	newer := strings.Replace(string(body), `"version": 1,
    "engine"`, `"version": 99,
    "engine"`, 1)
	if _, err := DecodeReport([]byte(newer)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("newer model: %v", err)
	}
}

// TestSuppressionAndDeltas: a suppressed finding is still listed, marked;
// an expired suppression no longer applies; counters become deltas.
func TestSuppressionAndDeltas(t *testing.T) {
	at := time.Date(2026, 6, 2, 2, 0, 0, 0, time.UTC)
	start := at.Add(-48 * time.Hour)
	mk := func(t time.Time, deadlocks int64) *diagmodel.Facts {
		size := 1000 + deadlocks*100
		return &diagmodel.Facts{Version: 1, Engine: "postgres", Database: "hall", Level: "daily", CollectedAt: t,
			Areas: []string{"counters", "server", "size"}, DatabaseBytes: &size,
			Server:   &diagmodel.Server{Version: "15.20", StartedAt: start},
			Counters: map[string]int64{"deadlocks": deadlocks}}
	}
	prev, cur := mk(at.Add(-24*time.Hour), 3), mk(at, 5)
	for _, tc := range []struct {
		until      time.Time
		suppressed bool
	}{{at.Add(time.Hour), true}, {at.Add(-time.Hour), false}} {
		r := Analyze(Input{Facts: cur, Prev: prev, Suppressions: []Suppression{{Database: "hall", Check: "deadlocks", Reason: "known batch job", Until: tc.until}}})
		if r.Deltas == nil || r.Deltas.Counters["deadlocks"] != 2 {
			t.Fatalf("deltas %+v", r.Deltas)
		}
		if r.Size == nil || r.Size.Bytes != 1500 || r.Size.Growth == nil || *r.Size.Growth != 200 || !r.Size.Since.Equal(prev.CollectedAt) {
			t.Errorf("size %+v", r.Size)
		}
		var f *Finding
		for i := range r.Findings {
			if r.Findings[i].Check == "deadlocks" {
				f = &r.Findings[i]
			}
		}
		if f == nil || f.Suppressed != tc.suppressed || (tc.suppressed && f.SuppressedReason != "known batch job") {
			t.Errorf("until %v: %+v", tc.until, f)
		}
		if got := len(r.Problems(50)); got != map[bool]int{true: 0, false: 1}[tc.suppressed] {
			t.Errorf("until %v: %d problems", tc.until, got)
		}
	}
}

// TestHTMLInChromium: the page of a report with every kind of finding, in
// both languages, loads without console errors and lays out cleanly at
// desktop and phone widths.
func TestHTMLInChromium(t *testing.T) {
	chromiumtest.Path(t)
	body, err := os.ReadFile(filepath.Join("testdata", "older-snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := DecodeReport(body)
	f := old.Facts
	f.Log = &diagmodel.Log{File: "postgresql-Mon.log", Counts: map[string]int{"ERROR": 3},
		Samples: []diagmodel.LogEntry{{Severity: "ERROR", Text: "2026-06-01 01:00:00 UTC [123] ERROR:  division by zero"}}}
	size := int64(70e9)
	f.DatabaseBytes = &size
	f.Areas = append(f.Areas, "log", "size")
	var sizes []Point
	for i := 0; i < 30; i++ {
		sizes = append(sizes, Point{At: f.CollectedAt.AddDate(0, 0, i-30), Value: float64(40e9 + int64(i)*1e9)})
	}
	dir := t.TempDir()
	for _, lang := range i18n.Langs() {
		r := Analyze(Input{Facts: f, Lang: lang, Sizes: sizes, Capacity: 100e9,
			Suppressions: []Suppression{{Check: "ssl-off", Reason: "internal network only"}}})
		var b bytes.Buffer
		if err := WriteHTML(&b, r, lang, time.UTC); err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, string(lang))
		_, stderr := chromiumtest.DumpDOM(t, base, b.Bytes(), 1000)
		if bytes.Contains(stderr, []byte("CONSOLE")) || bytes.Contains(stderr, []byte("Uncaught")) {
			t.Errorf("%s: console errors:\n%s", lang, stderr)
		}
		for _, width := range []int{1000, 390} {
			for _, p := range chromiumtest.MeasureLayout(t, fmt.Sprintf("%s-%d", base, width), b.Bytes(), width, 20) {
				t.Errorf("%s %dpx: %s", lang, width, p)
			}
		}
		if !strings.Contains(b.String(), i18n.T(lang, "diagnostics.check.big-table.title", nil)) {
			t.Errorf("%s: the page lacks the check titles", lang)
		}
		if len(r.Forecasts) == 0 || r.Forecasts[0].Status != ForecastDays {
			t.Errorf("forecasts %+v", r.Forecasts)
		}
	}
}

// TestIntervalChecks: the cache hit ratio and temporary files come from
// the counters' deltas; without an earlier snapshot they are not checked.
func TestIntervalChecks(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	start := at.AddDate(0, -2, 0)
	mk := func(t time.Time, hit, read, tempBytes int64) *diagmodel.Facts {
		return &diagmodel.Facts{Version: 1, Engine: "postgres", Database: "hall", Level: "monthly", CollectedAt: t,
			Areas:  []string{"counters", "server"},
			Server: &diagmodel.Server{Version: "15.20", StartedAt: start},
			Counters: map[string]int64{diagmodel.CounterBlocksHit: hit, diagmodel.CounterBlocksRead: read,
				diagmodel.CounterTempBytes: tempBytes, diagmodel.CounterTempFiles: tempBytes >> 20}}
	}
	month := mk(at.AddDate(0, -1, 0), 1e6, 1e5, 0)
	for _, tc := range []struct {
		name       string
		cur        *diagmodel.Facts
		prev       *diagmodel.Facts
		cache, tmp string // "" none, "finding", "not_checked"
	}{
		{"healthy", mk(at, 1e6+99e4, 1e5+1e4, 1<<30), month, "", ""},
		{"cache misses", mk(at, 1e6+5e4, 1e5+5e4, 0), month, "finding", ""},
		{"spills", mk(at, 1e6+99e4, 1e5+1e4, 20<<30), month, "", "finding"},
		{"few reads", mk(at, 1e6+10, 1e5+500, 0), month, "", ""},
		{"first snapshot", mk(at, 1e6, 1e5, 0), nil, "not_checked", "not_checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Analyze(Input{Facts: tc.cur, Prev: tc.prev, Lang: i18n.EN})
			for check, want := range map[string]string{"cache-hit-ratio": tc.cache, "temp-files": tc.tmp} {
				got := ""
				for _, f := range r.Findings {
					if f.Check == check {
						got = map[bool]string{true: "not_checked", false: "finding"}[f.NotChecked]
						if f.NotChecked && !strings.Contains(f.Details, "earlier snapshot") {
							t.Errorf("%s: reason %q", check, f.Details)
						}
					}
				}
				if got != want {
					t.Errorf("%s: %q, want %q (%+v)", check, got, want, r.Findings)
				}
			}
		})
	}
}
