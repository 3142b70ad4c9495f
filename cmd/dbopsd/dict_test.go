package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestDictAndVolumeCommands drives dict, dict diff, dict comments, volume
// sample and volume the way an operator would, on a small PostgreSQL
// database: every format is written, a schema change between two runs
// shows in dict diff, comments become statements that are not run, and
// the day's sample appears in the month's report.
func TestDictAndVolumeCommands(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"rating"}, fill: func(s *opsSite, pgdb string) {
		s.src.Exec(t, pgdb, `CREATE TABLE public.persons (id int PRIMARY KEY, name text);
			COMMENT ON TABLE public.persons IS '自然人';
			CREATE TABLE public.cards (id int PRIMARY KEY, person int REFERENCES public.persons(id));
			INSERT INTO public.persons SELECT g, 'p' || g FROM generate_series(1, 50) g;`)
	}})
	out := t.TempDir()
	// Before the repository exists: the files, and a warning that the run
	// is not stored.
	stdout, stderr, code := s.run("dict", "--database", "rating", "--format", "json", "--out", out)
	if code != 0 || !strings.Contains(stderr, "warning: this run is not stored") || !strings.Contains(stdout, "rating.json") {
		t.Errorf("dict without a repository: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s.ok("repo", "init")
	files := s.ok("dict", "--database", "rating", "--format", "html,md,xlsx,json", "--out", out)
	for _, f := range []string{"rating.html", "rating.xlsx", "rating.json", filepath.Join("rating", "README.md"), filepath.Join("rating", "public.persons.md")} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written (stdout %q): %v", f, files, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "rating.html"))
	if !strings.Contains(string(html), "没有更早的数据字典可以比较") || !strings.Contains(string(html), "<svg") {
		t.Error("the first dictionary's page lacks the no-previous sentence or its diagrams")
	}

	s.src.Exec(t, s.dbs["rating"], `ALTER TABLE public.persons ADD COLUMN born date; ALTER TABLE public.cards ALTER COLUMN person TYPE bigint`)
	s.ok("dict", "--database", "rating", "--format", "md", "--out", out, "--lang", "en")
	readme, _ := os.ReadFile(filepath.Join(out, "rating", "README.md"))
	if !strings.Contains(string(readme), "column born (date) added to public.persons") {
		t.Errorf("the second run does not mark the change:\n%s", readme)
	}
	diff := s.ok("dict", "diff", "--database", "rating", "--lang", "en")
	for _, want := range []string{"public.cards.person retyped from integer to bigint", "column born (date) added to public.persons"} {
		if !strings.Contains(diff, want) {
			t.Errorf("dict diff lacks %q:\n%s", want, diff)
		}
	}

	csv := filepath.Join(t.TempDir(), "comments.csv")
	os.WriteFile(csv, []byte("模式,表,列,注释\npublic,persons,,自然人\npublic,persons,name,姓名\npublic,nosuch,,x\n"), 0o600)
	stmts := s.ok("dict", "comments", "--database", "rating", "--from", csv)
	if !strings.Contains(stmts, `COMMENT ON COLUMN "public"."persons"."name" IS '姓名';`) || strings.Contains(stmts, "COMMENT ON TABLE") ||
		!strings.Contains(stmts, "maintenance") {
		t.Errorf("dict comments:\n%s", stmts)
	}
	if got := s.src.QueryString(t, s.dbs["rating"], `SELECT coalesce(col_description('public.persons'::regclass, 2), 'none')`); got != "none" {
		t.Errorf("dict comments changed the database: %q", got)
	}

	// The same from a workbook the business side filled in.
	wb := excelize.NewFile()
	for i, row := range [][]any{{"表", "列", "注释"}, {"persons", "name", "姓名"}, {"cards", "", "卡"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		wb.SetSheetRow("Sheet1", cell, &row)
	}
	xlsx := filepath.Join(t.TempDir(), "comments.xlsx")
	if err := wb.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	stmts = s.ok("dict", "comments", "--database", "rating", "--from", xlsx)
	if !strings.Contains(stmts, `COMMENT ON COLUMN "public"."persons"."name" IS '姓名';`) || !strings.Contains(stmts, `COMMENT ON TABLE "public"."cards" IS '卡';`) {
		t.Errorf("dict comments from xlsx:\n%s", stmts)
	}

	s.ok("volume", "sample", "--database", "rating")
	var r struct {
		Databases []struct {
			Database string `json:"database"`
			At       struct {
				Rows int64 `json:"rows"`
			} `json:"at"`
		} `json:"databases"`
		Notes []string `json:"notes"`
	}
	s.okJSON(&r, "volume", "--database", "rating")
	if len(r.Databases) != 1 || r.Databases[0].At.Rows != 50 || len(r.Notes) == 0 {
		t.Errorf("volume report %+v", r)
	}
}
