package maintenance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/when"
)

// hostile is comment text that breaks any statement built by pasting it:
// quotes of every kind, backslashes before a quote and at the end,
// Chinese, a newline, a tab, and SQL after a would-be closing quote.
var hostile = []string{
	`it's "quoted" and ends in a backslash \`,
	`\'); DROP TABLE victims; -- ` + "\n第二行：客户的中文注释\t制表",
	`E'\\' || chr(39) || '` + "`x`",
	"",
}

// TestCommentsPostgres: the comments of a table, a view and columns are
// set as written, hostile text included, in one transaction: a set whose
// last change names a missing column changes nothing.
func TestCommentsPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg, pg, db := pgTarget(t)
	pg.Exec(t, db, `CREATE TABLE public.victims (id int PRIMARY KEY, "名字" text);
		COMMENT ON TABLE public.victims IS 'old table comment';
		CREATE VIEW public.v AS SELECT id FROM public.victims;`)
	comment := func(sql string) string { return pg.QueryString(t, db, "SELECT coalesce("+sql+", '<none>')") }
	tbl := engines.TableRef{Schema: "public", Name: "victims"}
	changes := []maintmodel.CommentChange{
		{Table: tbl, Text: hostile[0]},
		{Table: tbl, Column: "名字", Text: hostile[1]},
		{Table: tbl, Column: "id", Text: hostile[2]},
		{Table: engines.TableRef{Name: "v"}, Text: hostile[1]},
	}

	// One bad change: nothing is applied.
	bad := append(append([]maintmodel.CommentChange{}, changes...), maintmodel.CommentChange{Table: tbl, Column: "missing", Text: "x"})
	res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Comment}, Comments: bad,
		Policy: policy(when.Window{}), Location: time.UTC})
	if err == nil || !strings.Contains(err.Error(), `no column "missing"`) || res.Outcome != maintenance.Failed {
		t.Fatalf("Run with a missing column = %v, %q", err, res.Outcome)
	}
	if got := comment("obj_description('public.victims'::regclass, 'pg_class')"); got != "old table comment" {
		t.Fatalf("a failed set changed the table's comment: %q", got)
	}
	for _, r := range res.Comments {
		if r.Applied {
			t.Errorf("%s reported applied in a rolled-back set", r.Object())
		}
	}

	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	res, err = maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Comment}, Comments: changes,
		Policy: policy(when.Window{}), Location: time.UTC, Catalog: cat, Request: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	for sql, want := range map[string]string{
		"obj_description('public.victims'::regclass, 'pg_class')": hostile[0],
		"col_description('public.victims'::regclass, 2)":          hostile[1],
		"col_description('public.victims'::regclass, 1)":          hostile[2],
		"obj_description('public.v'::regclass, 'pg_class')":       hostile[1],
	} {
		if got := comment(sql); got != want {
			t.Errorf("%s = %q, want %q", sql, got, want)
		}
	}
	if len(res.Comments) != 4 || res.Comments[0].Before != "old table comment" || res.Comments[0].After != hostile[0] ||
		!strings.HasPrefix(res.Comments[3].Statement, `COMMENT ON VIEW "public"."v" IS E'`) {
		t.Fatalf("results: %+v", res.Comments)
	}
	if s := res.Summary(); !strings.Contains(s, `comment public.victims: before "old table comment", after "it's \"quoted\"`) || !strings.Contains(s, "4 applied") {
		t.Errorf("summary: %s", s)
	}
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Kind: maintenance.JobKind})
	if err != nil || len(jobs) != 1 || jobs[0].Status != catalog.StatusOK || jobs[0].RequestedType != "comment" {
		t.Fatalf("job log: %v %+v", err, jobs)
	}
	// The monthly report reads the comments back from the job log.
	if runs, err := maintenance.Month(ctx, cat, "", time.Now()); err != nil || len(runs) != 1 || len(runs[0].Comments) != 4 || runs[0].Comments[1].After != hostile[1] {
		t.Fatalf("Month: %v %+v", err, runs)
	}

	// Removing a comment ("") leaves none.
	if _, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Comment},
		Comments: []maintmodel.CommentChange{{Table: tbl, Text: hostile[3]}}, Policy: policy(when.Window{}), Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	if got := comment("obj_description('public.victims'::regclass, 'pg_class')"); got != "<none>" {
		t.Errorf("the removed comment is %q", got)
	}
}

// TestCommentsMariaDB: a column's comment is set by restating the column
// as SHOW CREATE TABLE gives it: every kind of column keeps its type,
// default, nullability, generation, collation and check, and gets exactly
// the comment asked for.
func TestCommentsMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := harness.SourceMariaDB(t)
	db := fmt.Sprintf("cmt_%d", time.Now().UnixNano()%1e6)
	m.Exec(t, "", "CREATE DATABASE "+db)
	m.Exec(t, db, "CREATE TABLE `t``x` (\n"+
		"  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY COMMENT 'has COMMENT ''inside'' and \\\\',\n"+
		"  `名字` VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'a''b COMMENT x',\n"+
		"  qty INT DEFAULT 3 CHECK (qty > 0),\n"+
		"  total INT AS (qty * 2) VIRTUAL,\n"+
		"  ts TIMESTAMP NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),\n"+
		"  note TEXT\n"+
		") COMMENT 'old'")
	shape := func() string {
		return m.QueryString(t, "information_schema", "SELECT GROUP_CONCAT(CONCAT_WS('|', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, '<no default>'), EXTRA, COALESCE(GENERATION_EXPRESSION, ''), COALESCE(COLLATION_NAME, '')) ORDER BY ORDINAL_POSITION SEPARATOR '\n') FROM COLUMNS WHERE TABLE_SCHEMA = '"+db+"' AND TABLE_NAME = 't`x'") +
			m.QueryString(t, "information_schema", "SELECT GROUP_CONCAT(CHECK_CLAUSE) FROM CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '"+db+"'")
	}
	before := shape()
	tbl := engines.TableRef{Name: "t`x"}
	var changes []maintmodel.CommentChange
	for i, col := range []string{"id", "名字", "qty", "total", "ts", "note"} {
		changes = append(changes, maintmodel.CommentChange{Table: tbl, Column: col, Text: hostile[i%len(hostile)]})
	}
	changes = append(changes, maintmodel.CommentChange{Table: engines.TableRef{Schema: db, Name: "t`x"}, Text: hostile[1]})
	tg := target(t, "mysql", db, m.DSN(db))
	res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Comment}, Comments: changes,
		Policy: policy(when.Window{}), Location: time.UTC})
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Summary())
	}
	for _, c := range changes {
		q := "SELECT COLUMN_COMMENT FROM COLUMNS WHERE TABLE_SCHEMA = '" + db + "' AND TABLE_NAME = 't`x' AND COLUMN_NAME = '" + c.Column + "'"
		if c.Column == "" {
			q = "SELECT TABLE_COMMENT FROM TABLES WHERE TABLE_SCHEMA = '" + db + "' AND TABLE_NAME = 't`x'"
		}
		if got := m.QueryString(t, "information_schema", q); got != c.Text {
			t.Errorf("comment of %s = %q, want %q", c.Object(), got, c.Text)
		}
	}
	if after := shape(); after != before {
		t.Errorf("setting comments changed the columns:\nbefore %s\nafter  %s", before, after)
	}
	for _, c := range res.Comments {
		t.Log(c.Statement)
	}
	if res.Comments[0].Before != `has COMMENT 'inside' and \` || res.Comments[6].Before != "old" || !res.Comments[6].Applied {
		t.Errorf("results: %+v", res.Comments)
	}
}
