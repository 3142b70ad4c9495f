package report

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"gonum.org/v1/plot/font"

	"github.com/dbopsd/dbopsd/i18n"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Options say how Render renders.
type Options struct {
	Lang i18n.Lang
	Loc  *time.Location
	// Fonts draws the charts (chartfont.Load); required.
	Fonts *font.Cache
	// PDF: print the HTML to PDF with Chromium when it is installed.
	PDF bool
	// Chromium is the browser for the PDF ("": look for it on PATH).
	Chromium string
}

// Attachment is a file attached to the mail and written under --out.
type Attachment struct {
	Name        string // may be Chinese; notify encodes it (RFC 2231 and 2047)
	ContentType string
	Data        []byte
}

// Rendered is a report ready to send or write.
type Rendered struct {
	Subject     string
	HTML        string // the mail's HTML, images as cid:
	Text        string // the plain-text alternative
	Images      []Image
	Attachments []Attachment
	// PDFNote says why no PDF is attached ("" when one is).
	PDFNote string
}

// view is what the templates see: sections of text, tables and images,
// every word already in the reader's language.
type view struct {
	Lang      i18n.Lang
	Title     string
	Subtitle  string
	Empty     bool
	EmptyText string
	Sections  []section
	Footer    string
}

type section struct {
	Heading string
	Blocks  []block
}

type block struct {
	Text  string
	Style htmltemplate.CSS // inline CSS of a text block
	Table *table
	Image *Image
}

type table struct {
	Head []string
	Rows [][]cell
}

type cell struct {
	Text  string
	Style htmltemplate.CSS
	Link  string
	// Break lets ids, digests and server messages break anywhere: they
	// have no spaces and are wider than a phone.
	Break bool
}

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(htmltemplate.FuncMap{
		// imgsrc is replaced per rendering (cid: for the mail, data: for the attachment).
		"imgsrc": func(*Image) htmltemplate.URL { return "" },
		"links":  func() bool { return false },
		"wrap":   wrap,
	}).ParseFS(templates, "templates/report.html.tmpl"))
	textTmpl = texttemplate.Must(texttemplate.New("report.txt.tmpl").Funcs(texttemplate.FuncMap{
		"rowtext": rowText,
	}).ParseFS(templates, "templates/report.txt.tmpl"))
)

// wrap is how a cell's text may break: Chinese between any two
// characters (which is how it always breaks), ids and server messages
// anywhere, other text between words, a word only when it cannot fit.
func wrap(text string, anywhere bool) htmltemplate.CSS {
	if anywhere || strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		return "word-break:break-all;"
	}
	return "overflow-wrap:break-word;"
}

func rowText(head []string, row []cell) string {
	parts := make([]string, 0, len(row))
	for i, c := range row {
		if c.Text == "" {
			continue
		}
		if i < len(head) {
			parts = append(parts, head[i]+": "+c.Text)
		} else {
			parts = append(parts, c.Text)
		}
	}
	return strings.Join(parts, "; ")
}

// Render renders r: the mail's HTML and text, the charts and the attachments.
func Render(r *Report, o Options) (*Rendered, error) {
	if o.Lang == "" {
		o.Lang = i18n.Default
	}
	if o.Loc == nil {
		o.Loc = r.From.Location()
	}
	if o.Fonts == nil {
		return nil, fmt.Errorf("rendering the %s report: no chart font loaded", r.Label)
	}
	rd := &renderer{r: r, o: o}
	v, images, err := rd.view()
	if err != nil {
		return nil, err
	}
	out := &Rendered{Subject: v.Title, Images: images}
	full, err := out.fill(v)
	if err != nil {
		return nil, err
	}
	base := rd.t("report.file.base", i18n.Params{"label": r.Label, "kind": rd.t("report.kind."+r.Kind, nil)})
	csv, err := FindingsCSV(r, o.Lang, o.Loc)
	if err != nil {
		return nil, err
	}
	xlsx, err := VolumeXLSX(r, o.Lang)
	if err != nil {
		return nil, err
	}
	out.Attachments = append(out.Attachments,
		Attachment{Name: base + ".html", ContentType: "text/html; charset=utf-8", Data: []byte(full)},
		Attachment{Name: rd.t("report.file.findings", i18n.Params{"label": r.Label}) + ".csv", ContentType: "text/csv; charset=utf-8", Data: csv},
		Attachment{Name: rd.t("report.file.volume", i18n.Params{"label": r.Label}) + ".xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: xlsx},
	)
	for _, name := range slices.Sorted(maps.Keys(r.Dictionaries)) {
		out.Attachments = append(out.Attachments, Attachment{Name: rd.t("report.file.dictionary", i18n.Params{"database": name, "label": r.Label}) + ".xlsx",
			ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: r.Dictionaries[name]})
	}
	if o.PDF {
		pdf, note := printPDF(full, o.Chromium)
		if pdf != nil {
			out.Attachments = append(out.Attachments, Attachment{Name: base + ".pdf", ContentType: "application/pdf", Data: pdf})
		} else {
			// The report says so itself: its readers never see the job's log.
			if note == "" {
				note = rd.t("report.pdf.no_chromium", nil)
			}
			out.PDFNote = rd.t("report.pdf.none", i18n.Params{"why": note})
			v.Footer += " " + out.PDFNote
			if full, err = out.fill(v); err != nil {
				return nil, err
			}
			out.Attachments[0].Data = []byte(full)
		}
	}
	return out, nil
}

// fill renders v into x's HTML (images by cid:) and text, and returns the
// self-contained HTML (images as data: URIs) for the attachment.
func (x *Rendered) fill(v *view) (full string, err error) {
	byCID := map[string]Image{}
	for _, im := range x.Images {
		byCID[im.CID] = im
	}
	if x.HTML, err = execHTML(v, func(im *Image) htmltemplate.URL { return htmltemplate.URL("cid:" + im.CID) }, false); err != nil {
		return "", err
	}
	full, err = execHTML(v, func(im *Image) htmltemplate.URL {
		return htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(byCID[im.CID].PNG))
	}, true)
	if err != nil {
		return "", err
	}
	var txt bytes.Buffer
	if err := textTmpl.Execute(&txt, v); err != nil {
		return "", fmt.Errorf("rendering the report as text: %w", err)
	}
	x.Text = txt.String()
	return full, nil
}

// execHTML renders v with images from src; links to the checks' pages
// only where they resolve (the attachment, saved beside those pages), not
// in the mail.
func execHTML(v *view, src func(*Image) htmltemplate.URL, links bool) (string, error) {
	t, err := htmlTmpl.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(htmltemplate.FuncMap{"imgsrc": src, "links": func() bool { return links }})
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("rendering the report's HTML: %w", err)
	}
	return b.String(), nil
}

type renderer struct {
	r *Report
	o Options
}

func (rd *renderer) t(key string, p i18n.Params) string { return i18n.T(rd.o.Lang, key, p) }

func (rd *renderer) n(key string, v any) string {
	return i18n.T(rd.o.Lang, key, i18n.Params{"n": fmt.Sprint(v)})
}

func (rd *renderer) when(t time.Time) string { return t.In(rd.o.Loc).Format("2006-01-02 15:04") }

func (rd *renderer) day(t time.Time) string { return t.In(rd.o.Loc).Format("01-02") }

func (rd *renderer) status(s Status) cell {
	style := map[Status]htmltemplate.CSS{StatusOK: "background:#e3f4e8;color:#1b6e35;font-weight:bold;",
		StatusAttention: "background:#fff4d6;color:#8a5a00;font-weight:bold;", StatusSevere: "background:#fde2e1;color:#a61b1b;font-weight:bold;"}[s]
	return cell{Text: rd.t("report.status."+string(s), nil), Style: style}
}

func (rd *renderer) yesno(b bool) string {
	if b {
		return rd.t("report.yes", nil)
	}
	return rd.t("report.no", nil)
}

func (rd *renderer) secs(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	switch {
	case s <= 0:
		return "–"
	case d < time.Minute:
		return rd.n("report.unit.seconds", int(d.Seconds()))
	case d < time.Hour:
		return rd.t("report.unit.minutes", i18n.Params{"m": fmt.Sprint(int(d.Minutes())), "s": fmt.Sprint(int(d.Seconds()) % 60)})
	}
	return rd.t("report.unit.hours", i18n.Params{"h": fmt.Sprint(int(d.Hours())), "m": fmt.Sprint(int(d.Minutes()) % 60)})
}

func para(s string) block { return block{Text: s} }

func note(s string) block { return block{Text: s, Style: "color:#6b7785;"} }

func (rd *renderer) view() (*view, []Image, error) {
	r := rd.r
	kind := rd.t("report.kind."+r.Kind, nil)
	v := &view{
		Lang:     rd.o.Lang,
		Title:    rd.t("report.title", i18n.Params{"site": r.Site, "kind": kind, "label": r.Label}),
		Subtitle: rd.t("report.subtitle", i18n.Params{"from": r.From.In(rd.o.Loc).Format("2006-01-02"), "to": r.To.Add(-time.Second).In(rd.o.Loc).Format("2006-01-02"), "n": fmt.Sprint(len(r.Databases))}),
		Empty:    r.Empty,
		Footer:   rd.t("report.footer", i18n.Params{"at": rd.when(r.GeneratedAt), "method": rd.t("report.forecast.method", nil)}),
	}
	if r.Empty {
		v.EmptyText = rd.t("report.empty."+r.Kind, nil)
	}
	v.Sections = append(v.Sections, rd.summary())
	var images []Image
	if r.Kind == Weekly {
		v.Sections = append(v.Sections, rd.weekDays(), rd.findings(true), rd.backups(true), rd.attention())
		return v, nil, nil
	}
	v.Sections = append(v.Sections, rd.backups(false), rd.register(), rd.maintenance(), rd.reconciliations(), rd.findings(false))
	trends := section{Heading: rd.t("report.section.trends", nil)}
	for i, d := range r.Databases {
		trends.Blocks = append(trends.Blocks, block{Text: d.Name, Style: "font-weight:bold;padding-top:10px;"})
		if !hasHistory(d) {
			trends.Blocks = append(trends.Blocks, note(rd.t("report.trend.no_history", nil)))
			continue
		}
		imgs, err := chartsOf(d, i, rd.o.Lang, rd.o.Fonts)
		if err != nil {
			return nil, nil, err
		}
		for j := range imgs {
			trends.Blocks = append(trends.Blocks, block{Image: &imgs[j]})
		}
		images = append(images, imgs...)
		if d.Forecasts == nil {
			trends.Blocks = append(trends.Blocks, note(rd.t("report.trend.forecast_none", nil)))
		} else if !drawsForecast(d) {
			trends.Blocks = append(trends.Blocks, note(rd.t("report.trend.forecast_words", i18n.Params{"text": forecastTexts(d, rd.t("report.forecast.sep", nil))})))
		}
		if d.ConnKnown {
			trends.Blocks = append(trends.Blocks, para(rd.n("report.trend.connections", d.ConnPeak)))
			img, err := connectionsChart(d, i, rd.o.Lang, rd.o.Fonts)
			if err != nil {
				return nil, nil, err
			}
			if img != nil {
				trends.Blocks = append(trends.Blocks, block{Image: img})
				images = append(images, *img)
			}
		} else {
			trends.Blocks = append(trends.Blocks, note(rd.t("report.trend.connections_none", nil)))
		}
	}
	trends.Blocks = append(trends.Blocks, note(rd.t("report.trend.footnote", i18n.Params{"method": rd.t("report.forecast.method", nil)})))
	v.Sections = append(v.Sections, trends, rd.volume(), rd.schema())
	return v, images, nil
}

// hasHistory: d has something to draw.
func hasHistory(d Database) bool {
	if len(d.Volume) > 0 {
		return true
	}
	for _, p := range d.History {
		if p.Backups > 0 {
			return true
		}
	}
	return false
}

func (rd *renderer) summary() section {
	r := rd.r
	s := section{Heading: rd.t("report.section.summary", nil)}
	tt := r.Totals
	s.Blocks = append(s.Blocks, para(rd.t("report.summary.figures", i18n.Params{
		"backups": fmt.Sprint(tt.Backups), "failed": fmt.Sprint(tt.Failed), "verified": fmt.Sprint(tt.Verified),
		"drills": fmt.Sprint(tt.Drills), "stored": humanBytes(tt.StoredBytes)})))
	for _, d := range r.Databases {
		if d.Forecasts != nil {
			s.Blocks = append(s.Blocks, para(rd.t("report.summary.space", i18n.Params{"database": d.Name, "text": forecastTexts(d, rd.t("report.forecast.sep", nil))})))
		}
	}
	if tt.FindingsKnown {
		s.Blocks = append(s.Blocks, para(rd.n("report.summary.urgent", tt.NewUrgent)))
	} else {
		s.Blocks = append(s.Blocks, note(rd.t("report.none.findings", nil)))
	}
	tb := &table{Head: []string{rd.t("report.col.database", nil), rd.t("report.col.status", nil), rd.t("report.col.reason", nil)}}
	for _, d := range r.Databases {
		tb.Rows = append(tb.Rows, []cell{{Text: d.Name}, rd.status(d.Status), {Text: d.Reason.Text(rd.o.Lang)}})
	}
	if len(tb.Rows) > 0 {
		s.Blocks = append(s.Blocks, block{Table: tb})
	}
	return s
}

func (rd *renderer) backups(weekly bool) section {
	r := rd.r
	s := section{Heading: rd.t("report.section.backups", nil)}
	tb := &table{Head: []string{rd.t("report.col.database", nil), rd.t("report.col.fulls", nil), rd.t("report.col.diffs", nil),
		rd.t("report.col.failed", nil), rd.t("report.col.stored", nil), rd.t("report.col.size", nil), rd.t("report.col.duration", nil)}}
	if !weekly {
		tb.Head = append(tb.Head, rd.t("report.col.trend", nil))
	}
	var fails, verifies [][]cell
	for _, d := range r.Databases {
		row := []cell{{Text: d.Name}, {Text: fmt.Sprint(d.Fulls)}, {Text: fmt.Sprint(d.Differentials)}, {Text: fmt.Sprint(d.Failed)},
			{Text: humanBytes(d.StoredBytes)}, {Text: humanBytes(d.LastFullBytes)}, {Text: rd.secs(d.AvgFullSecs)}}
		if d.Failed > 0 {
			row[3].Style = "color:#a61b1b;font-weight:bold;"
		}
		if !weekly {
			row = append(row, cell{Text: rd.trend(d.AvgFullSecs, d.PrevAvgFullSecs)})
		}
		tb.Rows = append(tb.Rows, row)
		for _, f := range d.Failures {
			fails = append(fails, []cell{{Text: rd.when(f.At)}, {Text: d.Name}, {Text: rd.t("report.type."+orDash(f.Type), nil)}, {Text: f.Error, Break: true}, {Text: rd.yesno(f.Resolved)}})
		}
		for _, vf := range d.Verifications {
			res := cell{Text: rd.t("report.verify.ok", nil), Style: "color:#1b6e35;"}
			if !vf.OK {
				res = cell{Text: rd.t("report.verify.failed", nil) + " " + vf.Error, Style: "color:#a61b1b;", Break: true}
			}
			verifies = append(verifies, []cell{{Text: rd.when(vf.At)}, {Text: d.Name}, res, {Text: rd.secs(vf.RTOSecs)}})
		}
	}
	s.Blocks = append(s.Blocks, block{Table: tb})
	if len(fails) > 0 {
		s.Blocks = append(s.Blocks, para(rd.t("report.backups.failures", nil)), block{Table: &table{Head: []string{rd.t("report.col.time", nil),
			rd.t("report.col.database", nil), rd.t("report.col.type", nil), rd.t("report.col.cause", nil), rd.t("report.col.resolved", nil)}, Rows: fails}})
	} else {
		s.Blocks = append(s.Blocks, para(rd.t("report.backups.no_failures", nil)))
	}
	if len(verifies) > 0 {
		s.Blocks = append(s.Blocks, para(rd.t("report.backups.verifications", nil)), block{Table: &table{Head: []string{rd.t("report.col.time", nil),
			rd.t("report.col.database", nil), rd.t("report.col.result", nil), rd.t("report.col.rto", nil)}, Rows: verifies}})
	} else {
		s.Blocks = append(s.Blocks, note(rd.t("report.backups.no_verifications", nil)))
	}
	if weekly {
		return s
	}
	if len(r.Mirror) == 0 {
		s.Blocks = append(s.Blocks, note(rd.t("report.mirror.none", nil)))
	} else {
		ok, last := 0, r.Mirror[len(r.Mirror)-1]
		for _, m := range r.Mirror {
			if m.OK {
				ok++
			}
		}
		s.Blocks = append(s.Blocks, para(rd.t("report.mirror.state", i18n.Params{"ok": fmt.Sprint(ok), "n": fmt.Sprint(len(r.Mirror)), "last": rd.when(last.At), "result": rd.yesno(last.OK)})))
	}
	deleted, runs := 0, 0
	for _, p := range r.Prune {
		runs++
		deleted += p.Deleted
	}
	s.Blocks = append(s.Blocks, para(rd.t("report.prune.state", i18n.Params{"runs": fmt.Sprint(runs), "n": fmt.Sprint(deleted)})))
	return s
}

func (rd *renderer) trend(cur, prev float64) string {
	if cur == 0 || prev == 0 {
		return "–"
	}
	pct := (cur - prev) / prev * 100
	return rd.t("report.trend.pct", i18n.Params{"pct": fmt.Sprintf("%+.0f%%", pct)})
}

func (rd *renderer) register() section {
	reg := rd.r.Register
	s := section{Heading: rd.t("report.section.register", nil)}
	switch {
	case !reg.Checked:
		s.Blocks = append(s.Blocks, note(rd.t("report.register.none", nil)))
		return s
	case reg.Intact:
		s.Blocks = append(s.Blocks, block{Text: rd.t("report.register.intact", i18n.Params{"n": fmt.Sprint(reg.Lines), "head": short(reg.HeadHash)}), Style: "color:#1b6e35;"})
		switch {
		case reg.Anchored > 0:
			s.Blocks = append(s.Blocks, para(rd.n("report.register.anchored", reg.Anchored)))
		case reg.AnchorProblem != "":
			s.Blocks = append(s.Blocks, note(rd.t("report.register.anchors_unread", i18n.Params{"why": reg.AnchorProblem})))
		}
	default:
		s.Blocks = append(s.Blocks, block{Text: rd.t("report.register.broken", i18n.Params{"problem": reg.Problem}), Style: "color:#a61b1b;font-weight:bold;"})
	}
	if len(reg.Entries) == 0 {
		s.Blocks = append(s.Blocks, para(rd.t("report.register.empty", nil)))
		return s
	}
	s.Blocks = append(s.Blocks, para(rd.t("report.register.counts", i18n.Params{"restores": fmt.Sprint(reg.Restores), "drills": fmt.Sprint(reg.Drills)})))
	tb := &table{Head: []string{rd.t("report.col.time", nil), rd.t("report.col.request", nil), rd.t("report.col.database", nil),
		rd.t("report.col.requester", nil), rd.t("report.col.approvers", nil), rd.t("report.col.result", nil), rd.t("report.col.rto", nil)}}
	for _, e := range reg.Entries {
		res := rd.t("report.outcome."+e.Outcome, nil)
		if e.Detail != "" {
			res += ": " + e.Detail
		}
		tb.Rows = append(tb.Rows, []cell{{Text: rd.when(e.At)}, {Text: rd.t("report.action."+orDash(e.Action), nil) + " " + e.Request, Break: true}, {Text: e.Database},
			{Text: e.Requester}, {Text: strings.Join(e.Approvers, ", ")}, {Text: res, Break: true}, {Text: rd.secs(e.RTOSecs)}})
	}
	s.Blocks = append(s.Blocks, block{Table: tb})
	return s
}

func (rd *renderer) findings(weekly bool) section {
	s := section{Heading: rd.t("report.section.findings", nil)}
	var list [][]cell
	known := false
	for _, d := range rd.r.Databases {
		if d.Findings == nil {
			continue
		}
		known = true
		counts := map[string]int{}
		var nw, resolved, suppressed int
		for _, f := range d.Findings {
			switch {
			case f.Suppressed:
				suppressed++
				continue
			case f.Resolved:
				resolved++
				continue
			case f.New:
				nw++
			}
			counts[f.Priority]++
			if f.Priority == PriorityUrgent || f.Priority == PriorityHigh || (weekly && f.New) {
				c := cell{Text: f.Finding, Link: f.Link}
				list = append(list, []cell{{Text: d.Name}, {Text: rd.t("report.priority."+f.Priority, nil), Style: priorityStyle(f.Priority)}, {Text: f.Check, Break: true}, {Text: f.Object, Break: true}, c})
			}
		}
		s.Blocks = append(s.Blocks, para(rd.t("report.findings.counts", i18n.Params{"database": d.Name,
			"urgent": fmt.Sprint(counts[PriorityUrgent]), "high": fmt.Sprint(counts[PriorityHigh]), "medium": fmt.Sprint(counts[PriorityMedium]),
			"low": fmt.Sprint(counts[PriorityLow]), "new": fmt.Sprint(nw), "resolved": fmt.Sprint(resolved), "suppressed": fmt.Sprint(suppressed)})))
	}
	if !known {
		s.Blocks = append(s.Blocks, note(rd.t("report.none.findings", nil)))
		return s
	}
	if len(list) > 0 {
		s.Blocks = append(s.Blocks, block{Table: &table{Head: []string{rd.t("report.col.database", nil), rd.t("report.col.priority", nil),
			rd.t("report.col.check", nil), rd.t("report.col.object", nil), rd.t("report.col.finding", nil)}, Rows: list}})
	}
	return s
}

func priorityStyle(p string) htmltemplate.CSS {
	switch p {
	case PriorityUrgent:
		return "color:#a61b1b;font-weight:bold;"
	case PriorityHigh:
		return "color:#8a5a00;font-weight:bold;"
	}
	return ""
}

func (rd *renderer) volume() section {
	s := section{Heading: rd.t("report.section.volume", nil)}
	tb := &table{Head: []string{rd.t("report.col.database", nil), rd.t("report.col.rows", nil), rd.t("report.col.bytes", nil), rd.t("report.col.growth", nil)}}
	var registered [][]cell
	for _, d := range rd.r.Databases {
		if len(d.Volume) == 0 {
			continue
		}
		last := d.Volume[len(d.Volume)-1]
		growth := "–"
		if len(d.Volume) > 1 && d.Volume[len(d.Volume)-2].Rows > 0 {
			p := d.Volume[len(d.Volume)-2]
			growth = fmt.Sprintf("%+.1f%%", float64(last.Rows-p.Rows)/float64(p.Rows)*100)
		}
		tb.Rows = append(tb.Rows, []cell{{Text: d.Name}, {Text: count(last.Rows)}, {Text: humanBytes(last.Bytes)}, {Text: growth}})
		for _, t := range last.Tables {
			if t.Registered {
				registered = append(registered, []cell{{Text: d.Name + "." + t.Name, Break: true}, {Text: count(t.Rows)}, {Text: humanBytes(t.Bytes)}})
			}
		}
	}
	if len(tb.Rows) == 0 {
		s.Blocks = append(s.Blocks, note(rd.t("report.none.volume", nil)))
		return s
	}
	if len(registered) > 0 {
		head := []string{rd.t("report.col.table", nil), rd.t("report.col.rows", nil), rd.t("report.col.bytes", nil)}
		s.Blocks = append(s.Blocks, para(rd.t("report.volume.registered", nil)), block{Table: &table{Head: head, Rows: registered}})
	}
	s.Blocks = append(s.Blocks, para(rd.t("report.volume.totals", nil)), block{Table: tb})
	return s
}

func (rd *renderer) schema() section {
	s := section{Heading: rd.t("report.section.schema", nil)}
	tb := &table{Head: []string{rd.t("report.col.database", nil), rd.t("report.col.time", nil), rd.t("report.col.object", nil), rd.t("report.col.change", nil)}}
	known := false
	for _, d := range rd.r.Databases {
		known = known || d.SchemaKnown
		for _, c := range d.SchemaChanges {
			tb.Rows = append(tb.Rows, []cell{{Text: d.Name}, {Text: rd.when(c.At)}, {Text: c.Object, Break: true}, {Text: c.Change}})
		}
	}
	switch {
	case !known:
		s.Blocks = append(s.Blocks, note(rd.t("report.none.schema", nil)))
	case len(tb.Rows) == 0:
		s.Blocks = append(s.Blocks, para(rd.t("report.schema.unchanged", nil)))
	default:
		s.Blocks = append(s.Blocks, block{Table: tb})
	}
	return s
}

func (rd *renderer) weekDays() section {
	s := section{Heading: rd.t("report.section.days", nil)}
	head := []string{rd.t("report.col.item", nil)}
	for _, d := range rd.r.Days {
		head = append(head, rd.t("report.weekday."+strings.ToLower(d.Weekday().String()[:3]), nil)+" "+rd.day(d))
	}
	for _, d := range rd.r.Databases {
		tb := &table{Head: head}
		backup, verify := []cell{{Text: rd.t("report.row.backup", nil)}}, []cell{{Text: rd.t("report.row.verify", nil)}}
		for _, m := range d.Days {
			backup, verify = append(backup, rd.sign(m.Backup)), append(verify, rd.sign(m.Verify))
		}
		tb.Rows = append(tb.Rows, backup, verify)
		for _, g := range d.Groups {
			row := []cell{{Text: g}}
			for _, m := range d.Days {
				switch p, ran := m.Groups[g]; {
				case !m.Inspected || !ran:
					row = append(row, cell{Text: "·"})
				case p == "":
					row = append(row, cell{Text: "✓", Style: "color:#1b6e35;"})
				default:
					row = append(row, cell{Text: rd.t("report.priority.short."+p, nil), Style: priorityStyle(p)})
				}
			}
			tb.Rows = append(tb.Rows, row)
		}
		s.Blocks = append(s.Blocks, block{Text: d.Name, Style: "font-weight:bold;padding-top:10px;"}, block{Table: tb})
		if d.Findings == nil {
			s.Blocks = append(s.Blocks, note(rd.t("report.none.findings", nil)))
		}
	}
	s.Blocks = append(s.Blocks, note(rd.t("report.days.legend", nil)))
	return s
}

// sign is a day's outcome of backups or verifications.
func (rd *renderer) sign(outcome string) cell {
	switch outcome {
	case "ok":
		return cell{Text: "✓", Style: "color:#1b6e35;"}
	case "failed":
		return cell{Text: "✗", Style: "background:#fde2e1;color:#a61b1b;font-weight:bold;"}
	}
	return cell{Text: "·"}
}

func (rd *renderer) attention() section {
	s := section{Heading: rd.t("report.section.attention", nil)}
	var items []string
	for _, d := range rd.r.Databases {
		if d.Status != StatusOK {
			items = append(items, d.Name+": "+d.Reason.Text(rd.o.Lang))
		}
	}
	if len(items) == 0 {
		s.Blocks = append(s.Blocks, para(rd.t("report.attention.none", nil)))
	}
	slices.Sort(items)
	for _, it := range items {
		s.Blocks = append(s.Blocks, block{Text: "• " + it})
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// count writes n with thousands separators (9,600,000).
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n <= 0 {
		return "–"
	}
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// maintenance is the month's table maintenance (issue #16): what ran on
// approval, the table's size before and after, and how it ended.
func (rd *renderer) maintenance() section {
	s := section{Heading: rd.t("report.section.maintenance", nil)}
	runs := rd.r.Maintenance
	switch {
	case runs == nil:
		s.Blocks = append(s.Blocks, note(rd.t("report.none.maintenance", nil)))
		return s
	case len(runs) == 0:
		s.Blocks = append(s.Blocks, para(rd.t("report.maintenance.empty", nil)))
		return s
	}
	tb := &table{Head: []string{rd.t("report.col.time", nil), rd.t("report.col.database", nil), rd.t("report.col.request", nil),
		rd.t("report.col.operation", nil), rd.t("report.col.before_after", nil),
		rd.t("report.col.elapsed", nil), rd.t("report.col.result", nil)}}
	ok := 0
	for _, m := range runs {
		size := "–"
		if m.BeforeBytes > 0 {
			size = humanBytes(m.BeforeBytes) + " → " + humanBytes(m.AfterBytes)
			if m.AfterBytes > 0 && m.AfterBytes < m.BeforeBytes {
				size += fmt.Sprintf(" (−%.0f%%)", float64(m.BeforeBytes-m.AfterBytes)/float64(m.BeforeBytes)*100)
			}
		}
		res := cell{Text: rd.t("report.maintenance.outcome."+maintOutcomeKey(m.Outcome), nil), Style: "color:#1b6e35;"}
		if m.Outcome == "succeeded" {
			ok++
		} else {
			res.Style = "color:#a61b1b;"
			if m.Error != "" {
				res.Text += ": " + m.Error
				res.Break = true
			}
		}
		tb.Rows = append(tb.Rows, []cell{{Text: rd.when(m.At)}, {Text: m.Database}, {Text: orDashText(m.Request), Break: true},
			{Text: m.Operation + " " + m.Object, Break: true}, {Text: size}, {Text: rd.secsOrZero(m.Secs)}, res})
	}
	s.Blocks = append(s.Blocks, para(rd.t("report.maintenance.counts", i18n.Params{"n": fmt.Sprint(len(runs)), "ok": fmt.Sprint(ok)})), block{Table: tb})
	return s
}

// maintOutcomeKey is the message key of a maintenance outcome.
func maintOutcomeKey(outcome string) string {
	switch outcome {
	case "succeeded", "failed":
		return outcome
	case "lock timeout":
		return "lock_timeout"
	case "not run":
		return "not_run"
	}
	return "failed"
}

func orDashText(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// secsOrZero is secs, but a run shorter than a second still says so.
func (rd *renderer) secsOrZero(s float64) string {
	if s > 0 && s < 0.5 {
		return rd.n("report.unit.seconds", "<1")
	}
	return rd.secs(s)
}

// reconciliations is each reconcile block's latest result of the month
// (issue #16): what is missing on either side, what differs, and whether
// that grew since the run before.
func (rd *renderer) reconciliations() section {
	s := section{Heading: rd.t("report.section.reconcile", nil)}
	rs := rd.r.Reconciliations
	switch {
	case rs == nil:
		s.Blocks = append(s.Blocks, note(rd.t("report.none.reconcile", nil)))
		return s
	case len(rs) == 0:
		s.Blocks = append(s.Blocks, para(rd.t("report.reconcile.empty", nil)))
		return s
	}
	// Seven columns fit 800 px in English too: the run's time goes with
	// its result.
	tb := &table{Head: []string{rd.t("report.col.reconcile", nil), rd.t("report.col.result", nil),
		rd.t("report.col.missing_left", nil), rd.t("report.col.missing_right", nil), rd.t("report.col.different", nil),
		rd.t("report.col.vs_previous", nil), rd.t("report.col.samples", nil)}}
	for _, c := range rs {
		name := cell{Text: rd.t("report.reconcile.name", i18n.Params{"name": c.Name, "left": c.Left, "right": c.Right}), Break: true}
		if !c.Ran {
			tb.Rows = append(tb.Rows, []cell{name, {Text: rd.t("report.reconcile.not_run", nil), Style: "color:#8a5a00;"},
				{Text: "–"}, {Text: "–"}, {Text: "–"}, {Text: "–"}, {Text: "–"}})
			continue
		}
		if c.Status == "failed" {
			res := rd.t("report.reconcile.status.failed", nil)
			if c.Error != "" {
				res += ": " + c.Error
			}
			tb.Rows = append(tb.Rows, []cell{name, {Text: rd.when(c.At) + " " + res, Style: "color:#a61b1b;", Break: true},
				{Text: "–"}, {Text: "–"}, {Text: "–"}, {Text: "–"}, {Text: "–"}})
			continue
		}
		res := cell{Text: rd.when(c.At) + " " + rd.t("report.reconcile.status.match", nil), Style: "color:#1b6e35;"}
		if c.Total() > 0 {
			res = cell{Text: rd.when(c.At) + " " + rd.t("report.reconcile.status.different", nil), Style: "color:#a61b1b;font-weight:bold;"}
		}
		tb.Rows = append(tb.Rows, []cell{name, res, {Text: count(c.MissingLeft)}, {Text: count(c.MissingRight)},
			{Text: count(c.Different)}, {Text: rd.reconcileTrend(c)}, {Text: fmt.Sprint(c.Samples)}})
	}
	s.Blocks = append(s.Blocks, block{Table: tb}, note(rd.t("report.reconcile.legend", nil)))
	return s
}

// reconcileTrend compares a result's rows missing or different with the
// run before it.
func (rd *renderer) reconcileTrend(c Reconciliation) string {
	if !c.HasPrevious {
		return rd.t("report.reconcile.first", nil)
	}
	switch d := c.Total() - c.PreviousTotal; {
	case d > 0:
		return rd.t("report.reconcile.more", i18n.Params{"n": count(d)})
	case d < 0:
		return rd.t("report.reconcile.fewer", i18n.Params{"n": count(-d)})
	}
	return rd.t("report.reconcile.same", nil)
}
