package drill_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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
	musts = append(musts, r.Problems...)
	for _, m := range musts {
		if !strings.Contains(all, m) {
			t.Errorf("the page does not show %q", m)
		}
	}
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
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: apt-get install -y chromium (make deps)", chromium)
		}
		t.Skipf("%s is missing: apt-get install -y chromium (make deps)", chromium)
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
