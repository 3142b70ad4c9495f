package site

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
)

// DiagnosisSource feeds the report from the stored diagnosis snapshots
// (history.KindDiagnosis in the catalog): it is the report's
// FindingsSource, ConnectionsSource and ForecastSource.
//
// A finding is new when the last run of its check before it did not see
// it, and resolved when a later run of its check no longer does. Checks
// are compared with their own previous run, not the previous snapshot:
// a daily inspection does not run the monthly checks, so it neither
// resolves nor re-opens their findings.
type DiagnosisSource struct {
	Catalog *catalog.Catalog
	// Lang renders the findings and the check groups (the weekly rows);
	// a stored sentence this build cannot render is kept as stored.
	Lang i18n.Lang

	// read, when set (diagnosisSources), keeps the snapshots of the
	// period last read: the report asks for a database's findings, its
	// connection peak and its daily peaks (or its inspections) one after
	// the other, and each would read and decode the period's snapshots,
	// facts and all, again.
	read *periodRead
}

// periodRead is the snapshots of database in [from, to) as inPeriod
// returns them.
type periodRead struct {
	mu       sync.Mutex
	database string
	from, to time.Time
	sds      []storedDiagnosis
	found    int
}

var (
	_ report.FindingsSource       = DiagnosisSource{}
	_ report.InspectionsSource    = DiagnosisSource{}
	_ report.ConnectionDaysSource = DiagnosisSource{}
	_ report.ConnectionsSource    = DiagnosisSource{}
	_ report.ForecastSource       = DiagnosisSource{}
)

// diagnosisSources is what ReportJob sets from the diagnoses.
func diagnosisSources(cat *catalog.Catalog, lang i18n.Lang) report.Sources {
	s := DiagnosisSource{Catalog: cat, Lang: lang, read: &periodRead{}}
	return report.Sources{Findings: s, Connections: s, Forecasts: s}
}

// baselineDays is how far before a period the last run of each check is
// looked for: the monthly diagnosis runs once a calendar month.
const baselineDays = 45

// storedDiagnosis is the part of a stored diagnostics.Report the report
// reads: the facts (tables, indexes, settings) are skipped, not decoded.
type storedDiagnosis struct {
	Level    string                 `json:"level"`
	At       time.Time              `json:"at"`
	Checks   []diagnostics.CheckRun `json:"checks"`
	Findings []diagnostics.Finding  `json:"findings"`
	// Forecasts are the space forecasts the diagnosis made.
	Forecasts []diagnostics.Forecast `json:"forecasts"`
	Facts     *struct {
		Connections *diagmodel.Connections `json:"connections"`
	} `json:"facts"`
	// A snapshot stored by a collector alone is bare facts.
	Connections *diagmodel.Connections `json:"connections"`
}

// inPeriod is the snapshots of database taken in [from, to), oldest
// first, without the damaged ones (dbopsd findings names them; the report
// goes on without them), and how many were stored, damaged or not.
func (s DiagnosisSource) inPeriod(ctx context.Context, database string, from, to time.Time) ([]storedDiagnosis, int, error) {
	if m := s.read; m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.database == database && m.from.Equal(from) && m.to.Equal(to) {
			return m.sds, m.found, nil
		}
	}
	docs, err := s.Catalog.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: database, Since: from, Until: to})
	if err != nil {
		return nil, 0, err
	}
	sds := make([]storedDiagnosis, 0, len(docs))
	for _, d := range docs {
		if sd, err := decodeDiagnosis(d); err == nil {
			sds = append(sds, sd)
		}
	}
	if m := s.read; m != nil {
		m.database, m.from, m.to, m.sds, m.found = database, from, to, sds, len(docs)
	}
	return sds, len(docs), nil
}

func decodeDiagnosis(d catalog.Document) (storedDiagnosis, error) {
	var s storedDiagnosis
	if err := json.Unmarshal(d.Body, &s); err != nil {
		return s, fmt.Errorf("diagnosis %s of %s: %w", d.ID, d.Database, err)
	}
	if s.At.IsZero() {
		s.At = d.TakenAt
	}
	if s.Facts != nil && s.Facts.Connections != nil {
		s.Connections = s.Facts.Connections
	}
	return s, nil
}

// Findings implements report.FindingsSource: every sighting of a finding
// in the snapshots of [from, to), each snapshot's time as Seen, and a
// sighting marked Resolved where a check's run no longer saw what its run
// before did. Checks that could not run are left out. No snapshot in the
// period gives nil: the report then says "not collected".
func (s DiagnosisSource) Findings(ctx context.Context, database string, from, to time.Time) ([]report.Finding, error) {
	sds, found, err := s.inPeriod(ctx, database, from, to)
	if err != nil || found == 0 {
		return nil, err
	}
	open, err := s.baseline(ctx, database, from)
	if err != nil {
		return nil, err
	}
	out := []report.Finding{}
	for _, sd := range sds {
		out = append(out, s.advance(open, sd, database, true)...)
	}
	return out, nil
}

// Inspections implements report.InspectionsSource: each snapshot of
// [from, to) with the groups of the checks that ran, named as finding
// renders them.
func (s DiagnosisSource) Inspections(ctx context.Context, database string, from, to time.Time) ([]report.Inspection, error) {
	sds, _, err := s.inPeriod(ctx, database, from, to)
	if err != nil {
		return nil, err
	}
	var out []report.Inspection
	for _, sd := range sds {
		in := report.Inspection{At: sd.At}
		for _, c := range sd.Checks {
			if c.Status != diagnostics.StatusRan {
				continue
			}
			g := c.ID
			if chk, ok := diagnostics.CheckByID(c.ID); ok && chk.Group != "" {
				g = s.group(chk.Group)
			}
			if !slices.Contains(in.Groups, g) {
				in.Groups = append(in.Groups, g)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// lang is the report's language: Lang, else the default.
func (s DiagnosisSource) lang() i18n.Lang { return cmp.Or(s.Lang, i18n.Default) }

// group is check group g's name in the report's language.
func (s DiagnosisSource) group(g string) string {
	return i18n.T(s.lang(), "diagnostics.group."+g, nil)
}

// baseline is what each check last saw before from: the newest snapshot
// before it and, walking back, those down to the newest monthly one.
func (s DiagnosisSource) baseline(ctx context.Context, database string, from time.Time) (map[string]map[string]diagnostics.Finding, error) {
	var before []storedDiagnosis
	err := s.newestFirst(ctx, database, from.AddDate(0, 0, -baselineDays), from, func(sd storedDiagnosis) bool {
		before = append(before, sd)
		return sd.Level != diagmodel.Monthly
	})
	if err != nil {
		return nil, err
	}
	open := map[string]map[string]diagnostics.Finding{}
	for i := len(before) - 1; i >= 0; i-- {
		s.advance(open, before[i], database, false)
	}
	return open, nil
}

// newestFirst calls visit with each diagnosis of database taken in
// [since, until), newest first, until visit returns false. Only the bodies
// visited are read; a damaged one is skipped, as in Findings.
func (s DiagnosisSource) newestFirst(ctx context.Context, database string, since, until time.Time, visit func(storedDiagnosis) bool) error {
	list, err := s.Catalog.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: database,
		Since: since, Until: until, WithoutBody: true})
	if err != nil {
		return err
	}
	for i := len(list) - 1; i >= 0; i-- {
		d, ok, err := s.Catalog.Document(ctx, history.KindDiagnosis, database, list[i].ID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if sd, err := decodeDiagnosis(d); err == nil && !visit(sd) {
			return nil
		}
	}
	return nil
}

// advance applies snapshot sd to open (check → finding key → finding, for
// the checks that ran) and returns its sightings when emit is set.
func (s DiagnosisSource) advance(open map[string]map[string]diagnostics.Finding, sd storedDiagnosis, database string, emit bool) []report.Finding {
	var out []report.Finding
	seen := map[string]map[string]diagnostics.Finding{}
	for _, c := range sd.Checks {
		if c.Status == diagnostics.StatusRan {
			seen[c.ID] = map[string]diagnostics.Finding{}
		}
	}
	for _, f := range sd.Findings {
		if f.NotChecked || seen[f.Check] == nil {
			continue
		}
		seen[f.Check][f.Key()] = f
		if emit {
			_, known := open[f.Check][f.Key()]
			rf := s.finding(database, f, sd.At)
			rf.New = !known
			out = append(out, rf)
		}
	}
	for check, now := range seen {
		for k, f := range open[check] {
			if _, still := now[k]; !still && emit {
				rf := s.finding(database, f, sd.At)
				rf.Resolved, rf.Suppressed = true, false
				out = append(out, rf)
			}
		}
		open[check] = now
	}
	return out
}

func (s DiagnosisSource) finding(database string, f diagnostics.Finding, seen time.Time) report.Finding {
	render := func(m i18n.Message, stored string) string {
		if m.Key != "" {
			if t, ok := m.Render(s.lang()); ok {
				return t
			}
		}
		return stored
	}
	link := f.Link
	if link == "" {
		link = diagnostics.Link(f.Check)
	}
	group := ""
	if f.Group != "" {
		group = s.group(f.Group)
	}
	return report.Finding{Database: database, Check: f.Check, Group: group, Priority: ReportPriority(f.Priority),
		Finding: render(f.Message, f.Finding), Object: f.Object, Details: render(f.DetailsMessage, f.Details),
		Seen: seen, Suppressed: f.Suppressed, Link: link}
}

// ReportPriority is the report's priority of a diagnostics priority
// (1 … 250): urgent up to 20 and high up to 50, as the diagnosis page
// colours them and the daemon alerts them; medium up to 150; low beyond.
func ReportPriority(p int) string {
	switch {
	case p <= 20:
		return report.PriorityUrgent
	case p <= 50:
		return report.PriorityHigh
	case p <= 150:
		return report.PriorityMedium
	}
	return report.PriorityLow
}

// ConnectionPeak implements report.ConnectionsSource: the most connections
// any inspection of [from, to) counted (a sample at each run, not a
// continuous maximum); ok false when none counted them.
func (s DiagnosisSource) ConnectionPeak(ctx context.Context, database string, from, to time.Time) (int, bool, error) {
	sds, _, err := s.inPeriod(ctx, database, from, to)
	if err != nil {
		return 0, false, err
	}
	peak, ok := 0, false
	for _, sd := range sds {
		if c := sd.Connections; c != nil {
			peak, ok = max(peak, c.Total), true
		}
	}
	return peak, ok, nil
}

// ConnectionDays implements report.ConnectionDaysSource: each day of
// [from, to) (in from's time zone) that an inspection counted the
// connections, with the most it counted and the highest max_connections
// it read.
func (s DiagnosisSource) ConnectionDays(ctx context.Context, database string, from, to time.Time) ([]report.ConnectionDay, error) {
	sds, _, err := s.inPeriod(ctx, database, from, to)
	if err != nil {
		return nil, err
	}
	var out []report.ConnectionDay
	for _, sd := range sds {
		if sd.Connections == nil {
			continue
		}
		at := sd.At.In(from.Location())
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, at.Location())
		if n := len(out); n == 0 || !out[n-1].Day.Equal(day) {
			out = append(out, report.ConnectionDay{Day: day})
		}
		c := &out[len(out)-1]
		c.Peak, c.Max = max(c.Peak, sd.Connections.Total), max(c.Max, sd.Connections.Max)
	}
	return out, nil
}

// SpaceForecasts implements report.ForecastSource: the space forecasts of
// the newest diagnosis in the baselineDays before to that made them, each
// with the diagnosis's sentence (its honesty rules: "数据不足", "未见增长趋势",
// "超过 N 天"); nil when none did.
func (s DiagnosisSource) SpaceForecasts(ctx context.Context, database string, to time.Time) ([]report.Forecast, error) {
	var out []report.Forecast
	err := s.newestFirst(ctx, database, to.AddDate(0, 0, -baselineDays), to, func(sd storedDiagnosis) bool {
		if len(sd.Forecasts) == 0 {
			return true
		}
		out = make([]report.Forecast, 0, len(sd.Forecasts))
		for _, fc := range sd.Forecasts {
			out = append(out, report.Forecast{At: sd.At, Series: fc.Series, LimitPct: fc.LimitPct, Status: fc.Status,
				DaysMin: fc.DaysMin, DaysMax: fc.DaysMax, SlopePerDay: fc.SlopePerDay[0], Text: diagnostics.ForecastText(fc, s.lang())})
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
