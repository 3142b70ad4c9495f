package diagnostics

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

//go:embed report.html.tmpl
var pageTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"t": func(string) string { return "" },
}).Parse(pageTemplate))

// WriteHTML renders r as one self-contained page (inline CSS, no scripts
// or external assets) in lang, re-rendering the stored findings from their
// catalog keys, so a report saved in one language reads in the other.
func WriteHTML(w io.Writer, r *Report, lang i18n.Lang, loc *time.Location) error {
	if lang == "" {
		lang = i18n.Default
	}
	if loc == nil {
		loc = time.Local
	}
	t := func(key string) string { return i18n.T(lang, key, nil) }
	type row struct {
		Class, Group, Finding, Object, Details, Recommendation, Link, Check, Suppressed string
		Priority                                                                        int
	}
	type check struct{ ID, Title, Link, Status, Reason string }
	data := struct {
		Lang, Title, Summary, Generated string
		Findings                        []row
		Forecasts                       []string
		Checks                          []check
	}{Lang: string(lang), Generated: time.Now().In(loc).Format("2006-01-02 15:04:05 MST")}
	data.Title = i18n.T(lang, "diagnostics.html.title", i18n.Params{"database": r.Database})
	data.Summary = i18n.T(lang, "diagnostics.html.summary", i18n.Params{
		"engine": r.Engine, "level": t("diagnostics.level." + r.Level), "at": r.At.In(loc).Format("2006-01-02 15:04:05 MST"),
		"ran": strconv.Itoa(r.Ran), "not_checked": strconv.Itoa(r.NotChecked), "problems": strconv.Itoa(len(r.Problems(250))),
	})
	// Checks that could not run are in the table of checks, with the
	// reason, not among the findings.
	for _, f := range r.Findings {
		if f.NotChecked {
			continue
		}
		rw := row{Priority: f.Priority, Group: t("diagnostics.group." + f.Group), Object: f.Object, Link: f.Link, Check: f.Check,
			Finding: render(f.Message, f.Finding, lang), Details: render(f.DetailsMessage, f.Details, lang),
			Recommendation: t("diagnostics.check." + f.Check + ".todo")}
		switch {
		case f.Suppressed:
			rw.Class = "muted"
		case f.Priority <= 20:
			rw.Class = "p-urgent"
		case f.Priority <= 50:
			rw.Class = "p-high"
		}
		if f.Suppressed {
			rw.Suppressed = i18n.T(lang, "diagnostics.html.suppressed", i18n.Params{"reason": f.SuppressedReason})
		}
		data.Findings = append(data.Findings, rw)
	}
	if s := r.Size; s != nil {
		data.Summary += " · " + SizeText(s, lang, loc)
	}
	for _, fc := range r.Forecasts {
		data.Forecasts = append(data.Forecasts, ForecastText(fc, lang))
	}
	for _, fc := range r.BackupForecasts {
		data.Forecasts = append(data.Forecasts, BackupForecastText(fc, lang))
	}
	for _, c := range r.Checks {
		data.Checks = append(data.Checks, check{ID: c.ID, Title: t("diagnostics.check." + c.ID + ".title"), Link: Link(c.ID),
			Status: t("diagnostics.html.status." + c.Status), Reason: c.Reason})
	}
	tmpl, err := htmlPage.Clone()
	if err != nil {
		return fmt.Errorf("diagnosis page template: %w", err)
	}
	tmpl.Funcs(template.FuncMap{"t": t})
	if err := tmpl.Execute(w, data); err != nil {
		return fmt.Errorf("writing the diagnosis page: %w", err)
	}
	return nil
}

// render is m in lang, or the stored text when this build's catalog
// cannot render m (a key of another version).
func render(m i18n.Message, stored string, lang i18n.Lang) string {
	if s, ok := m.Render(lang); ok {
		return s
	}
	return stored
}

// SizeText says the database's size and its growth since the previous
// snapshot.
func SizeText(s *Size, lang i18n.Lang, loc *time.Location) string {
	if s.Growth == nil {
		return i18n.T(lang, "diagnostics.size", i18n.Params{"size": humanize.Bytes(s.Bytes)})
	}
	g := humanize.Bytes(*s.Growth)
	if *s.Growth >= 0 {
		g = "+" + g
	}
	return i18n.T(lang, "diagnostics.size_growth", i18n.Params{"size": humanize.Bytes(s.Bytes), "growth": g,
		"since": s.Since.In(loc).Format("2006-01-02 15:04")})
}

// ForecastText says a forecast in a sentence, following the honesty
// rules: no days without enough data or growth, capped beyond 3× the
// history, the step noted.
func ForecastText(fc Forecast, lang i18n.Lang) string {
	p := i18n.Params{"series": fc.Series, "pct": strconv.FormatFloat(fc.LimitPct, 'f', 0, 64),
		"points": strconv.Itoa(fc.Points), "min": strconv.FormatFloat(fc.DaysMin, 'f', 0, 64),
		"max": strconv.FormatFloat(fc.DaysMax, 'f', 0, 64), "cap": strconv.FormatFloat(fc.CapDays, 'f', 0, 64)}
	s := i18n.T(lang, "diagnostics.forecast."+fc.Status, p)
	if !fc.StepAt.IsZero() {
		s += i18n.T(lang, "diagnostics.forecast.step", i18n.Params{"step": fc.StepAt.Format(time.DateOnly)})
	}
	return s
}
