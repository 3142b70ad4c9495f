package volume

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
)

// Registered is a table the policy registers monthly (volume { table }).
type Registered struct {
	Label    string
	Database string
	Table    string // schema.table, or table alone (MySQL, or the only schema)
}

// Options shape a report.
type Options struct {
	// Month is any time in the month reported.
	Month time.Time
	// Location is the time zone months begin and end in (nil: UTC).
	Location   *time.Location
	Registered []Registered
	// Top is how many largest and fastest-growing tables (default 10).
	Top int
	// Lang is the language of the notes (default zh-CN).
	Lang i18n.Lang
	// Databases are the databases expected in the report: one without any
	// sample gets a note saying so.
	Databases []string
}

// Figures are volumes at one time.
type Figures struct {
	Rows          int64 `json:"rows"`
	RowsEstimated bool  `json:"rows_estimated,omitempty"`
	DataBytes     int64 `json:"data_bytes"`
	IndexBytes    int64 `json:"index_bytes"`
	Bytes         int64 `json:"bytes"` // data + index
}

// Growth is the change since the sample taken at Since.
type Growth struct {
	Since time.Time `json:"since"`
	Rows  int64     `json:"rows"`
	Bytes int64     `json:"bytes"`
}

// TableLine is a table at month end.
type TableLine struct {
	Database string  `json:"database"`
	Schema   string  `json:"schema"`
	Name     string  `json:"name"`
	At       Figures `json:"at"`
	Month    *Growth `json:"month,omitempty"`
	Year     *Growth `json:"year,omitempty"`
}

// History is how much sampling a database has.
type History struct {
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Samples int       `json:"samples"`
	Days    int       `json:"days"`
}

// DatabaseLine is a database at month end.
type DatabaseLine struct {
	Database    string      `json:"database"`
	SampledAt   time.Time   `json:"sampled_at"`
	At          Figures     `json:"at"`
	StoredBytes int64       `json:"stored_bytes"`
	Month       *Growth     `json:"month,omitempty"`
	Year        *Growth     `json:"year,omitempty"`
	History     History     `json:"history"`
	Tables      []TableLine `json:"tables"`
}

// RegisterLine is a registered table at month end.
type RegisterLine struct {
	Label    string  `json:"label"`
	Database string  `json:"database"`
	Table    string  `json:"table"`
	Found    bool    `json:"found"`
	At       Figures `json:"at"`
	Month    *Growth `json:"month,omitempty"`
	Year     *Growth `json:"year,omitempty"`
}

// Report is the month's volume report.
type Report struct {
	Month     string         `json:"month"` // YYYY-MM
	From      time.Time      `json:"from"`
	Until     time.Time      `json:"until"`
	Register  []RegisterLine `json:"register"`
	Databases []DatabaseLine `json:"databases"`
	Largest   []TableLine    `json:"largest"`
	Fastest   []TableLine    `json:"fastest"`
	Notes     []string       `json:"notes"`
}

// MonthStart is the first instant of the month of t in loc.
func MonthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// Build makes the report of opts.Month from samples (by database, oldest
// first; samples after the month are ignored).
func Build(samples map[string][]Sample, opts Options) *Report {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	lang := opts.Lang
	if lang == "" {
		lang = i18n.ZH
	}
	top := opts.Top
	if top <= 0 {
		top = 10
	}
	from := MonthStart(opts.Month, loc)
	until := from.AddDate(0, 1, 0)
	yearBase := from.AddDate(0, -11, 0) // the year's growth: since the end of the month before this
	r := &Report{Month: from.Format("2006-01"), From: from, Until: until, Register: []RegisterLine{}, Databases: []DatabaseLine{},
		Largest: []TableLine{}, Fastest: []TableLine{}, Notes: []string{}}

	var names []string
	for name := range samples {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range opts.Databases {
		if len(samples[name]) == 0 {
			r.Notes = append(r.Notes, t(lang, "never", "database", name))
		}
	}
	type picked struct{ end, month, year *Sample }
	pick := map[string]picked{}
	for _, name := range names {
		ss := samples[name]
		p := picked{end: last(ss, until), month: last(ss, from), year: last(ss, yearBase)}
		if p.end != nil && p.end.TakenAt.Before(from) {
			p.end = nil // nothing this month
		}
		pick[name] = p
		if p.end == nil {
			r.Notes = append(r.Notes, t(lang, "no_sample", "database", name, "month", r.Month))
			continue
		}
		h := historyOf(ss, until)
		days := fmt.Sprint(h.Days)
		first := h.First.In(loc).Format("2006-01-02")
		if p.month == nil {
			r.Notes = append(r.Notes, t(lang, "short_month", "database", name, "first", first, "days", days, "samples", fmt.Sprint(h.Samples)))
		}
		if p.year == nil {
			r.Notes = append(r.Notes, t(lang, "short_year", "database", name, "first", first, "days", days, "samples", fmt.Sprint(h.Samples),
				"need", yearBase.Format("2006-01-02")))
		}
		dl := DatabaseLine{Database: name, SampledAt: p.end.TakenAt, At: totals(p.end), StoredBytes: p.end.StoredBytes,
			Month: growth(totals(p.end), p.month), Year: growth(totals(p.end), p.year), History: h, Tables: []TableLine{}}
		for _, ts := range p.end.Tables {
			tl := TableLine{Database: name, Schema: ts.Schema, Name: ts.Name, At: figures(ts),
				Month: tableGrowth(ts, p.month), Year: tableGrowth(ts, p.year)}
			dl.Tables = append(dl.Tables, tl)
		}
		sort.SliceStable(dl.Tables, func(i, j int) bool { return dl.Tables[i].At.Bytes > dl.Tables[j].At.Bytes })
		r.Databases = append(r.Databases, dl)
		r.Largest = append(r.Largest, dl.Tables...)
		for _, tl := range dl.Tables {
			if tl.Month != nil {
				r.Fastest = append(r.Fastest, tl)
			}
		}
	}
	sort.SliceStable(r.Largest, func(i, j int) bool { return r.Largest[i].At.Bytes > r.Largest[j].At.Bytes })
	sort.SliceStable(r.Fastest, func(i, j int) bool {
		a, b := r.Fastest[i].Month, r.Fastest[j].Month
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Rows > b.Rows
	})
	r.Largest = r.Largest[:min(top, len(r.Largest))]
	r.Fastest = r.Fastest[:min(top, len(r.Fastest))]

	for _, reg := range opts.Registered {
		rl := RegisterLine{Label: reg.Label, Database: reg.Database, Table: reg.Table}
		p := pick[reg.Database]
		if p.end != nil {
			if ts, ok := find(p.end, reg.Table); ok {
				rl.Found = true
				rl.At = figures(ts)
				rl.Month, rl.Year = tableGrowth(ts, p.month), tableGrowth(ts, p.year)
			}
		}
		if !rl.Found {
			r.Notes = append(r.Notes, t(lang, "not_found", "label", reg.Label, "database", reg.Database, "table", reg.Table))
		}
		r.Register = append(r.Register, rl)
	}
	return r
}

// last is the newest sample taken before t.
func last(ss []Sample, t time.Time) *Sample {
	var p *Sample
	for i := range ss {
		if ss[i].TakenAt.Before(t) && (p == nil || !ss[i].TakenAt.Before(p.TakenAt)) {
			p = &ss[i]
		}
	}
	return p
}

func historyOf(ss []Sample, until time.Time) History {
	var h History
	for _, s := range ss {
		if !s.TakenAt.Before(until) {
			continue
		}
		if h.Samples == 0 || s.TakenAt.Before(h.First) {
			h.First = s.TakenAt
		}
		if s.TakenAt.After(h.Last) {
			h.Last = s.TakenAt
		}
		h.Samples++
	}
	if h.Samples > 0 {
		h.Days = int(h.Last.Sub(h.First).Hours()/24) + 1
	}
	return h
}

func figures(ts TableSample) Figures {
	return Figures{Rows: ts.Rows, RowsEstimated: ts.RowsEstimated, DataBytes: ts.DataBytes, IndexBytes: ts.IndexBytes, Bytes: ts.DataBytes + ts.IndexBytes}
}

func totals(s *Sample) Figures {
	var f Figures
	for _, ts := range s.Tables {
		f.Rows += ts.Rows
		f.RowsEstimated = f.RowsEstimated || ts.RowsEstimated
		f.DataBytes += ts.DataBytes
		f.IndexBytes += ts.IndexBytes
	}
	f.Bytes = f.DataBytes + f.IndexBytes
	return f
}

func growth(now Figures, base *Sample) *Growth {
	if base == nil {
		return nil
	}
	b := totals(base)
	return &Growth{Since: base.TakenAt, Rows: now.Rows - b.Rows, Bytes: now.Bytes - b.Bytes}
}

// tableGrowth: a table the base sample lacks grew from nothing.
func tableGrowth(ts TableSample, base *Sample) *Growth {
	if base == nil {
		return nil
	}
	g := &Growth{Since: base.TakenAt, Rows: ts.Rows, Bytes: ts.DataBytes + ts.IndexBytes}
	if b, ok := find(base, ts.Schema+"."+ts.Name); ok {
		g.Rows -= b.Rows
		g.Bytes -= b.DataBytes + b.IndexBytes
	}
	return g
}

// find looks a table up by schema.table, or by its name alone when that
// is unambiguous.
func find(s *Sample, name string) (TableSample, bool) {
	var hit []TableSample
	for _, ts := range s.Tables {
		if ts.Schema+"."+ts.Name == name {
			return ts, true
		}
		if ts.Name == name {
			hit = append(hit, ts)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	return TableSample{}, false
}

// qualified is the table's name for reports.
func (tl TableLine) qualified() string {
	if tl.Schema == "" || strings.EqualFold(tl.Schema, tl.Database) {
		return tl.Name
	}
	return tl.Schema + "." + tl.Name
}
