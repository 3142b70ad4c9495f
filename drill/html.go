package drill

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

// HTMLOptions tunes WriteHTML.
type HTMLOptions struct {
	Language string         // LangZH (default) or LangEN, as i18n.NormalizeLang accepts it
	Location *time.Location // time zone of the times shown; nil = Local
}

// pageTemplate is the report page (report.html.tmpl); its words come from
// the catalog (messages/), its styles from styles.
//
//go:embed report.html.tmpl
var pageTemplate string

// page is parsed once, when the program starts, so a broken template stops
// it there; WriteHTML clones it and binds the functions that speak the
// page's language (boundFuncs).
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": humanize.Bytes, "rate": rate, "orDash": orDash, "statusColor": statusColor,
}).Funcs(boundFuncs(phrases{lang: i18n.Default, time: time.Time.String})).Parse(pageTemplate))

// WriteHTML renders the report as one self-contained HTML page: inline CSS,
// no scripts, images or other external assets, tables only, so it prints
// well and reads the same in a browser and in a mail client.
func WriteHTML(w io.Writer, r *Report, o HTMLOptions) error {
	lang, err := i18n.NormalizeLang(o.Language)
	if err != nil {
		return err
	}
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	p := phrases{lang: lang, time: func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }}
	tmpl, err := page.Clone()
	if err != nil {
		return fmt.Errorf("drill report template: %w", err)
	}
	tmpl.Funcs(boundFuncs(p))
	data := struct {
		R         *Report
		Lang      string
		S         map[string]template.CSS
		Generated string
	}{R: r, Lang: string(lang), S: styles, Generated: p.time(time.Now())}
	if err := tmpl.Execute(w, data); err != nil {
		return fmt.Errorf("rendering drill report %s: %w", r.ID, err)
	}
	return nil
}

// boundFuncs are the template's functions that speak the page's language
// and show times as p does.
func boundFuncs(p phrases) template.FuncMap {
	return template.FuncMap{
		"t": p.label,
		// tr translates a value of a group ("status", "pass"), falling
		// back to the value itself.
		"tr": p.tr,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return p.time(t)
		},
		"dur": p.duration,
		"join": func(s []string) string {
			if len(s) == 0 {
				return "—"
			}
			return strings.Join(s, p.label("sep.names"))
		},
		"yesno": func(b bool) string {
			if b {
				return p.label("yes")
			}
			return p.label("no")
		},
		"detail":   p.detail,
		"problems": p.problems,
		"warnings": p.warnings,
		"dispositionNote": func(t TargetInfo) string {
			if s, ok := p.text(t.DispositionMessage); ok {
				return s
			}
			return t.DispositionNote
		},
		"restoreSkipped": func(r *engines.RestoreReport) []string { return p.notes(r.Skipped, r.SkippedMessages) },
		"restoreNotes":   func(r *engines.RestoreReport) []string { return p.notes(r.Notes, r.NoteMessages) },
		"integritySkipped": func(r *engines.IntegrityReport) string {
			if s, ok := p.note(r.SkippedMessage); ok {
				return s
			}
			return r.Skipped
		},
	}
}

// duration is d the way the page's language writes it: "1 min 5 s",
// "1 分 5 秒".
func (p phrases) duration(d time.Duration) string {
	var key string
	params := i18n.Params{}
	switch {
	case d <= 0:
		key, params["s"] = "drill.dur.seconds", "0"
	case d < time.Minute:
		prec := 2
		if d >= 10*time.Second {
			prec = 1
		}
		key, params["s"] = "drill.dur.seconds", strconv.FormatFloat(d.Seconds(), 'f', prec, 64)
	case d < time.Hour:
		key = "drill.dur.minutes"
		params["m"] = strconv.Itoa(int(d / time.Minute))
		params["s"] = strconv.Itoa(int(math.Round((d % time.Minute).Seconds())))
	default:
		key = "drill.dur.hours"
		params["h"] = strconv.Itoa(int(d / time.Hour))
		params["m"] = strconv.Itoa(int((d % time.Hour) / time.Minute))
	}
	return i18n.T(p.lang, key, params)
}

func rate(n int64, d time.Duration) string {
	if d <= 0 || n <= 0 {
		return "—"
	}
	return humanize.Bytes(int64(float64(n)/d.Seconds())) + "/s"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func statusColor(s string) template.CSS { return template.CSS(statusColors[s]) }

var statusColors = map[string]string{
	Pass: "color:#1e7b34;", Fail: "color:#b3261e;", Warn: "color:#8a5a00;", Skip: "color:#5f6368;",
}

// styles are repeated inline on the elements, because many mail clients
// drop a <style> block; the block adds only what degrades gracefully.
//
// Table layout is automatic, so a column gets at least its cells'
// narrowest possible width. Chinese may break between any two characters,
// which let a column of short words (结果, 通过) shrink to one character
// per line beside a long detail column: headers and label cells keep a
// word whole (keep-all: Chinese breaks at spaces and punctuation only),
// and a status never breaks. Details and server text still break anywhere,
// so a long path cannot widen the page.
var styles = map[string]template.CSS{
	"body":    `margin:0;padding:0;background:#f4f5f7;color:#1f2328;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:14px;line-height:1.5;`,
	"page":    `max-width:880px;margin:0 auto;background:#ffffff;padding:24px 28px;`,
	"h1":      `font-size:22px;margin:0 0 4px 0;font-weight:600;`,
	"sub":     `color:#57606a;font-size:13px;margin:0 0 16px 0;`,
	"h2":      `font-size:16px;font-weight:600;margin:24px 0 8px 0;padding-bottom:4px;border-bottom:2px solid #d0d7de;`,
	"table":   `width:100%;border-collapse:collapse;margin:0 0 8px 0;`,
	"th":      `text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;font-weight:600;vertical-align:top;word-break:keep-all;`,
	"key":     `text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;font-weight:600;vertical-align:top;width:28%;white-space:nowrap;`,
	"td":      `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;word-break:break-word;`,
	"label":   `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;word-break:keep-all;`,
	"status":  `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;white-space:nowrap;`,
	"num":     `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:right;white-space:nowrap;`,
	"mono":    `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;word-break:break-all;`,
	"pass":    `background:#e6f4ea;border-left:6px solid #1e7b34;padding:12px 16px;font-size:18px;font-weight:600;color:#1e7b34;`,
	"fail":    `background:#fce8e6;border-left:6px solid #b3261e;padding:12px 16px;font-size:18px;font-weight:600;color:#b3261e;`,
	"problem": `margin:4px 0 0 0;font-size:13px;font-weight:400;color:#1f2328;`,
	"footer":  `color:#57606a;font-size:12px;margin-top:24px;border-top:1px solid #d0d7de;padding-top:8px;`,
	"list":    `margin:0;padding-left:20px;`,
}
