package diagnostics

import (
	"slices"
	"sort"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

// Input is what Analyze works from.
type Input struct {
	Facts *diagmodel.Facts
	// Prev is the previous snapshot of the same database, for deltas; nil
	// for none.
	Prev *diagmodel.Facts
	// Sizes are earlier samples of the database's size (and Volumes of its
	// volume's used bytes), for the forecasts; Facts' own sample is added.
	Sizes   []Point
	Volumes []Point
	// Capacity is the policy's capacity of the volume, bytes; 0 for none.
	Capacity     int64
	Thresholds   Thresholds
	Suppressions []Suppression
	Lang         i18n.Lang
	// Now is the time backup ages and suppression expiries are measured
	// at; zero means the facts' collection time.
	Now time.Time
	// PrevTables is the previous snapshot with table statistics (the
	// previous monthly diagnosis), for table-unread; nil takes Prev when
	// it has them. Connections are the connection counts of earlier
	// snapshots, for session-peak.
	PrevTables  *diagmodel.Facts
	Connections []ConnectionSample
}

type analysis struct {
	f         *diagmodel.Facts
	t         Thresholds
	deltas    *Deltas
	forecasts []Forecast
	// backupForecasts are the backup trends (checks_backup.go).
	backupForecasts []Forecast
	now             time.Time
	lang            i18n.Lang

	check    Check
	findings []Finding
	skip     *diagmodel.Unavailable // set by notChecked

	// prevTables is the previous snapshot with table statistics;
	// connections the month's connection samples.
	prevTables  *diagmodel.Facts
	connections []ConnectionSample
}

// Analyze turns facts into a report: every check of the facts' level runs,
// is not applicable to the engine, or is "not checked" with the reason.
func Analyze(in Input) *Report {
	f := in.Facts
	lang := in.Lang
	if lang == "" {
		lang = i18n.Default
	}
	now := in.Now
	if now.IsZero() {
		now = f.CollectedAt
	}
	t := in.Thresholds
	if t == (Thresholds{}) {
		t = DefaultThresholds()
	}
	a := &analysis{f: f, t: t, deltas: ComputeDeltas(in.Prev, f), now: now, lang: lang}
	a.forecasts = forecasts(in, f)
	a.backupForecasts = backupForecasts(f, t) // checks_backup.go
	a.prevTables, a.connections = in.PrevTables, in.Connections
	if a.prevTables == nil && in.Prev != nil && in.Prev.Has(diagmodel.AreaTables) {
		a.prevTables = in.Prev
	}
	r := &Report{Version: ReportVersion, Database: f.Database, Engine: f.Engine, Level: f.Level, At: f.CollectedAt,
		Lang: lang, Facts: f, Deltas: a.deltas, Forecasts: a.forecasts, BackupForecasts: a.backupForecasts}
	if f.DatabaseBytes != nil {
		r.Size = &Size{Bytes: *f.DatabaseBytes}
		if p := in.Prev; p != nil && p.DatabaseBytes != nil && p.CollectedAt.Before(f.CollectedAt) {
			g := *f.DatabaseBytes - *p.DatabaseBytes
			r.Size.Growth, r.Size.Since = &g, p.CollectedAt
		}
	}
	for _, c := range Checks() {
		if c.Level == diagmodel.Monthly && f.Level != diagmodel.Monthly {
			continue
		}
		run := CheckRun{ID: c.ID}
		switch {
		case c.Engines != nil && !slices.Contains(c.Engines, f.Engine):
			run.Status = StatusNotApplicable
		case c.ID == "unreachable":
			run.Status = StatusRan
			if f.Unreachable != "" {
				a.check = c
				a.add(f.Database, "error", f.Unreachable)
			}
		case f.Unreachable != "":
			run.Status, run.Reason = StatusNotChecked, "unreachable: "+f.Unreachable
		case c.Area != "" && !f.Has(c.Area):
			u := unavailable(f, c.Area)
			run.Status, run.Reason = StatusNotChecked, u.Reason
			a.check = c
			a.addNotChecked(u)
		default:
			a.check, a.skip = c, nil
			c.run(a)
			run.Status = StatusRan
			if a.skip != nil {
				run.Status, run.Reason = StatusNotChecked, a.skip.Reason
				a.addNotChecked(*a.skip)
			}
		}
		switch run.Status {
		case StatusRan:
			r.Ran++
		case StatusNotChecked:
			r.NotChecked++
		}
		r.Checks = append(r.Checks, run)
	}
	for i := range a.findings {
		fd := &a.findings[i]
		for _, s := range in.Suppressions {
			if !fd.NotChecked && s.matches(f.Database, *fd, now) {
				fd.Suppressed, fd.SuppressedReason = true, s.Reason
			}
		}
	}
	sort.SliceStable(a.findings, func(i, j int) bool { return a.findings[i].Priority < a.findings[j].Priority })
	r.Findings = a.findings
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return r
}

// add adds a finding of the check's priority worded by its plain
// sentences.
func (a *analysis) add(object string, nameValues ...string) {
	a.addVariant(a.check.Priority, "", object, nameValues...)
}

// addVariant adds a finding worded by the check's variant sentences
// (finding_<variant>, details_<variant>), "" for the plain ones.
func (a *analysis) addVariant(prio int, variant, object string, nameValues ...string) {
	if variant == "" {
		a.addAs(prio, "finding", "details", object, nameValues...)
		return
	}
	a.addAs(prio, "finding_"+variant, "details_"+variant, object, nameValues...)
}

// addAs is addVariant with the sentences named: finding and details are
// keys under the check's (".finding", ".details", or a variant with its
// own parameters for another case of the same check, e.g. a measured
// figure beside an estimated one).
func (a *analysis) addAs(prio int, finding, details, object string, nameValues ...string) {
	key := "diagnostics.check." + a.check.ID
	msg := i18n.M(key+"."+finding, append([]string{"object", object}, nameValues...)...)
	det := i18n.M(key+"."+details, append([]string{"object", object}, nameValues...)...)
	a.findings = append(a.findings, Finding{
		Check: a.check.ID, Priority: prio, Group: a.check.Group, Object: object,
		Message: msg, DetailsMessage: det, Link: Link(a.check.ID),
		Finding: msg.Text(a.lang), Details: det.Text(a.lang),
		Recommendation: i18n.T(a.lang, key+".todo", nil),
	})
}

// notChecked, called by a check, says it could not run after all: reason
// in English, key and its parameters the catalog's sentence.
func (a *analysis) notChecked(reason, key string, nameValues ...string) {
	u := diagmodel.Unavailable{Reason: reason, Key: key, Params: i18n.M(key, nameValues...).Params}
	a.skip = &u
}

// interval is the deltas since the previous snapshot when the server has
// not restarted since; without them the check is "not checked" and
// interval returns nil.
func (a *analysis) interval() *Deltas {
	if d := a.deltas; d != nil && !d.Restarted {
		return d
	}
	a.noInterval()
	return nil
}

func (a *analysis) noInterval() {
	a.notChecked("no earlier snapshot in this server lifetime to measure the interval against", "diagnostics.reason.no_interval")
}

// unavailable is why area is missing from f.
func unavailable(f *diagmodel.Facts, area string) diagmodel.Unavailable {
	for _, u := range f.Unavailable {
		if u.Area == area {
			return u
		}
	}
	if area == diagmodel.AreaBackups {
		return diagmodel.Unavailable{Area: area, Reason: "this run was not given dbopsd's catalog", Key: "diagnostics.reason.no_catalog"}
	}
	return diagmodel.Unavailable{Area: area, Reason: "not collected by the " + f.Engine + " collector of the version that took this snapshot",
		Key: "diagnostics.reason.older", Params: map[string]string{"engine": f.Engine}}
}

func (a *analysis) addNotChecked(u diagmodel.Unavailable) {
	title := i18n.M("diagnostics.check." + a.check.ID + ".title")
	msg := i18n.M("diagnostics.not_checked", "check", title.Text(a.lang))
	det := i18n.M("diagnostics.not_checked_details", "reason", u.Reason)
	if u.Key != "" {
		if _, ok := i18n.Lookup(a.lang, u.Key); ok {
			// The reason as the catalog's sentence renders in any language
			// later; the server's own words stay as they were.
			det = i18n.Message{Key: u.Key, Params: u.Params}
		}
	}
	a.findings = append(a.findings, Finding{
		Check: a.check.ID, Priority: 200, Group: a.check.Group, Object: "",
		Message: msg, DetailsMessage: det, Link: Link(a.check.ID), NotChecked: true,
		Finding: msg.Text(a.lang), Details: det.Text(a.lang),
		Recommendation: i18n.T(a.lang, "diagnostics.not_checked_todo", nil),
	})
}

// forecasts are the space forecasts: the volume's used bytes against 85 %
// and 90 % of its total (statfs) or of the policy's capacity, else the
// database's size against the policy's capacity; nothing without either.
func forecasts(in Input, f *diagmodel.Facts) []Forecast {
	var out []Forecast
	limits := func(series string, pts []Point, total float64) {
		for _, pct := range []float64{85, 90} {
			fc := Predict(series, pts, total*pct/100)
			fc.LimitPct = pct
			out = append(out, fc)
		}
	}
	switch {
	case f.Volume != nil && f.Volume.TotalBytes > 0:
		pts := append(slices.Clone(in.Volumes), Point{At: f.CollectedAt, Value: float64(f.Volume.UsedBytes)})
		limits("volume", pts, float64(f.Volume.TotalBytes))
	case in.Capacity > 0 && f.DatabaseBytes != nil:
		pts := append(slices.Clone(in.Sizes), Point{At: f.CollectedAt, Value: float64(*f.DatabaseBytes)})
		limits("database", pts, float64(in.Capacity))
	}
	return out
}
