package drill_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/request"
)

// sample is a report as a passing differential drill with a request
// leaves it, with a reason that tries to inject markup.
func sample(verdict string) *drill.Report {
	start := time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)
	r := &drill.Report{
		Version: drill.ReportVersion, ID: "R20260301-101500-3f9a2c", Scenario: drill.ScenarioRedirected, Verdict: verdict,
		Database: "queue", Engine: "postgres", SourceServer: "10.1.1.10:5432",
		Request: &drill.RequestInfo{ID: "R20260301-101500-3f9a2c", Action: "drill", Reason: "季度演练 <script>alert(1)</script>",
			Parameters: request.Parameters{Database: "queue", Target: "scratch-pg", As: "queue_drill", Tables: []string{}},
			Requester:  "zhang.wei", Approvers: []string{"wang.fang"}, Created: start, NotBefore: start, Expires: start.Add(2 * time.Hour),
			Digest: strings.Repeat("ab", 32), RegisterRef: 7,
			Signatures: []drill.SignatureInfo{
				{Signer: "zhang.wei", Role: drill.RoleRequester, KeyType: "ssh-ed25519", Fingerprint: "SHA256:0pLgh0n0yqGgdSbZZV9mRQ1y4z5pBFIdxw8YTi4i2vM"},
				{Signer: "wang.fang", Role: drill.RoleApprover, KeyType: "ecdsa-sha2-nistp256", Fingerprint: "SHA256:Yx9aZ0RGXbwP3IuGs0Ck5l0HnG7b6n6S3d5c1m3lq2E"},
			}},
		Backup: &drill.BackupInfo{ID: "20260215T020000.000Z-9b1c", Type: "differential", Generation: "20260201T020000.000Z-1a2b",
			Base: "20260201T020000.000Z-1a2b", StartedAt: start.Add(-14 * 24 * time.Hour), ServerVersion: "PostgreSQL 15.6",
			Position: "0/3A000060", Tables: 2, Rows: 33500, RawBytes: 4 << 20, StoredBytes: 300 << 10},
		Target: drill.TargetInfo{Name: "scratch-pg", Server: "10.1.1.50:5432", Scratch: true, Database: "queue_drill",
			Disposition: drill.Dropped, DispositionNote: "the scratch copy the drill created was dropped"},
		StartedAt: start, FinishedAt: start.Add(95 * time.Second), BytesRead: 4 << 20,
		Timings: drill.Timings{Restore: 61 * time.Second, Compare: 9 * time.Second, Integrity: 20 * time.Second, Checks: 29 * time.Second,
			Cleanup: time.Second, Total: 95 * time.Second},
		Checks: []drill.Check{
			{Name: drill.CheckBackup, Status: drill.Pass, Detail: "backup 20260215T020000.000Z-9b1c (differential of full 20260201T020000.000Z-1a2b)"},
			{Name: drill.CheckRestore, Status: drill.Pass, Detail: "restored the whole database", Duration: 61 * time.Second},
			{Name: drill.CheckStatistics, Status: drill.Pass, Detail: "2 table(s), 33500 rows", Duration: 9 * time.Second},
			{Name: drill.CheckIntegrity, Status: drill.Pass, Detail: "pg_amcheck 15.6: no findings", Duration: 20 * time.Second},
			{Name: drill.CheckCleanup, Status: drill.Pass, Detail: "dropped", Duration: time.Second},
		},
		Tables: []drill.TableResult{
			{Table: "hall.ratings", BackupRows: 3000, RestoredRows: 3000, BackupChecksum: "9f2c", RestoredChecksum: "9f2c", Equal: true},
			{Table: "hall.tickets", BackupRows: 30500, RestoredRows: 30500, BackupChecksum: "77aa", RestoredChecksum: "77aa", Equal: true},
		},
		Integrity: &engines.IntegrityReport{Tool: "pg_amcheck 15.6"},
		Restore:   &engines.RestoreReport{Skipped: []string{"role hall_owner does not exist on the target: its grants were skipped"}},
		Host:      "dbops-01", Trigger: "request", JobID: 42,
	}
	r.Chain = []drill.BackupInfo{{ID: r.Backup.Base, Type: "full", StartedAt: start.Add(-28 * 24 * time.Hour), Tables: 2, Rows: 33000,
		RawBytes: 4 << 20, StoredBytes: 3 << 20}, *r.Backup}
	if verdict == drill.Fail {
		r.Checks[2] = drill.Check{Name: drill.CheckStatistics, Status: drill.Fail, Detail: "table hall.tickets: 30499 rows restored, 30500 backed up"}
		r.Problems = []string{"statistics: table hall.tickets: 30499 rows restored, 30500 backed up"}
		r.Tables[1].RestoredRows, r.Tables[1].Equal = 30499, false
	}
	return r
}

func TestHTML(t *testing.T) {
	for _, verdict := range []string{drill.Pass, drill.Fail} {
		for _, lang := range []string{drill.LangZH, drill.LangEN} {
			t.Run(verdict+"/"+lang, func(t *testing.T) {
				r := sample(verdict)
				var b bytes.Buffer
				if err := drill.WriteHTML(&b, r, drill.HTMLOptions{Language: lang, Location: time.FixedZone("CST", 8*3600)}); err != nil {
					t.Fatal(err)
				}
				checkHTML(t, b.Bytes(), lang, r)
				page := b.String()
				if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
					t.Error("the reason was not escaped")
				}
				if !strings.Contains(page, "2026-03-01 18:15:00 CST") {
					t.Error("times are not shown in the given zone")
				}
			})
		}
	}
}

// checkHTML checks the structure of a report page: one self-contained
// document (no scripts, no external assets), the sections in order with
// labels in lang, the verdict, and what the report must show.
func checkHTML(t *testing.T, page []byte, lang string, r *drill.Report) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Error("no doctype")
	}
	var (
		h2s, styles []string
		tables      int
		htmlLang    string
		charset     bool
		text        strings.Builder
	)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "link", "img", "iframe", "object", "embed", "form", "input":
				t.Errorf("the page has a <%s> element", n.Data)
			case "html":
				htmlLang = attr(n, "lang")
			case "meta":
				charset = charset || strings.EqualFold(attr(n, "charset"), "utf-8")
			case "h2":
				h2s = append(h2s, textOf(n))
			case "table":
				tables++
				if textOf(n) == "" {
					t.Error("an empty table")
				}
			case "style":
				styles = append(styles, textOf(n))
			}
			for _, a := range n.Attr {
				v := strings.ToLower(a.Val)
				if (a.Key == "src" || a.Key == "href") || strings.Contains(v, "url(") || strings.Contains(v, "http://") || strings.Contains(v, "https://") {
					t.Errorf("external reference: <%s %s=%q>", n.Data, a.Key, a.Val)
				}
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("event handler attribute %s", a.Key)
				}
			}
			if s := attr(n, "style"); s != "" {
				styles = append(styles, s)
			}
		}
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
			text.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	css := strings.Join(styles, "\n")
	for _, font := range []string{`"PingFang SC"`, `"Microsoft YaHei"`, `"Noto Sans CJK SC"`, "sans-serif"} {
		if !strings.Contains(css, font) {
			t.Errorf("fonts: %s missing", font)
		}
	}
	if !strings.Contains(css, "@media print") {
		t.Error("no print styles")
	}
	if !charset {
		t.Error("no <meta charset=utf-8>")
	}
	if tables < 5 {
		t.Errorf("%d tables", tables)
	}
	all := text.String()
	var want []string
	var wantLang string
	switch lang {
	case drill.LangZH:
		wantLang = "zh-CN"
		want = []string{"概要", "恢复耗时（RTO）", "申请与审批", "使用的备份", "检查项"}
		musts := []string{"灾难恢复演练报告", "结论", "恢复耗时", "总耗时", "备份链"}
		if r.Request != nil {
			musts = append(musts, "申请人", "审批人", "密钥指纹")
		}
		for _, s := range musts {
			if !strings.Contains(all, s) {
				t.Errorf("zh page lacks %q", s)
			}
		}
		if v := map[string]string{drill.Pass: "结论：通过", drill.Fail: "结论：未通过"}[r.Verdict]; !strings.Contains(all, v) {
			t.Errorf("zh page lacks %q", v)
		}
	case drill.LangEN:
		wantLang = "en"
		want = []string{"Summary", "Recovery time (RTO)", "Request and approvals", "Backup used", "Checks"}
		for _, s := range []string{"Disaster recovery drill report", "Restore time", "Total"} {
			if !strings.Contains(all, s) {
				t.Errorf("en page lacks %q", s)
			}
		}
		if v := map[string]string{drill.Pass: "Verdict: PASSED", drill.Fail: "Verdict: FAILED"}[r.Verdict]; !strings.Contains(all, v) {
			t.Errorf("en page lacks %q", v)
		}
	}
	if htmlLang != wantLang {
		t.Errorf("<html lang=%q>, want %q", htmlLang, wantLang)
	}
	if len(r.Tables) > 0 {
		want = append(want, map[string]string{drill.LangZH: "表数据比对", drill.LangEN: "Table comparison"}[lang])
	}
	if len(h2s) < len(want) || !slices.Equal(h2s[:len(want)], want) {
		t.Errorf("sections %q, want %q first", h2s, want)
	}
	musts := []string{r.ID, r.Database, r.Target.Database}
	if r.Request != nil {
		musts = append(musts, r.Request.Requester, r.Request.Digest)
		for _, s := range r.Request.Signatures {
			musts = append(musts, s.Fingerprint)
		}
	}
	for _, b := range r.Chain {
		musts = append(musts, b.ID)
	}
	for _, tr := range r.Tables {
		musts = append(musts, tr.Table)
	}
	for _, m := range musts {
		if !strings.Contains(all, m) {
			t.Errorf("the page does not show %q", m)
		}
	}
	checkDetails(t, all, lang, r)
}

// checkDetails checks what the checks found, as the page says it. A check
// with a Message reads in the page's language: on a Chinese page, neither
// its English Detail nor any fixed words of the English sentences show,
// outside what servers, tools and engines said, which shows verbatim. A
// report written by an older dbopsd (no Messages) shows its stored Detail
// and Problems.
func checkDetails(t *testing.T, all, lang string, r *drill.Report) {
	t.Helper()
	structured := slices.ContainsFunc(r.Checks, func(c drill.Check) bool { return c.Message != nil })
	if !structured {
		for _, s := range append(detailsOf(r), r.Problems...) {
			if !strings.Contains(all, s) {
				t.Errorf("the page does not show %q", s)
			}
		}
		return
	}
	var verbatim []string
	for _, c := range r.Checks {
		if c.Message == nil {
			t.Errorf("check %s has no message: %+v", c.Name, c)
			continue
		}
		for m := c.Message; m != nil; m = m.Cause {
			verbatim = append(verbatim, m.Error)
		}
		if n := c.Message.ReasonMessage; n != nil {
			verbatim = append(verbatim, noteData(n)...)
		} else {
			verbatim = append(verbatim, c.Message.Reason)
		}
		verbatim = append(verbatim, c.Message.Findings...)
		switch lang {
		case drill.LangZH:
			if strings.Contains(all, c.Detail) {
				t.Errorf("the zh page shows the English detail of %s: %q", c.Name, c.Detail)
			}
		case drill.LangEN:
			// Detail has times in UTC, the page in its zone.
			if c.Message.Taken.IsZero() && !strings.Contains(all, c.Detail) {
				t.Errorf("the en page does not show the detail of %s: %q", c.Name, c.Detail)
			}
		}
	}
	for _, m := range r.WarningMessages {
		verbatim = append(verbatim, m.Error)
	}
	// Names are data too ("drill_table_1").
	verbatim = append(verbatim, r.ID, r.Database, r.Target.Name, r.Target.Database, r.Target.Server)
	verbatim = append(verbatim, r.Target.Tables...)
	for _, tr := range r.Tables {
		verbatim = append(verbatim, tr.Table)
	}
	if r.Request != nil {
		verbatim = append(verbatim, r.Request.Reason)
	}
	// The engines' notes: their data, where they have Notes (and the zh
	// page must not show their English); as stored where they do not.
	if r.Restore != nil {
		verbatim = append(verbatim, notesVerbatim(t, all, lang, r.Restore.Skipped, r.Restore.SkippedMessages)...)
		verbatim = append(verbatim, notesVerbatim(t, all, lang, r.Restore.Notes, r.Restore.NoteMessages)...)
	}
	if r.Integrity != nil {
		verbatim = append(verbatim, r.Integrity.Tool)
		verbatim = append(verbatim, r.Integrity.Findings...)
		if r.Integrity.SkippedMessage != nil {
			verbatim = append(verbatim, notesVerbatim(t, all, lang, []string{r.Integrity.Skipped}, []engines.Note{*r.Integrity.SkippedMessage})...)
		} else {
			verbatim = append(verbatim, r.Integrity.Skipped)
		}
	}
	for _, b := range r.Chain {
		verbatim = append(verbatim, b.Error)
	}
	for _, v := range verbatim {
		if v != "" && !strings.Contains(all, v) {
			t.Errorf("the page does not show, verbatim, %q", v)
		}
	}
	if lang != drill.LangZH {
		return
	}
	ours := all
	slices.SortFunc(verbatim, func(a, b string) int { return len(b) - len(a) }) // longest first: some contain others
	for _, v := range verbatim {
		if v != "" {
			ours = strings.ReplaceAll(ours, v, "")
		}
	}
	for _, p := range drill.EnglishPhrases() {
		if strings.Contains(ours, p) {
			t.Errorf("the zh page has English words of the detail sentences: %q", p)
		}
	}
}

// notesVerbatim is what of an engine's notes a page shows verbatim: the
// data of their Notes, or their stored English where the report has no
// Notes for them. The zh page must not show the English of a Note.
func notesVerbatim(t *testing.T, all, lang string, text []string, ns []engines.Note) []string {
	t.Helper()
	if len(ns) != len(text) {
		return text
	}
	var out []string
	for i := range ns {
		out = append(out, noteData(&ns[i])...)
		if lang == drill.LangZH && strings.Contains(all, text[i]) && !slices.Contains(noteData(&ns[i]), text[i]) {
			t.Errorf("the zh page shows the engine's English %q", text[i])
		}
	}
	return out
}

// noteData are the parameters of a Note and of what it is about, but for
// the kind of object, which is a word of the page's language.
func noteData(n *engines.Note) []string {
	var out []string
	for k, v := range n.Params {
		if k != "kind" {
			out = append(out, v)
		}
	}
	if n.What != nil {
		out = append(out, noteData(n.What)...)
	}
	return out
}

func detailsOf(r *drill.Report) []string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.Detail)
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// TestHTMLInChromium renders the page in headless Chromium and checks the
// screenshot: a page of the right shape with the verdict banner's colour,
// i.e. the inline CSS took effect.
func TestHTMLInChromium(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: apt-get install -y chromium (make test installs it)", chromium)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		verdict, lang string
		banner        [3]uint8 // the verdict banner's background
	}{
		{drill.Pass, drill.LangZH, [3]uint8{0xe6, 0xf4, 0xea}},
		{drill.Fail, drill.LangEN, [3]uint8{0xfc, 0xe8, 0xe6}},
	} {
		t.Run(c.verdict+"/"+c.lang, func(t *testing.T) {
			page := filepath.Join(dir, c.verdict+"-"+c.lang+".html")
			shot := filepath.Join(dir, c.verdict+"-"+c.lang+".png")
			var b bytes.Buffer
			if err := drill.WriteHTML(&b, sample(c.verdict), drill.HTMLOptions{Language: c.lang}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--no-first-run", "--hide-scrollbars", "--disable-background-networking", "--disable-quic", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile-"+c.verdict),
				"--window-size=1000,2400", "--screenshot="+shot, "file://"+page)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("chromium: %v\n%s", err, out)
			}
			f, err := os.Open(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v\n%s", err, out)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			checkScreenshot(t, img, c.banner)
			t.Logf("screenshot %s (%dx%d)", shot, img.Bounds().Dx(), img.Bounds().Dy())
		})
	}
}

func checkScreenshot(t *testing.T, img image.Image, banner [3]uint8) {
	t.Helper()
	bnd := img.Bounds()
	if bnd.Dx() < 800 || bnd.Dy() < 1000 {
		t.Fatalf("screenshot is %dx%d", bnd.Dx(), bnd.Dy())
	}
	colors := map[[3]uint8]int{}
	var dark, bannerPx, total int
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 2 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			c := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
			colors[c]++
			total++
			if int(c[0])+int(c[1])+int(c[2]) < 3*100 {
				dark++ // text
			}
			if near(c, banner) {
				bannerPx++
			}
		}
	}
	if len(colors) < 20 {
		t.Errorf("only %d colours: a blank or broken page", len(colors))
	}
	if frac := float64(dark) / float64(total); frac < 0.005 || frac > 0.5 {
		t.Errorf("%.3f of the pixels are dark: not a page of text", frac)
	}
	if bannerPx < 500 {
		t.Errorf("%d pixels of the verdict banner's colour %v: the inline CSS did not apply", bannerPx, banner)
	}
}

func near(a, b [3]uint8) bool {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < -3 || d > 3 {
			return false
		}
	}
	return true
}

// outcome is one thing a report can say, and how it reads in each
// language: a check's result, a warning, or what became of the copy.
type outcome struct {
	name   string
	check  string // a check name; "" for a warning or a disposition
	status string
	m      drill.Message
	zh, en string
}

// outcomes are every sentence of the catalog, in checks that pass, find a
// mismatch, are skipped, meet a tool's error, warn; and the warnings and
// dispositions around them.
func outcomes() []outcome {
	taken := time.Date(2026, 2, 15, 2, 0, 0, 0, time.UTC)
	const (
		diff, full = "20260215T020000.000Z-9b1c", "20260201T020000.000Z-1a2b"
		mib4       = 4 << 20
		restoreErr = `restore into PostgreSQL database queue_drill: pg_restore: error: could not execute query: ERROR:  relation "tickets" already exists`
		prepareErr = `checking whether "queue_drill" exists on scratch-pg: dial tcp 10.1.1.50:5432: connect: connection refused`
		statsErr   = `computing statistics of hall.tickets: ERROR: permission denied for table tickets (SQLSTATE 42501)`
		amcheckErr = `integrity check of PostgreSQL database queue_drill: pg_amcheck: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "queue_drill" is not currently accepting connections`
		finding1   = `heap table "queue_drill.hall.tickets", block 12, offset 3: xmin 1234 precedes relation freeze threshold 0:5678`
		finding2   = `btree index "queue_drill.hall.ratings_score": index tuple size does not equal lp_len`
		noAmcheck  = "the amcheck extension is not available on the server (it comes with the postgresql-contrib package)"
		dbccDenied = "the login lacks the rights for DBCC CHECKDB on this database (it needs db_owner)"
		dropErr    = `dropping database queue_drill: ERROR: database "queue_drill" is being accessed by other users (SQLSTATE 55006)`
		fullErr    = "backup 20260201T020000.000Z-1a2b of queue: reading the manifest: NoSuchKey: The specified key does not exist."
	)
	cleanup := func(name, disposition, cause, zh, en string) outcome {
		return outcome{name: name, check: drill.CheckCleanup, status: drill.Pass,
			m: drill.Message{Key: "cleanup.disposition", Disposition: disposition, Cause: &drill.Message{Key: cause}}, zh: zh, en: en}
	}
	return []outcome{
		{name: "backup of a differential", check: drill.CheckBackup, status: drill.Pass,
			m:  drill.Message{Key: "backup.found_differential", Backup: diff, BackupType: "differential", Base: full, Taken: taken, Tables: 2, Rows: 33500},
			zh: "备份 " + diff + "（差异备份，基于全量备份 " + full + "），备份时间 2026-02-15 10:00:00 CST，共 2 张表、33500 行",
			en: "backup " + diff + " (differential of full " + full + "), taken 2026-02-15 10:00:00 CST, 2 tables, 33500 rows"},
		{name: "backup of a full", check: drill.CheckBackup, status: drill.Pass,
			m:  drill.Message{Key: "backup.found", Backup: full, BackupType: "full", Taken: taken, Tables: 2, Rows: 33000},
			zh: "备份 " + full + "（全量备份），备份时间 2026-02-15 10:00:00 CST，共 2 张表、33000 行",
			en: "backup " + full + " (full), taken 2026-02-15 10:00:00 CST, 2 tables, 33000 rows"},
		{name: "no backup", check: drill.CheckBackup, status: drill.Fail,
			m:  drill.Message{Key: "backup.error", Error: "no backups of queue"},
			zh: "未能找到或读取要恢复的备份。错误信息：no backups of queue",
			en: "no backup to restore could be found or read: no backups of queue"},
		{name: "restored database", check: drill.CheckRestore, status: drill.Pass,
			m:  drill.Message{Key: "restore.database", Backup: diff, Target: "scratch-pg", Database: "queue_drill", Bytes: mib4},
			zh: "已将备份 " + diff + " 的整个数据库恢复到 scratch-pg，库名为“queue_drill”（读取 4.0 MiB）",
			en: "restored the whole database of backup " + diff + ` onto scratch-pg as "queue_drill" (4.0 MiB read)`},
		{name: "restored tables", check: drill.CheckRestore, status: drill.Pass,
			m: drill.Message{Key: "restore.tables", Backup: diff, Target: "scratch-pg", Database: "queue_drill", Bytes: mib4,
				Tables: 2, TableNames: []string{"hall.tickets", "hall.ratings"}},
			zh: "已将备份 " + diff + " 中的表 hall.tickets、hall.ratings 恢复到 scratch-pg 上的“queue_drill”库（读取 4.0 MiB）",
			en: "restored hall.tickets, hall.ratings of backup " + diff + ` onto scratch-pg into "queue_drill" (4.0 MiB read)`},
		{name: "restore failed", check: drill.CheckRestore, status: drill.Fail,
			m:  drill.Message{Key: "restore.error", Error: restoreErr},
			zh: "恢复失败。错误信息：" + restoreErr, en: "the restore failed: " + restoreErr},
		{name: "restore not prepared", check: drill.CheckRestore, status: drill.Fail,
			m:  drill.Message{Key: "restore.prepare_error", Error: prepareErr},
			zh: "准备恢复目标时出错。错误信息：" + prepareErr, en: "preparing the restore target failed: " + prepareErr},
		{name: "skipped: no backup", check: drill.CheckRestore, status: drill.Skip, m: drill.Message{Key: "skip.no_backup"},
			zh: "未执行：没有可恢复的备份", en: "not run: no backup to restore"},
		{name: "skipped: nothing restored", check: drill.CheckStatistics, status: drill.Skip, m: drill.Message{Key: "skip.nothing_restored"},
			zh: "未执行：没有恢复任何数据", en: "not run: nothing was restored"},
		{name: "skipped: restore failed", check: drill.CheckIntegrity, status: drill.Skip, m: drill.Message{Key: "skip.restore_failed"},
			zh: "未执行：恢复失败", en: "not run: the restore failed"},
		{name: "statistics equal", check: drill.CheckStatistics, status: drill.Pass,
			m:  drill.Message{Key: "statistics.equal", Tables: 2, Rows: 33500},
			zh: "共 2 张表、33500 行：行数和内容校验和均与备份时记录的一致",
			en: "2 table(s), 33500 rows: row counts and content checksums equal those recorded at backup time"},
		{name: "statistics mismatch", check: drill.CheckStatistics, status: drill.Fail,
			m: drill.Message{Key: "statistics.mismatch", Tables: 3, Mismatches: []drill.Mismatch{
				{Table: "hall.applications", Kind: drill.MismatchMissing, BackupRows: 120, BackupChecksum: "5e11"},
				{Table: "hall.ratings", Kind: drill.MismatchChecksum, BackupRows: 3000, RestoredRows: 3000, BackupChecksum: "9f2c", RestoredChecksum: "9f2d"},
				{Table: "hall.tickets", Kind: drill.MismatchRows, BackupRows: 30500, RestoredRows: 30499, BackupChecksum: "77aa", RestoredChecksum: "1b3c"},
			}},
			zh: "比对的 3 张表中有 3 张与备份时记录的不一致：表 hall.applications 在恢复副本中不存在；" +
				"表 hall.ratings 的行数相同，但内容校验和不同：恢复后为 9f2d，备份时为 9f2c；表 hall.tickets 恢复了 30499 行，备份时为 30500 行",
			en: "3 of 3 table(s) differ from the backup: table hall.applications: missing from the restored copy; " +
				"table hall.ratings: content checksum 9f2d restored, 9f2c backed up; table hall.tickets: 30499 rows restored, 30500 backed up"},
		{name: "statistics failed", check: drill.CheckStatistics, status: drill.Fail,
			m:  drill.Message{Key: "statistics.error", Error: statsErr},
			zh: "无法计算恢复副本的统计信息。错误信息：" + statsErr, en: "computing the statistics of the restored copy failed: " + statsErr},
		{name: "integrity passed", check: drill.CheckIntegrity, status: drill.Pass,
			m: drill.Message{Key: "integrity.ok", Tool: "pg_amcheck 15.6"}, zh: "pg_amcheck 15.6 未发现问题", en: "pg_amcheck 15.6: no findings"},
		{name: "integrity tool error", check: drill.CheckIntegrity, status: drill.Fail,
			m:  drill.Message{Key: "integrity.error", Error: amcheckErr},
			zh: "完整性检查未能完成。错误信息：" + amcheckErr, en: "the integrity check did not complete: " + amcheckErr},
		{name: "integrity findings", check: drill.CheckIntegrity, status: drill.Fail,
			m:  drill.Message{Key: "integrity.findings", Tool: "pg_amcheck 15.6", Findings: []string{finding1, finding2}},
			zh: "pg_amcheck 15.6 发现 2 个问题。检查工具报告：" + finding1 + "；" + finding2,
			en: "pg_amcheck 15.6: 2 finding(s); the tool reported: " + finding1 + "; " + finding2},
		// A reason without its Note (an older report, or an engine without
		// notes) shows as the engine said it.
		{name: "integrity not run", check: drill.CheckIntegrity, status: drill.Warn,
			m:  drill.Message{Key: "integrity.skipped", Tool: "DBCC CHECKDB", Reason: dbccDenied},
			zh: "未执行。数据库引擎说明：" + dbccDenied, en: "not run; the engine said: " + dbccDenied},
		{name: "integrity not run, with the engine's note", check: drill.CheckIntegrity, status: drill.Warn,
			m: drill.Message{Key: "integrity.skipped", Tool: "pg_amcheck", Reason: noAmcheck,
				ReasonMessage: &engines.Note{Key: engines.PGAmcheckUnavailable}},
			zh: "未执行。数据库引擎说明：服务器上没有 amcheck 扩展（它随 postgresql-contrib 软件包提供）",
			en: "not run; the engine said: " + noAmcheck},
		{name: "integrity without report", check: drill.CheckIntegrity, status: drill.Warn, m: drill.Message{Key: "integrity.no_report"},
			zh: "数据库引擎没有返回完整性检查结果", en: "the engine returned no integrity report"},
		{name: "dropped", check: drill.CheckCleanup, status: drill.Pass,
			m:  drill.Message{Key: "cleanup.dropped", Database: "queue_drill", Target: "scratch-pg"},
			zh: "已删除 scratch-pg 上的“queue_drill”（已记入临时库登记表）", en: `dropped "queue_drill" on scratch-pg (recorded in the scratch ledger)`},
		{name: "gone", check: drill.CheckCleanup, status: drill.Pass,
			m:  drill.Message{Key: "cleanup.gone", Database: "queue_drill", Target: "scratch-pg", Cause: &drill.Message{Key: "disposition.engine_removed"}},
			zh: "scratch-pg 上已没有“queue_drill”：数据库引擎已自行删除未恢复完成的数据库，无需再删除",
			en: `"queue_drill" does not exist on scratch-pg: nothing left to drop: the engine removed the half-restored database`},
		cleanup("nothing restored", drill.Left, "disposition.nothing_restored", "未改动：没有恢复任何数据", "left in place: nothing was restored"),
		cleanup("foreign database", drill.Left, "disposition.foreign_exists", "未改动：目标上已有同名数据库，且不是 dbopsd 创建的，未作任何改动",
			"left in place: a database of that name already existed and was not dbopsd's: left untouched"),
		cleanup("nothing to drop", drill.Left, "disposition.nothing_to_drop", "未改动：没有需要删除的数据库", "left in place: nothing to drop"),
		cleanup("not a scratch target", drill.Kept, "disposition.not_scratch",
			"已保留：恢复目标不是临时库目标，恢复出的数据库予以保留（dbopsd 只删除自己在临时库目标上创建的数据库）",
			"kept: the target is not a scratch target: the restored database stays (dbopsd drops only scratch databases it created)"),
		cleanup("into an existing database", drill.Left, "disposition.into_existing", "未改动：表恢复到了一个并非 dbopsd 创建的已有数据库中，该库保持原样",
			"left in place: the tables were restored into an existing database that dbopsd did not create: it is left in place"),
		cleanup("kept on request", drill.Kept, "disposition.keep_asked", "已保留：本次演练要求保留恢复副本", "kept: the drill asked to keep its restored copy"),
		cleanup("kept on failure", drill.Kept, "disposition.keep_on_failure", "已保留：演练未通过，留作检查（keep_on_failure）",
			"kept: for inspection after a failed drill (keep_on_failure)"),
		{name: "drop failed", check: drill.CheckCleanup, status: drill.Warn,
			m:  drill.Message{Key: "cleanup.disposition", Disposition: drill.Kept, Cause: &drill.Message{Key: "disposition.drop_failed", Error: dropErr}},
			zh: "已保留：删除恢复副本失败，守护进程下次启动时的清理会重试。错误信息：" + dropErr,
			en: "kept: dropping the copy failed (" + dropErr + "); the cleanup at the daemon's next start retries"},
		{name: "disposition", m: drill.Message{Key: "disposition.dropped"},
			zh: "已删除：本次演练创建的临时恢复副本，演练结束后即删除", en: "dropped: the scratch copy the drill created was dropped"},
		{name: "warning: full unreadable", m: drill.Message{Key: "warning.full_unreadable", Base: full, Error: fullErr},
			zh: "此差异备份所基于的全量备份 " + full + " 无法读取。错误信息：" + fullErr,
			en: "the full backup " + full + " of this differential does not read: " + fullErr},
		{name: "warning: scratch ledger", m: drill.Message{Key: "warning.scratch_ledger", Error: "database is locked"},
			zh: "写入临时库登记表失败。错误信息：database is locked", en: "scratch ledger: database is locked"},
	}
}

// noteOutcome is one thing an engine can say, as a Note, and how it reads
// in each language. Where is where the report has it: "skipped" and
// "notes" (the restore's), "integrity" (why the check did not run: the
// integrity check's detail, after its lead).
type noteOutcome struct {
	name   string
	where  string
	n      engines.Note
	zh, en string
}

// noteOutcomes are every sentence of the engines' note catalog, with the
// parameters the engines give them.
func noteOutcomes() []noteOutcome {
	pg := func(key string, params engines.Params) engines.Note { return engines.Note{Key: key, Params: params} }
	about := func(what engines.Note, key string, params engines.Params) engines.Note {
		return engines.Note{Key: key, Params: params, What: &what}
	}
	const (
		db         = "queue_drill"
		noParam    = `unrecognized configuration parameter "dbops_no_such_param"`
		noTool     = "pg_amcheck of PostgreSQL 14 or newer not found in /usr/lib/postgresql/*/bin or on PATH: install postgresql-client-14 or set pg_bin_dir"
		noSuper    = "Error 1419 (HY000): You do not have the SUPER privilege and binary logging is enabled (you *might* want to use the less safe log_bin_trust_function_creators variable)"
		noLogBin   = "Error 1227 (42000): Access denied; you need (at least one of) the SUPER privilege(s) for this operation"
		noInfile   = "Error 1148 (42000): The used command is not allowed with this MariaDB version"
		fkDef      = "CONSTRAINT `child_text_fk` FOREIGN KEY (`text_id`) REFERENCES `texts` (`id`)"
		badLocale  = `ERROR: invalid locale name: "zh_CN.GB18030" (SQLSTATE 42809)`
		warnings   = "Data truncated for column 'd' at row 1; Out of range value for column 'f' at row 2"
		oldReason  = "the history was written by a server that keeps it in another table"
		comment    = "数据库 " + db + " 的注释"
		setting    = "数据库 " + db + " 的参数设置 dbops_no_such_param"
		roleSet    = "角色 hall_auditor 在数据库 " + db + " 中的参数设置 statement_timeout"
		cannotLoad = "the server cannot load row history (needs MariaDB 10.11 system_versioning_insert_history)"
	)
	dbSetting := pg(engines.PGDatabaseSetting, engines.Params{"setting": "dbops_no_such_param", "database": db})
	return []noteOutcome{
		{"ownership", "skipped", pg(engines.PGOwnershipNotRestored, engines.Params{"roles": "hall_owner, hall_clerk", "user": "postgres"}),
			"对象的属主和授权未恢复：目标服务器上缺少角色 hall_owner, hall_clerk；对象改归执行恢复的用户 postgres 所有",
			"ownership and privileges (GRANTs) not restored: roles missing on the target server: hall_owner, hall_clerk; objects belong to the restoring user postgres"},
		{"policy", "skipped", pg(engines.PGPolicyNotCreated, engines.Params{"policy": "本窗口", "table": "hall.取号记录", "roles": "hall_owner"}),
			"表 hall.取号记录 上的行级安全策略 本窗口 未创建：它引用的角色在目标服务器上不存在（hall_owner）",
			"row-level security policy 本窗口 on hall.取号记录 not created: it names roles missing on the target server (hall_owner)"},
		{"foreign key", "skipped", pg(engines.PGForeignKeyNotCreated, engines.Params{"constraint": "ratings_ticket_fkey", "table": "hall.ratings", "references": "hall.tickets", "database": db}),
			"表 hall.ratings 上的外键 ratings_ticket_fkey 未创建：它引用的表 hall.tickets 不在数据库 " + db + " 中",
			"foreign key ratings_ticket_fkey on hall.ratings not created: the table it references, hall.tickets, is not in database " + db},
		{"database owner missing", "skipped", pg(engines.PGDatabaseOwnerMissing, engines.Params{"database": db, "owner": "hall_owner"}),
			"数据库 " + db + " 的属主未设为 hall_owner：目标服务器上没有角色 hall_owner，数据库归执行恢复的用户所有",
			"owner of database " + db + " not set to hall_owner: role hall_owner is missing on the target server; the database belongs to the restoring user"},
		{"setting refused", "skipped", about(dbSetting, engines.PGRefused, engines.Params{"error": noParam, "sqlstate": "42704"}),
			setting + "：未能应用，目标服务器拒绝执行。服务器报告：" + noParam + "（错误码 42704）",
			"setting dbops_no_such_param of database " + db + " not applied: the target server refused it: " + noParam + " (SQLSTATE 42704)"},
		{"owner refused", "skipped", about(pg(engines.PGDatabaseOwner, engines.Params{"owner": "hall_owner", "database": db}), engines.PGRefused,
			engines.Params{"error": "must be able to SET ROLE \"hall_owner\"", "sqlstate": "42501"}),
			"数据库 " + db + " 的属主 hall_owner：未能应用，目标服务器拒绝执行。服务器报告：must be able to SET ROLE \"hall_owner\"（错误码 42501）",
			"owner hall_owner of database " + db + " not applied: the target server refused it: must be able to SET ROLE \"hall_owner\" (SQLSTATE 42501)"},
		{"connection limit refused", "skipped", about(pg(engines.PGConnectionLimit, engines.Params{"database": db}), engines.PGRefused,
			engines.Params{"error": "permission denied to alter database", "sqlstate": "42501"}),
			"数据库 " + db + " 的连接数上限：未能应用，目标服务器拒绝执行。服务器报告：permission denied to alter database（错误码 42501）",
			"connection limit of database " + db + " not applied: the target server refused it: permission denied to alter database (SQLSTATE 42501)"},
		{"comment refused", "skipped", about(pg(engines.PGDatabaseComment, engines.Params{"database": db}), engines.PGRefused,
			engines.Params{"error": "must be owner of database " + db, "sqlstate": "42501"}),
			comment + "：未能应用，目标服务器拒绝执行。服务器报告：must be owner of database " + db + "（错误码 42501）",
			"comment on database " + db + " not applied: the target server refused it: must be owner of database " + db + " (SQLSTATE 42501)"},
		{"revoke refused", "skipped", about(pg(engines.PGRevoke, engines.Params{"database": db, "role": "PUBLIC"}), engines.PGRefused,
			engines.Params{"error": "permission denied for database " + db, "sqlstate": "42501"}),
			"撤销 PUBLIC 在数据库 " + db + " 上的全部权限：未能应用，目标服务器拒绝执行。服务器报告：permission denied for database " + db + "（错误码 42501）",
			"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC not applied: the target server refused it: permission denied for database " + db + " (SQLSTATE 42501)"},
		{"role setting, role missing", "skipped",
			about(pg(engines.PGRoleSetting, engines.Params{"setting": "statement_timeout", "role": "hall_auditor", "database": db}), engines.PGRoleMissing, engines.Params{"role": "hall_auditor"}),
			roleSet + "：未恢复，目标服务器上没有角色 hall_auditor",
			"setting statement_timeout of role hall_auditor in database " + db + " not restored: role hall_auditor is missing on the target server"},
		{"grant, grantee missing", "skipped",
			about(pg(engines.PGGrantWithOption, engines.Params{"privileges": "CONNECT, TEMPORARY", "database": db, "grantee": "hall_auditor"}), engines.PGRoleMissing, engines.Params{"role": "hall_auditor"}),
			"授予 hall_auditor 数据库 " + db + " 的 CONNECT, TEMPORARY 权限（可转授）：未恢复，目标服务器上没有角色 hall_auditor",
			"GRANT CONNECT, TEMPORARY ON DATABASE " + db + " TO hall_auditor WITH GRANT OPTION not restored: role hall_auditor is missing on the target server"},
		{"grant, grantor missing", "skipped",
			about(pg(engines.PGGrantBy, engines.Params{"privileges": "TEMPORARY", "database": db, "grantee": "hall_reader", "grantor": "hall_auditor"}), engines.PGGrantorMissing, engines.Params{"role": "hall_auditor"}),
			"由 hall_auditor 授予 hall_reader 数据库 " + db + " 的 TEMPORARY 权限：未恢复，授权者角色 hall_auditor 在目标服务器上不存在",
			"GRANT TEMPORARY ON DATABASE " + db + " TO hall_reader (granted by hall_auditor) not restored: role hall_auditor, which granted it, is missing on the target server"},
		{"grant, unknown privilege", "skipped",
			about(pg(engines.PGGrant, engines.Params{"privileges": "CONNECT, MAINTAIN", "database": db, "grantee": "PUBLIC"}), engines.PGUnknownPrivilege, nil),
			"授予 PUBLIC 数据库 " + db + " 的 CONNECT, MAINTAIN 权限：未恢复，其中有本版本不认识的数据库权限",
			"GRANT CONNECT, MAINTAIN ON DATABASE " + db + " TO PUBLIC not restored: not a database privilege this version knows"},
		{"grant, no grant option", "skipped",
			about(pg(engines.PGGrantWithOptionBy, engines.Params{"privileges": "CREATE", "database": db, "grantee": "hall_reader", "grantor": "hall_clerk"}), engines.PGNoGrantOption, engines.Params{"role": "hall_clerk"}),
			"由 hall_clerk 授予 hall_reader 数据库 " + db + " 的 CREATE 权限（可转授）：未恢复，hall_clerk 在目标服务器上没有转授该权限的权利",
			"GRANT CREATE ON DATABASE " + db + " TO hall_reader WITH GRANT OPTION (granted by hall_clerk) not restored: hall_clerk does not hold the grant option for it on the target server"},
		{"older server", "notes", pg(engines.PGOlderServer, engines.Params{"backup_version": "16", "server_version": "15"}),
			"将 PostgreSQL 16 的备份恢复到了版本较低的服务器（PostgreSQL 15）",
			"restoring a PostgreSQL 16 backup into an older server (PostgreSQL 15)"},
		{"default collation", "notes", pg(engines.PGDefaultCollation, engines.Params{"collation": "zh_CN.GB18030", "error": badLocale}),
			"源数据库的排序规则 zh_CN.GB18030 在目标服务器上不可用，数据库已按目标服务器的默认排序规则创建。服务器报告：" + badLocale,
			"database created with the target server's default collation: the source's (zh_CN.GB18030) is not usable there (" + badLocale + ")"},
		{"partition alone", "notes", pg(engines.PGPartitionStandalone, engines.Params{"table": "hall.events_2025"}),
			"分区 hall.events_2025 作为独立的表恢复：它所属的分区表不在本次恢复范围内",
			"partition hall.events_2025 restored as a standalone table: its partitioned table is not part of this restore"},
		{"no pg_amcheck", "integrity", pg(engines.PGNoAmcheckTool, engines.Params{"error": noTool}),
			"找不到可用的 pg_amcheck。错误信息：" + noTool, noTool},
		{"no amcheck", "integrity", pg(engines.PGAmcheckUnavailable, nil),
			"服务器上没有 amcheck 扩展（它随 postgresql-contrib 软件包提供）",
			"the amcheck extension is not available on the server (it comes with the postgresql-contrib package)"},
		{"amcheck not created", "integrity", pg(engines.PGAmcheckNotCreated, engines.Params{"error": "ERROR: permission denied to create extension \"amcheck\" (SQLSTATE 42501)"}),
			"无法创建 amcheck 扩展。服务器报告：ERROR: permission denied to create extension \"amcheck\" (SQLSTATE 42501)",
			"could not create the amcheck extension: ERROR: permission denied to create extension \"amcheck\" (SQLSTATE 42501)"},

		{"mysql foreign key", "skipped", pg(engines.MySQLForeignKeyNotRecreated, engines.Params{"table": "child", "definition": fkDef}),
			"表 child 的外键未重建：它引用的表不在本次恢复范围内。外键定义：" + fkDef,
			"table child: foreign key not recreated, its table is not restored: " + fkDef},
		{"mysql programs", "skipped", pg(engines.MySQLProgramsNotRecreated, engines.Params{"count": "5"}),
			"单表恢复不重建视图、存储过程/函数和事件（共 5 个）", "views, routines and events (5) are not recreated by a table restore"},
		{"mysql users", "skipped", pg(engines.MySQLUsersAndGrants, nil),
			"用户和授权未恢复：它们不属于数据库备份的内容", "users and grants: not part of a database backup"},
		{"mysql routine refused", "skipped", pg(engines.MySQLObjectRefused, engines.Params{"kind": engines.KindRoutine, "object": "twice", "error": noSuper}),
			"存储过程/函数 twice 未能创建，执行恢复的账号权限不足。服务器报告：" + noSuper, "routine twice: " + noSuper},
		{"mysql definer missing", "skipped", pg(engines.MySQLDefinerMissing, engines.Params{"definer": "`hall_app`@`%`"}),
			"已恢复的视图、存储过程/函数、触发器或事件的定义者（DEFINER）账号 `hall_app`@`%` 在目标服务器上不存在：请创建该账号，否则使用这些对象时会出错",
			"account `hall_app`@`%`, the DEFINER of restored views/routines/triggers/events, does not exist on the target: create it, or they fail when used"},
		{"mysql definer unchecked", "notes", pg(engines.MySQLDefinerUnchecked, engines.Params{"definer": "`hall_app`@`localhost`"}),
			"有对象以定义者（DEFINER）账号 `hall_app`@`localhost` 的身份运行；未能确认目标服务器上是否有该账号",
			"objects run as DEFINER `hall_app`@`localhost`; whether the account exists on the target could not be checked"},
		{"mysql definer replaced", "notes", pg(engines.MySQLDefinerReplaced, engines.Params{"kind": engines.KindView, "object": "v_base", "definer": "`root`@`localhost`"}),
			"视图 v_base 改以执行恢复的账号为定义者（DEFINER）重建，而不是 `root`@`localhost`（该账号无权指定其他定义者）",
			"view v_base recreated with the restoring account as DEFINER instead of `root`@`localhost` (the account may not name another definer)"},
		{"mysql trigger refused", "skipped", pg(engines.MySQLObjectRefused, engines.Params{"kind": engines.KindTrigger, "object": "gen_bi", "error": noSuper}),
			"触发器 gen_bi 未能创建，执行恢复的账号权限不足。服务器报告：" + noSuper, "trigger gen_bi: " + noSuper},
		{"mysql event refused", "skipped", pg(engines.MySQLObjectRefused, engines.Params{"kind": engines.KindEvent, "object": "nightly", "error": noSuper}),
			"事件 nightly 未能创建，执行恢复的账号权限不足。服务器报告：" + noSuper, "event nightly: " + noSuper},
		{"mysql event disabled", "notes", pg(engines.MySQLEventDisabled, engines.Params{"event": "nightly"}),
			"事件 nightly 以禁用状态（DISABLED）重建：数据库恢复时改了库名（执行 ALTER EVENT ... ENABLE 可启用）",
			"event nightly recreated DISABLED: the database was restored under another name (ALTER EVENT ... ENABLE to run it)"},
		{"mysql history, said by another version", "notes", pg(engines.MySQLHistoryLost, engines.Params{"table": "versioned", "reason": oldReason}),
			"表 versioned 的系统版本历史未恢复，只恢复了当前行。原因：" + oldReason,
			"TABLE versioned: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: " + oldReason},
		{"mysql history not loadable", "notes", pg(engines.MySQLHistoryNotLoadable, engines.Params{"table": "versioned"}),
			"表 versioned 的系统版本历史未恢复，只恢复了当前行：该服务器无法载入行历史（需要 MariaDB 10.11 的 system_versioning_insert_history）",
			"TABLE versioned: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: " + cannotLoad},
		{"mysql history of transaction ids", "notes", pg(engines.MySQLHistoryTrxID, engines.Params{"table": "trx_versioned"}),
			"表 trx_versioned 的系统版本历史未恢复，只恢复了当前行：该表按事务精确版本化（行的起止是事务号，无法重建）",
			"TABLE trx_versioned: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: transaction-precise versioning (row start/end are transaction ids, which cannot be recreated)"},
		{"mysql restored", "notes", pg(engines.MySQLRestored, engines.Params{"tables": "12", "rows": "30512", "took": "1.234s", "method": "load-data", "strategy": "bulk"}),
			"已恢复 12 张表、30512 行，用时 1.234s（加载方式 load-data，调度策略 bulk）", "restored 12 tables, 30512 rows in 1.234s (load-data, bulk)"},
		{"mysql local_infile off", "notes", pg(engines.MySQLLocalInfileOff, nil),
			"服务器关闭了 local_infile：改用 INSERT 批量插入加载数据，比 LOAD DATA 慢",
			"the server has local_infile off: rows loaded with INSERT batches, which is slower than LOAD DATA"},
		{"mysql LOAD DATA refused", "notes", pg(engines.MySQLLoadDataRefused, engines.Params{"error": noInfile}),
			"服务器拒绝了 LOAD DATA LOCAL INFILE，改用 INSERT 批量插入加载数据，速度较慢。服务器报告：" + noInfile,
			"the server refused LOAD DATA LOCAL INFILE (" + noInfile + "): rows loaded with INSERT batches, which is slower"},
		{"mysql load warnings", "notes", pg(engines.MySQLLoadWarnings, engines.Params{"table": "kinds", "count": "2", "warnings": warnings}),
			"表 kinds 加载时产生 2 条警告，例如：" + warnings, "table kinds: 2 warnings while loading, e.g. " + warnings},
		{"mysql binlog off", "notes", pg(engines.MySQLBinlogOff, nil),
			"本次恢复未写入目标服务器的二进制日志（sql_log_bin=0），其从库不会收到",
			"the restore is not written to the target's binary log (sql_log_bin=0): its replicas do not receive it"},
		{"mysql binlog on", "notes", pg(engines.MySQLBinlogOn, engines.Params{"error": noLogBin}),
			"本次恢复写入了目标服务器的二进制日志，其从库也会收到：执行恢复的账号无权设置 sql_log_bin。服务器报告：" + noLogBin,
			"the restore is written to the target's binary log, replicas receive it (the account may not SET sql_log_bin: " + noLogBin + ")"},
		{"mysql no tables", "integrity", pg(engines.MySQLNoTables, nil), "数据库中没有表", "the database has no tables"},
	}
}

// withNotes adds the notes of cases to r as the engines leave them: each
// with its English beside it; why the integrity check did not run as its
// check's detail, the first of them also in the report's Integrity.
func withNotes(r *drill.Report, cases []noteOutcome) {
	r.Restore = &engines.RestoreReport{}
	for _, c := range cases {
		switch c.where {
		case "skipped":
			r.Restore.AddSkipped(c.n)
		case "notes":
			r.Restore.AddNote(c.n)
		case "integrity":
			n := c.n
			if r.Integrity.SkippedMessage == nil {
				r.Integrity.Skip(n)
			}
			r.Checks = append(r.Checks, drill.Check{Name: drill.CheckIntegrity, Status: drill.Warn, Detail: "not run; the engine said: " + c.en,
				Message: &drill.Message{Key: "integrity.skipped", Tool: r.Integrity.Tool, Reason: c.en, ReasonMessage: &n}, Duration: time.Second})
		}
	}
}

// everyOutcome is sample's report with the checks, warnings and
// disposition of outcomes, as a report of this version stores them: each
// with its Message, and its English beside it.
func everyOutcome(cases []outcome) *drill.Report {
	r := sample(drill.Fail)
	r.Checks, r.Problems = nil, nil
	for _, c := range cases {
		switch {
		case c.check != "":
			r.Checks = append(r.Checks, drill.Check{Name: c.check, Status: c.status, Detail: c.en, Message: &c.m, Duration: time.Second})
			if c.status == drill.Fail {
				r.Problems = append(r.Problems, c.check+": "+c.en)
			}
		case strings.HasPrefix(c.m.Key, "warning."):
			r.Warnings, r.WarningMessages = append(r.Warnings, c.en), append(r.WarningMessages, c.m)
		default:
			r.Target.Disposition, r.Target.DispositionMessage = drill.Dropped, &c.m
			r.Target.DispositionNote = strings.TrimPrefix(c.en, "dropped: ")
		}
	}
	return r
}

// TestDetailsInEveryLanguage renders a report with every sentence of the
// catalog — checks that pass, find mismatches, are skipped, meet a tool's
// error — from its stored JSON: in Chinese, every sentence reads in Chinese
// (servers' and tools' words verbatim after a Chinese lead) and no English
// one shows; in English, the English.
func TestDetailsInEveryLanguage(t *testing.T) {
	cases, notes := outcomes(), noteOutcomes()
	used := map[string]bool{}
	var markNote func(n *engines.Note)
	markNote = func(n *engines.Note) {
		used["note."+n.Key] = true
		if n.What != nil {
			markNote(n.What)
		}
	}
	var mark func(m *drill.Message)
	mark = func(m *drill.Message) {
		used[m.Key] = true
		for _, mm := range m.Mismatches {
			used["mismatch."+mm.Kind] = true
		}
		if m.Cause != nil {
			mark(m.Cause)
		}
		if m.ReasonMessage != nil {
			markNote(m.ReasonMessage)
		}
	}
	for _, c := range cases {
		mark(&c.m)
	}
	for _, c := range notes {
		markNote(&c.n)
	}
	for _, key := range drill.MessageKeys(drill.LangEN) {
		if !used[key] {
			t.Errorf("no outcome says %s", key)
		}
	}

	// Stored, and read back: the page is rendered from the JSON.
	dir, want := t.TempDir(), everyOutcome(cases)
	withNotes(want, notes)
	if err := drill.Save(dir, want, drill.LangZH, nil); err != nil {
		t.Fatal(err)
	}
	r, err := drill.Load(dir, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Checks, want.Checks) || !reflect.DeepEqual(r.WarningMessages, want.WarningMessages) ||
		!reflect.DeepEqual(r.Warnings, want.Warnings) || !reflect.DeepEqual(r.Target, want.Target) ||
		!reflect.DeepEqual(r.Restore, want.Restore) || !reflect.DeepEqual(r.Integrity, want.Integrity) {
		t.Fatalf("the report changed through JSON:\n%+v\n%+v\n%+v", r.Checks, r.Target, r.Restore)
	}
	pages := map[string]string{}
	for _, lang := range []string{drill.LangZH, drill.LangEN} {
		var b bytes.Buffer
		if err := drill.WriteHTML(&b, r, drill.HTMLOptions{Language: lang, Location: time.FixedZone("CST", 8*3600)}); err != nil {
			t.Fatal(err)
		}
		checkHTML(t, b.Bytes(), lang, r)
		doc, err := html.Parse(&b)
		if err != nil {
			t.Fatal(err)
		}
		pages[lang] = textOf(doc)
	}
	zh, en := pages[drill.LangZH], pages[drill.LangEN]
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(zh, c.zh) {
				t.Errorf("the zh page lacks %q", c.zh)
			}
			if strings.Contains(zh, c.en) {
				t.Errorf("the zh page has the English %q", c.en)
			}
			if !strings.Contains(en, c.en) {
				t.Errorf("the en page lacks %q", c.en)
			}
		})
	}
	// The engines' notes: in Chinese on the zh page, as the engine's own
	// English on the en page, which is what the report stores beside them.
	for _, c := range notes {
		t.Run("note/"+c.name, func(t *testing.T) {
			if got := c.n.English(); got != c.en {
				t.Errorf("the engine's English is %q, want %q", got, c.en)
			}
			if !strings.Contains(zh, c.zh) {
				t.Errorf("the zh page lacks %q", c.zh)
			}
			// Unless the English is all the engine's data (an error), which
			// the Chinese quotes.
			if !strings.Contains(c.zh, c.en) && strings.Contains(zh, c.en) {
				t.Errorf("the zh page has the English %q", c.en)
			}
			if !strings.Contains(en, c.en) {
				t.Errorf("the en page lacks %q", c.en)
			}
		})
	}
	// Why it failed: each failed check, named and said in the language.
	for _, s := range []string{"未通过原因", "数据比对（行数与校验和）：比对的 3 张表中有 3 张", "完整性检查：完整性检查未能完成。错误信息：", "恢复：恢复失败。错误信息："} {
		if !strings.Contains(zh, s) {
			t.Errorf("the zh page lacks %q", s)
		}
	}
	for _, s := range []string{"Why it failed", "Statistics (rows and checksums): 3 of 3 table(s) differ", "Integrity check: the integrity check did not complete"} {
		if !strings.Contains(en, s) {
			t.Errorf("the en page lacks %q", s)
		}
	}
	// Phrases an English sentence would have; none on the Chinese page.
	for _, s := range []string{"rows restored", "backed up", "no findings", "not run", "the restore failed", "finding(s)", "differ from the backup",
		"row counts and content checksums", "left in place", "scratch ledger", "does not read", "taken 2026"} {
		if strings.Contains(zh, s) {
			t.Errorf("the zh page has %q", s)
		}
	}
	// What engines and tools said stays as they said it, after a lead.
	for _, s := range []string{"检查工具报告：", "数据库引擎报告："} {
		if !strings.Contains(zh, s) {
			t.Errorf("the zh page lacks the lead %q", s)
		}
	}
}

// TestDetailsFromOtherVersions: a check without a Message (a report of an
// older dbopsd), or with a key this version does not know (a newer one),
// shows its stored English.
func TestDetailsFromOtherVersions(t *testing.T) {
	r := sample(drill.Fail)
	r.Checks[3].Message = &drill.Message{Key: "integrity.something_new", Tool: "pg_amcheck 99"}
	r.Checks[3].Detail = "pg_amcheck 99: a new kind of outcome"
	r.Checks[4].Message = &drill.Message{Key: "cleanup.dropped", Database: "queue_drill", Target: "scratch-pg"}
	for _, lang := range []string{drill.LangZH, drill.LangEN} {
		var b bytes.Buffer
		if err := drill.WriteHTML(&b, r, drill.HTMLOptions{Language: lang}); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, s := range []string{r.Checks[0].Detail, "pg_amcheck 99: a new kind of outcome", r.Problems[0]} {
			if !strings.Contains(page, html.EscapeString(s)) {
				t.Errorf("%s: the page lacks the stored %q", lang, s)
			}
		}
		if want := map[string]string{drill.LangZH: "已删除 scratch-pg 上的“queue_drill”", drill.LangEN: `dropped &#34;queue_drill&#34; on scratch-pg`}[lang]; !strings.Contains(page, want) {
			t.Errorf("%s: the page lacks %q", lang, want)
		}
	}
}

// TestNotesFromOtherVersions: an engine's note without its Note (a report
// of an older dbopsd), or with a key this version does not know (a newer
// one), shows its stored English; the others of the report still read in
// the page's language.
func TestNotesFromOtherVersions(t *testing.T) {
	known := engines.Note{Key: engines.PGPartitionStandalone, Params: engines.Params{"table": "hall.events_2025"}}
	const (
		newer      = "publication hall_pub not created: logical replication is off on the target server"
		newerWhat  = "subscription hall_sub not applied: the target server refused it: permission denied (SQLSTATE 42501)"
		older      = "role hall_owner does not exist on the target: its grants were skipped"
		olderCheck = "the amcheck extension is not available on the server (it comes with the postgresql-contrib package)"
	)
	r := sample(drill.Pass)
	r.Restore = &engines.RestoreReport{
		// An older report: English only.
		Skipped: []string{older},
		// A newer one: a key unknown here, and a known key about an unknown object.
		Notes: []string{newer, newerWhat, known.English()},
		NoteMessages: []engines.Note{
			{Key: "postgres.publication_not_created", Params: engines.Params{"publication": "hall_pub"}},
			{Key: engines.PGRefused, Params: engines.Params{"error": "permission denied", "sqlstate": "42501"},
				What: &engines.Note{Key: "postgres.subscription", Params: engines.Params{"subscription": "hall_sub"}}},
			known,
		},
	}
	r.Integrity = &engines.IntegrityReport{Tool: "pg_amcheck", Skipped: olderCheck}
	for _, lang := range []string{drill.LangZH, drill.LangEN} {
		var b bytes.Buffer
		if err := drill.WriteHTML(&b, r, drill.HTMLOptions{Language: lang}); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(&b)
		if err != nil {
			t.Fatal(err)
		}
		page := textOf(doc)
		for _, s := range []string{older, newer, newerWhat, olderCheck} {
			if !strings.Contains(page, s) {
				t.Errorf("%s: the page lacks the stored %q", lang, s)
			}
		}
		want := map[string]string{drill.LangZH: "分区 hall.events_2025 作为独立的表恢复", drill.LangEN: known.English()}[lang]
		if !strings.Contains(page, want) {
			t.Errorf("%s: the page lacks %q", lang, want)
		}
	}
	// Notes that do not match the English item for item: the English.
	r.Restore.NoteMessages = r.Restore.NoteMessages[1:]
	var b bytes.Buffer
	if err := drill.WriteHTML(&b, r, drill.HTMLOptions{Language: drill.LangZH}); err != nil {
		t.Fatal(err)
	}
	if page := b.String(); strings.Contains(page, "分区") || !strings.Contains(page, known.English()) {
		t.Errorf("a report whose notes do not match their English item for item shows them translated")
	}
}

// technical reports whether w, a word in a Chinese sentence, is a name
// rather than English: an SQL keyword (DEFINER, LOAD DATA), an identifier
// (keep_on_failure, sql_log_bin, postgresql-contrib), a product.
func technical(w string) bool {
	switch w {
	case "dbopsd", "PostgreSQL", "MariaDB", "amcheck":
		return true
	}
	return w == strings.ToUpper(w) || strings.ContainsAny(w, "_-")
}

// TestMessageCatalog: every sentence is in every language, with the same
// parameters, and the Chinese ones have no English words.
func TestMessageCatalog(t *testing.T) {
	en, zh := drill.MessageKeys(drill.LangEN), drill.MessageKeys(drill.LangZH)
	if !slices.Equal(en, zh) {
		t.Fatalf("keys differ:\nen %q\nzh %q", en, zh)
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	// Words, and names made of them (pg_amcheck, postgresql-contrib).
	english := regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)*`)
	for _, key := range en {
		e, z := drill.MessageTemplate(drill.LangEN, key), drill.MessageTemplate(drill.LangZH, key)
		pe, pz := param.FindAllString(e, -1), param.FindAllString(z, -1)
		slices.Sort(pe)
		slices.Sort(pz)
		if !slices.Equal(pe, pz) {
			t.Errorf("%s: parameters %q in en, %q in zh", key, pe, pz)
		}
		for _, w := range english.FindAllString(param.ReplaceAllString(z, ""), -1) {
			if !technical(w) {
				t.Errorf("%s: English %q in %q", key, w, z)
			}
		}
	}
}
