package report_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/chromiumtest"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/chartfont"
	"github.com/dbopsd/dbopsd/report/reporttest"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/site"
)

var update = flag.Bool("update", false, "rewrite testdata/chart-zh.png")

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// history is three databases over thirteen months up to November 2026.
var history = reporttest.History{Databases: []string{"人口库", "orders", "gis"}, Months: 13,
	Last: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), Seed: 1}

func dbs(names []string) []report.DB {
	var out []report.DB
	for _, n := range names {
		out = append(out, report.DB{Name: n, Engine: "postgres"})
	}
	return out
}

// build generates the history into a new state directory and builds the
// report of kind for its newest month (or the week of 9 November).
func build(t testing.TB, kind string, src report.Sources) (*report.Report, string) {
	t.Helper()
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	return buildFrom(t, state, kind, src), state
}

func buildFrom(t testing.TB, state, kind string, src report.Sources) *report.Report {
	t.Helper()
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	in := report.Input{Kind: kind, Site: "市大数据中心", Databases: dbs(history.Databases), Catalog: cat,
		RegisterPath: filepath.Join(state, register.FileName), Sources: src, Now: time.Date(2026, 12, 1, 8, 0, 0, 0, shanghai)}
	if kind == report.Monthly {
		in.From, in.To, in.Label, err = report.MonthPeriod("2026-11", time.Time{}, shanghai)
	} else {
		in.From, in.To, in.Label, err = report.WeekPeriod("2026-W46", time.Time{}, shanghai)
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// unfilled finds a placeholder left in rendered text.
var unfilled = regexp.MustCompile(`\{[A-Za-z_0-9]+\}`)

// render renders r, and fails when a sentence kept a placeholder.
func render(t testing.TB, r *report.Report, lang i18n.Lang, pdf bool) *report.Rendered {
	t.Helper()
	fonts, err := chartfont.Load("")
	if err != nil {
		t.Fatal(err)
	}
	x, err := report.Render(r, report.Options{Lang: lang, Loc: shanghai, Fonts: fonts, PDF: pdf})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{x.HTML, x.Text} {
		if m := unfilled.FindString(s); m != "" {
			t.Errorf("%s %s report: %s left unfilled", lang, r.Kind, m)
		}
	}
	return x
}

// part is one leaf of a received MIME message.
type part struct {
	header textproto
	body   []byte
}

type textproto = map[string][]string

func get(h textproto, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// leaves walks a multipart body and returns its leaf parts, decoded.
func leaves(t *testing.T, ctype string, body io.Reader) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("not multipart: %s", ctype)
	}
	var out []part
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			out = append(out, leaves(t, ct, p)...)
			continue
		}
		var r io.Reader = p
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, p)
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, part{header: textproto(p.Header), body: b})
	}
}

// TestMonthlyMail sends the monthly report of three databases with
// thirteen months of history to a real SMTP server and reads it back as a
// mail client would.
func TestMonthlyMail(t *testing.T) {
	r, _ := build(t, report.Monthly, reporttest.Sources(history))
	x := render(t, r, i18n.ZH, false)

	srv := notifytest.StartMailServer(t, "dbops", "s3cret")
	n := &config.Notify{Name: "bureau", Type: "email", SMTP: srv.Addr, Username: "dbops", Password: secret.New("s3cret"),
		From: "dbopsd@example.cn", To: []string{"bureau@example.cn", "dba@example.cn"}, Events: []string{config.EventMonthlyReport}}
	mailer, err := notify.NewEmail(n, srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Deliver(context.Background(), x, r.Kind, r.Label, report.DeliverOptions{Mailers: []report.Mailer{mailer}, Retries: 1, Wait: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 30*time.Second)[0]
	if !slices.Equal(got.To, n.To) || !got.TLS {
		t.Errorf("recipients %q (TLS %v), want %q over TLS", got.To, got.TLS, n.To)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "市大数据中心 数据库运行状况月报（2026-11）"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	// mixed(related(alternative(text, html), images), attachments): the
	// images belong to the HTML, the attachments to the mail.
	var nesting []string
	for _, m := range regexp.MustCompile(`(?m)^Content-Type: (multipart/[a-z]+)`).FindAllStringSubmatch(got.Data, -1) {
		nesting = append(nesting, m[1])
	}
	if want := []string{"multipart/mixed", "multipart/related", "multipart/alternative"}; !slices.Equal(nesting, want) {
		t.Errorf("MIME structure %q, want %q", nesting, want)
	}
	parts := leaves(t, msg.Header.Get("Content-Type"), msg.Body)
	var html, text string
	images := map[string][]byte{}
	attachments := map[string][]byte{}
	for _, p := range parts {
		ct := get(p.header, "Content-Type")
		switch {
		case strings.HasPrefix(ct, "text/plain"):
			text = string(p.body)
		case strings.HasPrefix(ct, "text/html") && get(p.header, "Content-Disposition") == "":
			html = string(p.body)
		case get(p.header, "Content-Id") != "":
			images[strings.Trim(get(p.header, "Content-Id"), "<>")] = p.body
		default:
			// Both encodings of the name, each decoded as its clients do.
			_, dp, err := mime.ParseMediaType(get(p.header, "Content-Disposition"))
			if err != nil {
				t.Fatalf("disposition %q: %v", get(p.header, "Content-Disposition"), err)
			}
			_, cp, err := mime.ParseMediaType(ct)
			if err != nil {
				t.Fatal(err)
			}
			name2047, err := new(mime.WordDecoder).DecodeHeader(cp["name"])
			if err != nil {
				t.Fatal(err)
			}
			if dp["filename"] != name2047 {
				t.Errorf("RFC 2231 name %q, RFC 2047 name %q", dp["filename"], name2047)
			}
			if !strings.Contains(get(p.header, "Content-Disposition"), "filename*=UTF-8''") || !strings.HasPrefix(cp["name"], "=?UTF-8?b?") && !strings.HasPrefix(cp["name"], "=?UTF-8?B?") {
				t.Errorf("attachment %q not encoded both ways: %q, %q", dp["filename"], get(p.header, "Content-Disposition"), ct)
			}
			attachments[dp["filename"]] = p.body
		}
	}
	for _, want := range []string{"人口库", "严重", "哈希链校验通过", "备份日志", "数据库恢复登记表", "紧急", "空间预测：", "新增列 varchar(200)"} {
		if !strings.Contains(html, want) || !strings.Contains(text, want) {
			t.Errorf("neither HTML nor text holds %q", want)
		}
	}
	for _, bad := range []string{"<script", "<svg", "http://", "https://", "<link", "@import"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("the mail's HTML holds %q", bad)
		}
	}
	cids := regexp.MustCompile(`src="cid:([^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(cids) != 4*len(history.Databases) { // size, duration, stored, connections
		t.Errorf("%d cid: images, want %d", len(cids), 4*len(history.Databases))
	}
	for _, m := range cids {
		b, ok := images[m[1]]
		if !ok {
			t.Errorf("cid:%s has no image part", m[1])
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("cid:%s: %v", m[1], err)
			continue
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2*report.ChartWidth || h != 2*report.ChartHeight {
			t.Errorf("cid:%s is %dx%d, want %dx%d", m[1], w, h, 2*report.ChartWidth, 2*report.ChartHeight)
		}
		if !strings.Contains(html, fmt.Sprintf(`width="%d" height="%d"`, report.ChartWidth, report.ChartHeight)) {
			t.Errorf("the HTML does not state the images' size")
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range attachments {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"数据库运行状况月报_2026-11.html", "数据量登记_2026-11.xlsx", "诊断发现_2026-11.csv", "数据字典_人口库_2026-11.xlsx"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("attachments %q, want %q", names, want)
	}
	checkCSV(t, attachments["诊断发现_2026-11.csv"])
	checkXLSX(t, attachments["数据量登记_2026-11.xlsx"])
	if f, err := excelize.OpenReader(bytes.NewReader(attachments["数据字典_人口库_2026-11.xlsx"])); err != nil || f.GetSheetList()[0] != "表结构" {
		t.Errorf("the dictionary of the database whose schema changed: %v", err)
	}
	if full := string(attachments["数据库运行状况月报_2026-11.html"]); strings.Contains(full, "cid:") || !strings.Contains(full, "data:image/png;base64,") {
		t.Errorf("the HTML attachment is not self-contained")
	} else if !strings.Contains(full, `href="checks/superuser_login.html"`) || strings.Contains(html, "href=") {
		t.Errorf("links to the checks' pages belong in the attachment, not in the mail")
	}
}

func checkCSV(t *testing.T, b []byte) {
	t.Helper()
	rest, ok := bytes.CutPrefix(b, []byte("\xef\xbb\xbf"))
	if !ok {
		t.Fatalf("the CSV has no BOM: % x", b[:min(len(b), 8)])
	}
	rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 || rows[0][0] != "数据库" {
		t.Fatalf("CSV: %d rows, header %q", len(rows), rows[0])
	}
	urgent := 0
	for _, r := range rows[1:] {
		if r[2] == "紧急" {
			urgent++
		}
	}
	if urgent == 0 {
		t.Errorf("the CSV holds no urgent finding")
	}
}

func checkXLSX(t *testing.T, b []byte) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"数据量", "登记表", "备份"}; !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	// B2: month; C2, D2: rows and bytes, as numbers.
	for _, cell := range []string{"C2", "D2"} {
		typ, err := f.GetCellType("数据量", cell)
		if err != nil {
			t.Fatal(err)
		}
		if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("数据量!%s is of type %v, want a number", cell, typ)
		}
		v, _ := f.GetCellValue("数据量", cell)
		if v == "" || strings.Trim(v, "0123456789") != "" {
			t.Errorf("数据量!%s = %q, want a number", cell, v)
		}
	}
	rows, err := f.GetRows("数据量")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+13*len(history.Databases) {
		t.Errorf("数据量 has %d rows, want %d", len(rows), 1+13*len(history.Databases))
	}
	regRows, _ := f.GetRows("登记表")
	if len(regRows) < 2 || regRows[1][1] != "public.人口信息" {
		t.Errorf("登记表: %q", regRows)
	}
}

// TestMonthlyInChromium renders the mail's HTML, the cid: images swapped
// for their files, in headless Chromium: no console errors, nothing wider
// than 800 px, a screenshot kept as the test's artifact (go test
// -artifacts).
func TestMonthlyInChromium(t *testing.T) {
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	// With the month's maintenance and reconciliations: every section.
	r := buildFrom(t, state, report.Monthly, seedOperations(t, state))
	x := render(t, r, i18n.ZH, false)
	dir := t.TempDir()
	if err := x.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("cid:")) {
		t.Fatal("report.html under --out still references cid: images")
	}
	base := filepath.Join(dir, "monthly")
	if problems := chromiumtest.MeasureLayout(t, base, page, 800, 50); len(problems) > 0 {
		t.Errorf("layout at 800 px:\n%s", strings.Join(problems, "\n"))
	}
	_, stderr := chromiumtest.DumpDOM(t, base, page, 800)
	for _, line := range strings.Split(string(stderr), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Failed to load") {
			t.Errorf("console: %s", line)
		}
	}
	// In English, and the weekly summary's eight columns, fit too.
	w, _ := build(t, report.Weekly, reporttest.Sources(history))
	for name, html := range map[string]string{"weekly": render(t, w, i18n.EN, false).HTML, "monthly-en": render(t, r, i18n.EN, false).HTML} {
		if problems := chromiumtest.MeasureLayout(t, filepath.Join(dir, name), []byte(html), 800, 50); len(problems) > 0 {
			t.Errorf("%s layout at 800 px:\n%s", name, strings.Join(problems, "\n"))
		}
	}
	// Kept with go test -artifacts (testing.T.ArtifactDir).
	img := chromiumtest.Screenshot(t, filepath.Join(t.ArtifactDir(), "monthly-report"), page)
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() < 1000 {
		t.Fatalf("screenshot %v", b)
	}
}

// TestChartReference draws a chart with Chinese labels and compares it to
// the stored reference within a tolerance: the Noto Sans CJK face must
// draw the labels (boxes or a fallback font change many pixels).
func TestChartReference(t *testing.T) {
	fonts, err := chartfont.Load("")
	if err != nil {
		t.Fatal(err)
	}
	months := make([]time.Time, 13)
	sizes := make([]float64, 13)
	for i := range months {
		months[i] = time.Date(2025, time.Month(11+i), 1, 0, 0, 0, 0, time.UTC)
		sizes[i] = 300 + 25*float64(i)
	}
	b, err := report.DrawChart(report.Chart{Title: "人口库：近十二个月数据库大小", YLabel: "MiB",
		Series: []report.Series{{Label: "数据库大小", X: months, Y: sizes}}}, fonts)
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join("testdata", "chart-zh.png")
	if *update {
		if err := os.WriteFile(ref, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, err := png.Decode(bytes.NewReader(rb))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("chart is %v, reference %v", got.Bounds(), want.Bounds())
	}
	if d := differing(got, want); d > 0.005 {
		t.Errorf("%.2f%% of the pixels differ from the reference (tolerance 0.5%%); -update rewrites it", d*100)
	}
	// The same chart with the labels in Latin letters differs clearly:
	// the comparison can fail.
	b2, _ := report.DrawChart(report.Chart{Title: "Population DB: size over twelve months", YLabel: "MiB",
		Series: []report.Series{{Label: "database size", X: months, Y: sizes}}}, fonts)
	other, _ := png.Decode(bytes.NewReader(b2))
	if d := differing(other, want); d <= 0.005 {
		t.Errorf("a chart with other labels differs by only %.3f%%", d*100)
	}
}

// differing is the share of pixels whose channels differ by more than 48.
func differing(a, b image.Image) float64 {
	n, bad := 0, 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			n++
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2) > 48<<8 || absDiff(g1, g2) > 48<<8 || absDiff(b1, b2) > 48<<8 {
				bad++
			}
		}
	}
	return float64(bad) / float64(n)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestEmptyMonth: a month with no data says so instead of failing, and
// sources that are not collected say so too.
func TestEmptyMonth(t *testing.T) {
	state := t.TempDir()
	r := buildFrom(t, state, report.Monthly, report.Sources{})
	if !r.Empty {
		t.Fatal("a month without data is not marked empty")
	}
	for _, lang := range i18n.Langs() {
		x := render(t, r, lang, false)
		if len(x.Images) != 0 {
			t.Errorf("%s: %d charts of nothing", lang, len(x.Images))
		}
		for _, key := range []string{"report.empty.monthly", "report.none.findings", "report.none.volume", "report.none.schema", "report.trend.no_history",
			"report.none.maintenance", "report.none.reconcile"} {
			if want := i18n.T(lang, key, nil); !strings.Contains(x.HTML, want) || !strings.Contains(x.Text, want) {
				t.Errorf("%s: the report does not say %q", lang, want)
			}
		}
	}
	// With the sources wired and nothing in the month: "本月无…".
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	r = buildFrom(t, state, report.Monthly, site.ReportSources(&config.Config{}, cat))
	if !r.Empty || r.Maintenance == nil || r.Reconciliations == nil {
		t.Fatalf("empty month with sources: empty %v, maintenance %v, reconciliations %v", r.Empty, r.Maintenance, r.Reconciliations)
	}
	for _, lang := range i18n.Langs() {
		x := render(t, r, lang, false)
		for _, key := range []string{"report.maintenance.empty", "report.reconcile.empty"} {
			if want := i18n.T(lang, key, nil); !strings.Contains(x.HTML, want) || !strings.Contains(x.Text, want) {
				t.Errorf("%s: the report does not say %q", lang, want)
			}
		}
	}
}

// TestStatuses: the one reason that decides each database's status.
func TestStatuses(t *testing.T) {
	r, _ := build(t, report.Monthly, reporttest.Sources(history))
	want := map[string]struct {
		status report.Status
		reason string
	}{
		"人口库":    {report.StatusSevere, "report.reason.urgent"},
		"orders": {report.StatusSevere, "report.reason.unresolved"},
		"gis":    {report.StatusAttention, "report.reason.verify_failed"},
	}
	for _, d := range r.Databases {
		if w := want[d.Name]; d.Status != w.status || d.Reason.Key != w.reason {
			t.Errorf("%s: %s (%s), want %s (%s)", d.Name, d.Status, d.Reason.Key, w.status, w.reason)
		}
		if len(d.History) != 13 || d.History[12].Backups == 0 || d.History[0].Backups == 0 {
			t.Errorf("%s: history %+v", d.Name, d.History)
		}
	}
	if !r.Register.Intact || len(r.Register.Entries) != 2 || r.Register.Drills != 1 || r.Register.Restores != 1 {
		t.Errorf("register: %+v", r.Register)
	}
	if r.Totals.Failed != 3 || r.Totals.VerifyFailed != 1 || r.Totals.NewUrgent == 0 {
		t.Errorf("totals: %+v", r.Totals)
	}
}

// TestRegisterTampered: an edited register is reported, not hidden.
func TestRegisterTampered(t *testing.T) {
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	path := filepath.Join(state, register.FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte("张三"), []byte("王五"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := buildFrom(t, state, report.Monthly, report.Sources{})
	if r.Register.Intact || !strings.Contains(r.Register.Problem, "edited") {
		t.Fatalf("register: %+v", r.Register)
	}
	if x := render(t, r, i18n.EN, false); !strings.Contains(x.HTML, "does not verify") {
		t.Error("the report does not say the register failed its check")
	}
}

// TestWeekly: one column per day, a mark per check group.
func TestWeekly(t *testing.T) {
	r, _ := build(t, report.Weekly, reporttest.Sources(history))
	if r.Label != "2026-W46" || len(r.Days) != 7 || r.Days[0].Weekday() != time.Monday {
		t.Fatalf("week %s, days %v", r.Label, r.Days)
	}
	x := render(t, r, i18n.ZH, false)
	for _, want := range []string{"周一 11-09", "周日 11-15", "恢复验证", "需要人工处理", ">安全</td>", ">急</td>", ">✗</td>"} {
		if !strings.Contains(x.HTML, want) {
			t.Errorf("the weekly summary lacks %q", want)
		}
	}
	// The first database's security group: its urgent finding on the
	// days it was seen (every fourth day: the 12th), none the others.
	var people report.Database
	for _, d := range r.Databases {
		if d.Name == "人口库" {
			people = d
		}
	}
	if want := []string{"安全", "空间", "索引", "结构"}; !slices.Equal(people.Groups, slices.Sorted(slices.Values(want))) {
		t.Errorf("groups %q", people.Groups)
	}
	for i, m := range people.Days {
		want := ""
		if r.Days[i].Day()%4 == 0 {
			want = report.PriorityUrgent
		}
		n := r.Days[i].Day()
		if inspected := n%2 == 0 || n%3 == 0 || n%4 == 0 || n%5 == 0; m.Inspected != inspected || m.Groups["安全"] != want {
			t.Errorf("%s: security %q (inspected %v), want %q", r.Days[i].Format("01-02"), m.Groups["安全"], m.Inspected, want)
		}
	}
	if len(x.Images) != 0 {
		t.Errorf("the weekly summary has %d charts, want none", len(x.Images))
	}
}

func TestPeriods(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, shanghai)
	from, to, label, err := report.MonthPeriod("", now, shanghai)
	if err != nil || label != "2026-11" || !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)) || !to.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)) {
		t.Errorf("previous month: %v %v %q %v", from, to, label, err)
	}
	// 7 December 2026 is the Monday of W50: the week before is W49.
	from, _, label, err = report.WeekPeriod("", now, shanghai)
	if err != nil || label != "2026-W49" || !from.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, shanghai)) {
		t.Errorf("previous week: %v %q %v", from, label, err)
	}
	from, _, _, err = report.WeekPeriod("2026-W01", now, shanghai)
	if err != nil || !from.Equal(time.Date(2025, 12, 29, 0, 0, 0, 0, shanghai)) {
		t.Errorf("2026-W01 starts %v (%v)", from, err)
	}
	for _, bad := range []string{"2026-13", "26-11", "november"} {
		if _, _, _, err := report.MonthPeriod(bad, now, shanghai); err == nil {
			t.Errorf("month %q accepted", bad)
		}
	}
	for _, bad := range []string{"2026-W54", "2026W48", "2026-W4"} {
		if _, _, _, err := report.WeekPeriod(bad, now, shanghai); err == nil {
			t.Errorf("week %q accepted", bad)
		}
	}
}

// TestPDF: with Chromium the report's PDF is attached; without it the
// report says why there is none.
func TestPDF(t *testing.T) {
	r := buildFrom(t, t.TempDir(), report.Monthly, report.Sources{})
	x := render(t, r, i18n.EN, true)
	var pdf []byte
	for _, a := range x.Attachments {
		if strings.HasSuffix(a.Name, ".pdf") {
			pdf = a.Data
		}
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || x.PDFNote != "" {
		t.Fatalf("no PDF attached (note %q)", x.PDFNote)
	}
	fonts, _ := chartfont.Load("")
	x, err := report.Render(r, report.Options{Lang: i18n.EN, Loc: shanghai, Fonts: fonts, PDF: true, Chromium: "/nonexistent/chromium"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range x.Attachments {
		if strings.HasSuffix(a.Name, ".pdf") {
			t.Error("a PDF without Chromium")
		}
	}
	if !strings.Contains(x.PDFNote, "No PDF attached") || !strings.Contains(x.HTML, x.PDFNote) || !strings.Contains(x.Text, x.PDFNote) {
		t.Errorf("the report does not say why it has no PDF: %q", x.PDFNote)
	}
}

// TestDeliverRetriesAndAlerts: a mail server that refuses the login is
// tried again, then the failure goes out through the other channels (a
// real webhook receiver), and Deliver says what failed.
func TestDeliverRetriesAndAlerts(t *testing.T) {
	r := buildFrom(t, t.TempDir(), report.Weekly, report.Sources{})
	x := render(t, r, i18n.ZH, false)
	srv := notifytest.StartMailServer(t, "dbops", "right")
	bad, err := notify.NewEmail(&config.Notify{Name: "bureau", Type: "email", SMTP: srv.Addr, Username: "dbops", Password: secret.New("wrong"),
		From: "dbopsd@example.cn", To: []string{"bureau@example.cn"}}, srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	hook := notifytest.StartHookServer(t, "hook-secret")
	wh, err := notify.NewWebhook(&config.Notify{Name: "ops", Type: "webhook", URL: hook.URL, Secret: secret.New("hook-secret"),
		Events: []string{config.EventWeeklySummary}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = report.Deliver(context.Background(), x, r.Kind, r.Label, report.DeliverOptions{Mailers: []report.Mailer{bad},
		Alerts: []notify.Sender{wh}, Retries: 2, Wait: 100 * time.Millisecond, Event: config.EventWeeklySummary})
	if err == nil || !strings.Contains(err.Error(), "after 3 tries") {
		t.Fatalf("Deliver: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("three tries took %v: no back-off (100 ms, then 200 ms)", d)
	}
	ev := hook.Wait(t, 1, 10*time.Second)[0]
	if ev.Type != config.EventWeeklySummary || !strings.Contains(ev.Summary, "not sent through bureau") || ev.Error == "" {
		t.Errorf("alert: %+v", ev)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d mails arrived with a wrong password", n)
	}
}

// TestJobPerDatabase: per = "database" makes one report per database, each
// in its own directory and its own row of the job log.
func TestJobPerDatabase(t *testing.T) {
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	out := t.TempDir()
	j := report.Job{Kind: report.Weekly, Period: "2026-W46", Loc: shanghai, Site: "市大数据中心", PerDB: true, Databases: dbs(history.Databases),
		Lang: i18n.ZH, Catalog: cat, RegisterPath: filepath.Join(state, register.FileName), StateDir: state, Out: out, Trigger: "cli"}
	outcomes, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 3 {
		t.Fatalf("%d reports, want 3", len(outcomes))
	}
	for i, o := range outcomes {
		if o.Scope != history.Databases[i] || o.Dir != filepath.Join(state, "reports", "weekly", "2026-W46-"+o.Scope) {
			t.Errorf("report %d: %+v", i, o)
		}
		page, err := os.ReadFile(filepath.Join(out, o.Scope, "report.html"))
		if err != nil || !strings.Contains(string(page), "市大数据中心 "+o.Scope+" 数据库巡检周报") {
			t.Errorf("%s: %v", o.Scope, err)
		}
	}
	jobs, err := cat.Jobs(context.Background(), catalog.JobFilter{Kind: report.CatalogKindOf(report.Weekly)})
	if err != nil || len(jobs) != 3 || jobs[1].Target != "orders" || jobs[1].Status != catalog.StatusOK {
		t.Errorf("job log: %+v (%v)", jobs, err)
	}
}

// TestDictionaries: the dictionary of each database whose schema changed
// is attached, or every database's with AllDictionaries.
func TestDictionaries(t *testing.T) {
	state := t.TempDir()
	reporttest.Generate(t, state, history)
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	from, to, label, _ := report.MonthPeriod("2026-11", time.Time{}, shanghai)
	for all, want := range map[bool]int{false: 1, true: 3} {
		r, err := report.Build(context.Background(), report.Input{Kind: report.Monthly, From: from, To: to, Label: label, Databases: dbs(history.Databases),
			Catalog: cat, Sources: reporttest.Sources(history), AllDictionaries: all})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Dictionaries) != want {
			t.Errorf("all %v: %d dictionaries, want %d", all, len(r.Dictionaries), want)
		}
	}
}
