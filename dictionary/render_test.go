package dictionary_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/chromiumtest"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

var update = flag.Bool("update", false, "rewrite testdata/model.json and the golden Markdown")

// model is testdata/model.json: the dictionary of pgFixture as collected
// once (-update collects it again), so the golden files do not depend on
// the server at hand.
func model(t *testing.T) *dictionary.Dictionary {
	t.Helper()
	path := filepath.Join("testdata", "model.json")
	if *update {
		conn, name := pgDatabase(t)
		d := collect(t, "postgres", conn, name)
		d.Database = "dict_fixture"
		d.CollectedAt = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
		var b bytes.Buffer
		if err := dictionary.WriteJSON(&b, d); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dictionary.Dictionary
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// earlier is d as it was before a change: a column was added, one was
// retyped, a comment written, a table dropped and another created.
func earlier(d *dictionary.Dictionary) *dictionary.Dictionary {
	var old dictionary.Dictionary
	b, _ := json.Marshal(d)
	json.Unmarshal(b, &old)
	old.CollectedAt = d.CollectedAt.Add(-24 * time.Hour)
	c := dictionary.Find(&old, dictionary.Ref{Schema: "public", Name: "customers"})
	c.Columns = slices.DeleteFunc(c.Columns, func(c dictionary.Column) bool { return c.Name == "name_c" })
	c.Comment = "客户（旧）"
	o := dictionary.Find(&old, dictionary.Ref{Schema: "销售", Name: "订单"})
	o.Columns[4].Type = "timestamp without time zone"
	o.Columns[3].Comment = ""
	old.Tables = slices.DeleteFunc(old.Tables, func(t dictionary.Table) bool { return t.Name == "registry_of_natural_persons_2025_q2" })
	old.Tables = append(old.Tables, dictionary.Table{Schema: "public", Name: "legacy", Kind: "table", Columns: []dictionary.Column{{Position: 1, Name: "id", Type: "integer"}}})
	return &old
}

func TestDiff(t *testing.T) {
	d := model(t)
	got := dictionary.Diff(earlier(d), d)
	var lines []string
	for _, c := range got {
		lines = append(lines, c.Text(i18n.EN))
	}
	want := []string{
		`comment of public.customers changed from "客户（旧）" to "客户"`,
		"column name_c (text) added to public.customers",
		"table public.registry_of_natural_persons_2025_q2 added",
		`comment of 销售.订单.金额 changed from "" to "订单金额（元）"`,
		"销售.订单.下单日期 retyped from timestamp without time zone to date",
		"table public.legacy dropped",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if n := len(dictionary.Diff(d, d)); n != 0 {
		t.Errorf("a dictionary differs from itself in %d ways", n)
	}
}

// TestMarkdownGolden: the tbls layout, in Chinese, of the fixture's
// model, with its changes.
func TestMarkdownGolden(t *testing.T) {
	d := model(t)
	old := earlier(d)
	doc := &dictionary.Document{Dict: d, Lang: i18n.ZH, Previous: old.CollectedAt, Changes: dictionary.Diff(old, d), DiagramsMissing: true}
	files := dictionary.Markdown(doc)
	dir := filepath.Join("testdata", "golden-md")
	if *update {
		os.RemoveAll(dir)
		if _, err := dictionary.WriteMarkdown(dir, doc); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files) {
		t.Errorf("%d files, the golden directory has %d", len(files), len(entries))
	}
	for name, body := range files {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(body, want) {
			t.Errorf("%s differs from the golden file (go test -run TestMarkdownGolden -update rewrites it):\n%s", name, body)
		}
	}
	readme := string(files["README.md"])
	for _, s := range []string{"# dict_fixture 数据字典", "[销售.订单](销售.订单.md)", "未找到 Graphviz", "新增列 name_c", "| 销售 | 100.0% (2/2) |"} {
		if !strings.Contains(readme, s) {
			t.Errorf("README.md lacks %q", s)
		}
	}
}

// TestRenderings renders the live fixture's dictionary in every format:
// the workbook reopened with excelize, the page in headless Chromium, the
// ER pictures from dot.
func TestRenderings(t *testing.T) {
	conn, name := pgDatabase(t)
	d := collect(t, "postgres", conn, name)
	svgs, found, err := dictionary.Diagrams(context.Background(), d)
	if err != nil || !found {
		t.Fatalf("diagrams: found %v, %v (make deps installs graphviz)", found, err)
	}
	if s := svgs[dictionary.Ref{Schema: "public", Name: "customers"}]; !strings.HasPrefix(s, "<svg") || !strings.Contains(s, "订单") {
		t.Errorf("the customers diagram lacks its neighbour 订单:\n%.300s", s)
	}
	if _, ok := svgs[dictionary.Ref{Schema: "public", Name: "registry_of_natural_persons_2025_q1"}]; ok {
		t.Error("a table without foreign keys got a diagram")
	}
	doc := &dictionary.Document{Dict: d, Lang: i18n.ZH, Diagrams: svgs}

	t.Run("xlsx", func(t *testing.T) { checkXLSX(t, doc) })
	t.Run("html", func(t *testing.T) { checkHTML(t, doc) })
}

func checkXLSX(t *testing.T, doc *dictionary.Document) {
	var b bytes.Buffer
	if err := dictionary.XLSX(&b, doc); err != nil {
		t.Fatal(err)
	}
	raw := bytes.Clone(b.Bytes())
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != len(doc.Dict.Tables)+2 || sheets[0] != "目录" || sheets[1] != "所有列" {
		t.Fatalf("sheets %q", sheets)
	}
	seen := map[string]bool{}
	for _, s := range sheets {
		if n := len([]rune(s)); n > 31 {
			t.Errorf("sheet %q is %d characters long", s, n)
		}
		if seen[strings.ToLower(s)] {
			t.Errorf("sheet %q twice", s)
		}
		seen[strings.ToLower(s)] = true
	}
	for _, s := range []string{"public.registry_of_natural_pers", "public.registry_of_natural_pe~2", "销售.订单"} {
		if !seen[strings.ToLower(s)] {
			t.Errorf("no sheet %q in %q", s, sheets)
		}
	}
	rows, err := f.GetRows("目录")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(doc.Dict.Tables)+1 {
		t.Fatalf("%d index rows", len(rows))
	}
	names := dictionary.SheetNames(doc.Dict, "目录", "所有列")
	for i, tb := range doc.Dict.Tables {
		row := i + 2
		cell, _ := excelize.CoordinatesToCellName(2, row)
		ok, link, err := f.GetCellHyperLink("目录", cell)
		if err != nil || !ok || link != "'"+names[tb.Ref()]+"'!A1" {
			t.Errorf("index %s: link %v %q %v", cell, ok, link, err)
		}
		if tb.Name == "customers" {
			rc, _ := excelize.CoordinatesToCellName(6, row)
			typ, _ := f.GetCellType("目录", rc)
			v, _ := f.GetCellValue("目录", rc)
			// A number cell carries no type attribute (or "n"); text is a
			// shared or inline string.
			if (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || v != "3" {
				t.Errorf("customers rows cell: type %v value %q, want the number 3", typ, v)
			}
			if c, _ := f.GetCellValue("目录", "D"+cell[1:]); c != "客户" {
				t.Errorf("customers comment %q", c)
			}
		}
	}
	for _, s := range []string{"目录", "所有列", names[dictionary.Ref{Schema: "销售", Name: "订单"}]} {
		p, err := f.GetPanes(s)
		if err != nil || !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v %v", s, p, err)
		}
	}
	// Each table's sheet: an autofilter over its header and columns, and
	// its header frozen.
	filters := map[string]string{}
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" {
			filters[dn.Scope] = dn.RefersTo
		}
	}
	for _, tb := range doc.Dict.Tables {
		s := names[tb.Ref()]
		if want := fmt.Sprintf("'%s'!$A$1:$I$%d", s, max(len(tb.Columns)+1, 2)); filters[s] != want {
			t.Errorf("sheet %q: filter %q, want %q", s, filters[s], want)
		}
		if p, err := f.GetPanes(s); err != nil || !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
			t.Errorf("sheet %q: header not frozen: %+v %v", s, p, err)
		}
	}
	if len(filters) != len(doc.Dict.Tables)+1 { // and the index's
		t.Errorf("%d autofilters for %d tables and the index: %q", len(filters), len(doc.Dict.Tables), filters)
	}
	if n := autoFilterElements(t, raw); n != len(doc.Dict.Tables)+1 {
		t.Errorf("%d worksheets hold an <autoFilter>, want %d", n, len(doc.Dict.Tables)+1)
	}
	if tables, err := f.GetTables("所有列"); err != nil || len(tables) != 1 {
		t.Errorf("the columns sheet has no filtered table: %v %v", tables, err)
	}
	all, _ := f.GetRows("所有列")
	cols := 0
	for _, tb := range doc.Dict.Tables {
		cols += len(tb.Columns)
	}
	if len(all) != cols+1 {
		t.Errorf("columns sheet: %d rows for %d columns", len(all), cols)
	}
	order, _ := f.GetRows(names[dictionary.Ref{Schema: "销售", Name: "订单"}])
	if len(order) < 6 || order[4][1] != "金额" || order[4][8] != "订单金额（元）" {
		t.Errorf("the 订单 sheet: %q", order)
	}
}

func checkHTML(t *testing.T, doc *dictionary.Document) {
	var b bytes.Buffer
	if err := dictionary.HTML(&b, doc); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	for _, s := range []string{"http://", "https://"} {
		if i := bytes.Index(page, []byte("src=\""+s)); i >= 0 {
			t.Errorf("the page loads something from elsewhere: %s", page[i:i+60])
		}
	}
	dir := os.Getenv("DBOPSD_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	base := filepath.Join(dir, "dictionary")
	chromiumtest.Screenshot(t, base, page)
	// Type into the search box from a script appended to the page, then
	// read what the page's own script found.
	search := []byte(`<script>var s = document.getElementById('search'); s.value = '订单金额'; s.dispatchEvent(new Event('input'));</script></body>`)
	driven := bytes.Replace(page, []byte("</body>"), search, 1)
	dom, stderr := chromiumtest.DumpDOM(t, base+"-search", driven, 1200)
	if bytes.Contains(stderr, []byte("Uncaught")) || bytes.Contains(stderr, []byte(":ERROR:CONSOLE")) {
		t.Errorf("console errors:\n%s", stderr)
	}
	i := bytes.Index(dom, []byte(`id="search-results"`))
	if i < 0 {
		t.Fatal("no search results element")
	}
	results := string(dom[i:min(i+600, len(dom))])
	if !strings.Contains(results, `class="hit"`) || !strings.Contains(results, "销售.订单.金额") {
		t.Errorf("the search for a column comment did not find 销售.订单.金额: %s", results)
	}
	if strings.Contains(results, "customers.name") {
		t.Errorf("the search found a column it should not: %s", results)
	}
	// The FK link from 订单 to customers points at the customers section.
	if !bytes.Contains(page, []byte(`<a href="#t-`)) || !bytes.Contains(page, []byte("<svg")) {
		t.Error("the page has no links between tables or no diagrams")
	}
}

// TestHistory: dictionaries saved through history come back as the
// previous one, and a schema change between two runs shows in the steps
// dict diff prints.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	conn, name := pgDatabase(t)
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("dictionary test"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	hs := history.Store{Repo: repo, Catalog: cat}
	first := collect(t, "postgres", conn, name)
	if _, err := dictionary.Save(ctx, hs, first); err != nil {
		t.Fatal(err)
	}
	harness.SourcePostgres(t).Exec(t, name, `ALTER TABLE public.customers ADD COLUMN phone varchar(20);
		ALTER TABLE public.customers ALTER COLUMN name_c TYPE varchar(80);
		COMMENT ON COLUMN public.customers.email IS '邮箱';
		DROP TABLE public.registry_of_natural_persons_2025_q2;`)
	second := collect(t, "postgres", conn, name)
	second.CollectedAt = first.CollectedAt.Add(time.Second) // distinct ids and order
	prev, ok, err := dictionary.Previous(ctx, hs, name, second.CollectedAt)
	if err != nil || !ok || !prev.CollectedAt.Equal(first.CollectedAt) {
		t.Fatalf("previous: %v %v", ok, err)
	}
	if _, err := dictionary.Save(ctx, hs, second); err != nil {
		t.Fatal(err)
	}
	steps, err := dictionary.History(ctx, hs, name, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 {
		t.Fatalf("%d steps", len(steps))
	}
	var got []string
	for _, c := range steps[0].Changes {
		got = append(got, c.Kind+" "+c.Table+"."+c.Column+" "+c.Old+" -> "+c.New)
	}
	want := []string{
		"column_comment customers.email  -> 邮箱",
		"column_retyped customers.name_c text -> character varying(80)",
		"column_added customers.phone  -> character varying(20)",
		"table_dropped registry_of_natural_persons_2025_q2.  -> ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Since the second run: still compared with the first.
	steps, err = dictionary.History(ctx, hs, name, second.CollectedAt)
	if err != nil || len(steps) != 1 || len(steps[0].Changes) != 4 {
		t.Errorf("since the second run: %+v %v", steps, err)
	}
}

// autoFilterElements counts the worksheets of the workbook xlsx whose XML
// holds an <autoFilter> (what makes Excel show the filter buttons; the
// defined name alone does not).
func autoFilterElements(t *testing.T, xlsx []byte) int {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte("<autoFilter ref=")) {
			n++
		}
	}
	return n
}
