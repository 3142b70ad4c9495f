package dictionary

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/dbopsd/dbopsd/i18n"
)

// Comment is one comment the business side wants: on a table (Column
// empty) or on a column.
type Comment struct {
	Line    int
	Schema  string
	Table   string
	Column  string
	Comment string
}

// ReadCommentsCSV reads comments from CSV: a header row, then rows of
// schema, table, column (empty for the table itself), comment. A header
// naming the columns (schema/table/column/comment, or 模式/表/列/注释) may
// put them in any order.
func ReadCommentsCSV(r io.Reader) ([]Comment, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading the comments file: %w", err)
	}
	return CommentsFromRows(recs)
}

// CommentsFromRows reads comments from rows of cells, the first naming
// the columns (an xlsx sheet's rows).
func CommentsFromRows(recs [][]string) ([]Comment, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	pos := map[string]int{"schema": 0, "table": 1, "column": 2, "comment": 3}
	names := map[string]string{"模式": "schema", "表": "table", "表名": "table", "列": "column", "列名": "column", "注释": "comment",
		"schema": "schema", "table": "table", "column": "column", "comment": "comment"}
	hdr := recs[0]
	if len(hdr) > 0 {
		hdr[0] = strings.TrimPrefix(hdr[0], "\ufeff") // a BOM from Excel
	}
	found := map[string]int{}
	for i, h := range hdr {
		if k, ok := names[strings.ToLower(strings.TrimSpace(h))]; ok {
			found[k] = i
		}
	}
	for _, k := range []string{"table", "comment"} {
		if _, ok := found[k]; !ok {
			return nil, fmt.Errorf("the comments file's first row must name its columns (schema, table, column, comment); it has %q", hdr)
		}
	}
	pos = map[string]int{"schema": -1, "column": -1}
	for k, v := range found {
		pos[k] = v
	}
	get := func(rec []string, k string) string {
		if i := pos[k]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Comment
	for n, rec := range recs[1:] {
		c := Comment{Line: n + 2, Schema: get(rec, "schema"), Table: get(rec, "table"), Column: get(rec, "column")}
		if i := pos["comment"]; i < len(rec) {
			c.Comment = rec[i] // as written: leading spaces may be meant
		}
		if c.Table == "" {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// Statement is one statement that would apply a comment.
type Statement struct {
	Comment Comment `json:"-"`
	SQL     string  `json:"sql"`
	Old     string  `json:"old"`
}

// CommentStatements returns, for the comments that differ from d's, the
// statements that would set them (COMMENT ON for PostgreSQL, ALTER TABLE …
// COMMENT for MySQL, the MS_Description property for SQL Server), and a sentence (in lang) for every row naming
// something d does not have. It runs nothing: comments are changed by a
// signed maintenance request.
func CommentStatements(d *Dictionary, comments []Comment, lang i18n.Lang) (stmts []Statement, skipped []string) {
	w := words(lang)
	for _, c := range comments {
		schema := c.Schema
		if schema == "" {
			schema = defaultSchema(d)
		}
		t := Find(d, ref(schema, c.Table))
		obj := schema + "." + c.Table
		if c.Column != "" {
			obj += "." + c.Column
		}
		if t == nil {
			skipped = append(skipped, w.F("comments.unknown", "line", fmt.Sprint(c.Line), "object", obj))
			continue
		}
		if c.Column == "" {
			if t.Comment == c.Comment {
				continue
			}
			stmts = append(stmts, Statement{Comment: c, Old: t.Comment, SQL: tableCommentSQL(d.Engine, t, c.Comment)})
			continue
		}
		var col *Column
		for i := range t.Columns {
			if t.Columns[i].Name == c.Column {
				col = &t.Columns[i]
			}
		}
		if col == nil {
			skipped = append(skipped, w.F("comments.unknown", "line", fmt.Sprint(c.Line), "object", obj))
			continue
		}
		if col.Comment == c.Comment {
			continue
		}
		stmts = append(stmts, Statement{Comment: c, Old: col.Comment, SQL: columnCommentSQL(d.Engine, t, col, c.Comment)})
	}
	return stmts, skipped
}

func defaultSchema(d *Dictionary) string {
	switch d.Engine {
	case "postgres":
		return "public"
	case "mssql":
		return "dbo"
	}
	return d.Database
}

func tableCommentSQL(engine string, t *Table, comment string) string {
	if engine == "mssql" {
		return mssqlCommentSQL(t, "", comment) // comments_mssql.go
	}
	if engine == "mysql" {
		return fmt.Sprintf("ALTER TABLE %s COMMENT = %s;", myIdent(t.Name), myString(comment))
	}
	what := "TABLE"
	switch t.Kind {
	case "view":
		what = "VIEW"
	case "materialized view":
		what = "MATERIALIZED VIEW"
	case "foreign table":
		what = "FOREIGN TABLE"
	}
	return fmt.Sprintf("COMMENT ON %s %s.%s IS %s;", what, pgIdent(t.Schema), pgIdent(t.Name), pgString(comment))
}

// columnCommentSQL: MySQL has no statement for a column's comment alone;
// MODIFY COLUMN restates the column's definition as the dictionary read it.
func columnCommentSQL(engine string, t *Table, c *Column, comment string) string {
	if engine == "mssql" {
		return mssqlCommentSQL(t, c.Name, comment)
	}
	if engine != "mysql" {
		return fmt.Sprintf("COMMENT ON COLUMN %s.%s.%s IS %s;", pgIdent(t.Schema), pgIdent(t.Name), pgIdent(c.Name), pgString(comment))
	}
	def := c.Type
	if c.Collation != "" {
		def += " COLLATE " + c.Collation
	}
	switch {
	case c.Generated != "":
		kind := "VIRTUAL"
		if c.GeneratedKind == "stored" {
			kind = "STORED"
		}
		def += " GENERATED ALWAYS AS (" + c.Generated + ") " + kind
	default:
		if !c.Nullable {
			def += " NOT NULL"
		}
		if c.Default != "" {
			def += " DEFAULT " + c.Default
		}
		if c.Identity == "auto_increment" {
			def += " AUTO_INCREMENT"
		}
	}
	return fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s %s COMMENT %s;", myIdent(t.Name), myIdent(c.Name), def, myString(comment))
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func pgString(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
func myIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func myString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\n", `\n`, "\r", `\r`, "\x00", `\0`).Replace(s) + "'"
}
