package mysql

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// schemaDoc is the "schema" part (format mysql-schema/1): a JSON document
// holding the server's own SHOW CREATE output for every object, the column
// lists of the data parts, and what each object needs to be recreated
// faithfully (the sql_mode and character set it was created under).
// Keeping the server's DDL verbatim, rather than a model of it, is what lets
// partitioning, CHECK constraints, comments, charsets, generated and
// invisible columns and table options all come back without the adapter
// having to understand each of them.
type schemaDoc struct {
	Format    string `json:"format"`
	Server    string `json:"server"`
	Database  string `json:"database"`
	Charset   string `json:"charset"`
	Collation string `json:"collation"`
	// Tables holds base tables and sequences, by name.
	Tables []*table `json:"tables"`
	// Views are in dependency order: a view comes after the views it reads.
	Views    []object `json:"views,omitempty"`
	Triggers []object `json:"triggers,omitempty"` // per table, in action order
	Routines []object `json:"routines,omitempty"`
	Events   []object `json:"events,omitempty"`
}

// object is a view, trigger, routine or event.
type object struct {
	Name string `json:"name"`
	// Type is PROCEDURE or FUNCTION for routines.
	Type string `json:"type,omitempty"`
	// Table is a trigger's table.
	Table string `json:"table,omitempty"`
	// Create is the statement as the server printed it, in the bytes of
	// CharsetClient (read with character_set_results=binary, as mysqldump
	// does, so a literal in a latin1 view body is not converted twice).
	Create              sqlText `json:"create"`
	SQLMode             string  `json:"sql_mode,omitempty"`
	CharsetClient       string  `json:"character_set_client,omitempty"`
	CollationConnection string  `json:"collation_connection,omitempty"`
	TimeZone            string  `json:"time_zone,omitempty"` // events
}

func (d *schemaDoc) table(name string) *table {
	for _, t := range d.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// sqlText is statement text that may not be UTF-8: a JSON string when it
// is, {"base64": "..."} otherwise, so no byte is lost to JSON's U+FFFD.
type sqlText []byte

func (s sqlText) MarshalJSON() ([]byte, error) {
	if utf8.Valid(s) {
		return json.Marshal(string(s))
	}
	return json.Marshal(struct {
		B64 string `json:"base64"`
	}{base64.StdEncoding.EncodeToString(s)})
}

func (s *sqlText) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = sqlText(str)
		return nil
	}
	var o struct {
		B64 string `json:"base64"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	v, err := base64.StdEncoding.DecodeString(o.B64)
	*s = v
	return err
}

// captureObjects reads the views, triggers, routines and events of
// database. conn's default database must be database: SHOW CREATE VIEW
// then leaves references to it unqualified, so views can be recreated
// under another name. Objects the account may not read become warnings.
func captureObjects(ctx context.Context, conn querier, database string, doc *schemaDoc) (warnings []string, err error) {
	if _, err := conn.ExecContext(ctx, "SET SESSION character_set_results = binary"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION character_set_results = utf8mb4")

	names, err := queryStrings(ctx, conn, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW' ORDER BY TABLE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("listing views: %w", err)
	}
	var views []object
	for _, n := range names[0] {
		m, err := showCreate(ctx, conn, "SHOW CREATE VIEW "+quoteIdent(database)+"."+quoteIdent(n))
		if err != nil {
			return nil, fmt.Errorf("reading view %s: %w", n, classify(err))
		}
		views = append(views, object{Name: n, Create: m["create view"],
			CharsetClient: string(m["character_set_client"]), CollationConnection: string(m["collation_connection"])})
	}
	doc.Views = orderViews(views)

	trig, err := queryStrings(ctx, conn, `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS
		WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, database)
	if err != nil {
		return nil, fmt.Errorf("listing triggers: %w", err)
	}
	for i, n := range trig[0] {
		m, err := showCreate(ctx, conn, "SHOW CREATE TRIGGER "+quoteIdent(database)+"."+quoteIdent(n))
		if err != nil {
			return nil, fmt.Errorf("reading trigger %s: %w", n, classify(err))
		}
		doc.Triggers = append(doc.Triggers, object{Name: n, Table: trig[1][i], Create: m["sql original statement"],
			SQLMode: string(m["sql_mode"]), CharsetClient: string(m["character_set_client"]),
			CollationConnection: string(m["collation_connection"])})
	}

	rout, err := queryStrings(ctx, conn, `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("listing routines: %w", err)
	}
	for i, n := range rout[0] {
		typ := strings.ToUpper(rout[1][i])
		if typ != "PROCEDURE" && typ != "FUNCTION" {
			warnings = append(warnings, fmt.Sprintf("%s %s not backed up: only procedures and functions are", strings.ToLower(typ), n))
			continue
		}
		m, err := showCreate(ctx, conn, "SHOW CREATE "+typ+" "+quoteIdent(database)+"."+quoteIdent(n))
		if err != nil {
			return nil, fmt.Errorf("reading %s %s: %w", strings.ToLower(typ), n, classify(err))
		}
		create := m["create "+strings.ToLower(typ)]
		if create == nil {
			warnings = append(warnings, fmt.Sprintf("%s %s not backed up: the account may not read its definition", strings.ToLower(typ), n))
			continue
		}
		doc.Routines = append(doc.Routines, object{Name: n, Type: typ, Create: create,
			SQLMode: string(m["sql_mode"]), CharsetClient: string(m["character_set_client"]),
			CollationConnection: string(m["collation_connection"])})
	}

	evs, err := queryStrings(ctx, conn, `SELECT EVENT_NAME FROM information_schema.EVENTS
		WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	for _, n := range evs[0] {
		m, err := showCreate(ctx, conn, "SHOW CREATE EVENT "+quoteIdent(database)+"."+quoteIdent(n))
		if err != nil {
			return nil, fmt.Errorf("reading event %s: %w", n, classify(err))
		}
		doc.Events = append(doc.Events, object{Name: n, Create: m["create event"],
			SQLMode: string(m["sql_mode"]), TimeZone: string(m["time_zone"]),
			CharsetClient: string(m["character_set_client"]), CollationConnection: string(m["collation_connection"])})
	}
	return warnings, nil
}

// queryStrings runs a query and returns its columns as string slices.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([][]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(cols))
	vals := make([][]byte, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			out[i] = append(out[i], string(v))
		}
	}
	return out, rows.Err()
}

// orderViews sorts views so that each comes after the views it selects
// from. SHOW CREATE VIEW prints every table reference as a quoted
// identifier, so a view depends on another when the other's quoted name
// appears in its text; a column of the same name can only add an edge that
// is not needed, never lose one. Ties keep name order; should the edges
// form a cycle (they cannot for real views), the rest follow by name and the
// restore retries.
func orderViews(views []object) []object {
	n := len(views)
	deps := make([][]int, n) // deps[i]: views that i reads
	for i, v := range views {
		for j, w := range views {
			if i != j && strings.Contains(string(v.Create), quoteIdent(w.Name)) {
				deps[i] = append(deps[i], j)
			}
		}
	}
	done := make([]bool, n)
	var out []object
	for len(out) < n {
		progress := false
		for i := range views {
			if done[i] {
				continue
			}
			ready := true
			for _, j := range deps[i] {
				if !done[j] {
					ready = false
					break
				}
			}
			if ready {
				done[i] = true
				out = append(out, views[i])
				progress = true
				break // restart from the first name: keeps name order among ready views
			}
		}
		if !progress {
			for i := range views {
				if !done[i] {
					done[i] = true
					out = append(out, views[i])
				}
			}
		}
	}
	return out
}

// createTable is a SHOW CREATE TABLE statement taken apart at its
// top-level definitions, one per line as the server prints them.
type createTable struct {
	head    string   // "CREATE TABLE `t` ("
	defs    []string // column and index definitions, without trailing commas
	tail    string   // ") ENGINE=... [PARTITION ...]"
	ok      bool     // the text had the expected shape
	orig    string
	primary bool // has a PRIMARY KEY
}

func parseCreateTable(s string) createTable {
	c := createTable{orig: s}
	lines := strings.Split(s, "\n")
	if len(lines) < 3 || !strings.HasSuffix(lines[0], "(") {
		return c
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], ")") {
			end = i
			break
		}
		if !strings.HasPrefix(lines[i], "  ") {
			return c // a definition spread over lines: leave the statement alone
		}
	}
	if end < 0 {
		return c
	}
	c.head = lines[0]
	for _, l := range lines[1:end] {
		d := strings.TrimSuffix(strings.TrimPrefix(l, "  "), ",")
		c.defs = append(c.defs, d)
		if strings.HasPrefix(d, "PRIMARY KEY") {
			c.primary = true
		}
	}
	c.tail = strings.Join(lines[end:], "\n")
	c.ok = true
	return c
}

func (c createTable) String() string {
	if !c.ok {
		return c.orig
	}
	return c.head + "\n  " + strings.Join(c.defs, ",\n  ") + "\n" + c.tail
}

func isIndexDef(d string) bool {
	for _, p := range []string{"KEY ", "UNIQUE KEY ", "SPATIAL KEY ", "FULLTEXT KEY ", "INDEX ", "UNIQUE INDEX "} {
		if strings.HasPrefix(d, p) {
			return true
		}
	}
	return false
}

var fkRE = regexp.MustCompile("^CONSTRAINT `(?:[^`]|``)*` FOREIGN KEY .* REFERENCES ((?:`(?:[^`]|``)*`\\.)?)`((?:[^`]|``)*)`")

// foreignKey returns the referenced table of a FOREIGN KEY definition, and
// whether it names another database explicitly.
func foreignKey(d string) (ref string, otherDB bool, ok bool) {
	m := fkRE.FindStringSubmatch(d)
	if m == nil {
		return "", false, false
	}
	return strings.ReplaceAll(m[2], "``", "`"), m[1] != "", true
}

// deferKeys moves secondary indexes and foreign keys out of the CREATE
// TABLE, to be added by one ALTER TABLE after the load (a sorted index
// build instead of row-by-row B-tree inserts). Kept in place: FULLTEXT
// indexes (adding the first one rebuilds an InnoDB table), indexes on the
// AUTO_INCREMENT column (it must be indexed), and unique keys of a table
// without a primary key (InnoDB clusters on the first of them).
func deferKeys(create string, autoIncCol string) (base string, alter []string) {
	c := parseCreateTable(create)
	if !c.ok {
		return create, nil
	}
	var keep []string
	for _, d := range c.defs {
		_, _, isFK := foreignKey(d)
		switch {
		case isFK:
			alter = append(alter, "ADD "+d)
		case isIndexDef(d):
			if strings.HasPrefix(d, "FULLTEXT ") ||
				(autoIncCol != "" && strings.Contains(d, "("+quoteIdent(autoIncCol))) ||
				(!c.primary && strings.HasPrefix(d, "UNIQUE ")) {
				keep = append(keep, d)
			} else {
				alter = append(alter, "ADD "+d)
			}
		default:
			keep = append(keep, d)
		}
	}
	c.defs = keep
	return c.String(), alter
}

// dropForeignKeys removes the foreign keys whose referenced table (in the
// same database) is not available, for single-table restores.
func dropForeignKeys(create string, available func(table string) bool) (string, []string) {
	c := parseCreateTable(create)
	if !c.ok {
		return create, nil
	}
	var keep, dropped []string
	for _, d := range c.defs {
		if ref, other, ok := foreignKey(d); ok && !other && !available(ref) {
			dropped = append(dropped, d)
			continue
		}
		keep = append(keep, d)
	}
	if dropped == nil {
		return create, nil
	}
	c.defs = keep
	return c.String(), dropped
}

// autoIncrementColumn finds the AUTO_INCREMENT column of a CREATE TABLE.
func autoIncrementColumn(create string) string {
	c := parseCreateTable(create)
	for _, d := range c.defs {
		if strings.HasPrefix(d, "`") && strings.Contains(d, " AUTO_INCREMENT") {
			if i := strings.Index(d[1:], "` "); i >= 0 {
				return strings.ReplaceAll(d[1:1+i], "``", "`")
			}
		}
	}
	return ""
}

var forEachRowRE = regexp.MustCompile(`(?i)\sFOR\s+EACH\s+ROW\s`)

// retargetTrigger rewrites the head of a trigger's original statement (the
// text before FOR EACH ROW) so that a trigger or table name qualified with
// database from names database to instead. SHOW CREATE TRIGGER returns the
// statement as written, and "ON src.t" would otherwise put the restored
// trigger on the source's table. The body is left as written.
func retargetTrigger(stmt []byte, from, to string) []byte {
	loc := forEachRowRE.FindIndex(stmt)
	if loc == nil || from == to {
		return stmt
	}
	head := stmt[:loc[0]]
	quoted := regexp.MustCompile(regexp.QuoteMeta(quoteIdent(from)) + `\s*\.`)
	head = quoted.ReplaceAllLiteral(head, []byte(quoteIdent(to)+"."))
	plain := regexp.MustCompile(`(\s)` + regexp.QuoteMeta(from) + `\s*\.`)
	head = plain.ReplaceAll(head, []byte("${1}"+strings.ReplaceAll(quoteIdent(to), "$", "$$")+"."))
	out := append([]byte{}, head...)
	return append(out, stmt[loc[0]:]...)
}

var definerRE = regexp.MustCompile("DEFINER=(`(?:[^`]|``)*`@`(?:[^`]|``)*`)")

// stripDefiner removes the DEFINER clause of a CREATE statement and
// returns the account it named.
func stripDefiner(stmt []byte) ([]byte, string) {
	loc := definerRE.FindSubmatchIndex(stmt)
	if loc == nil {
		return stmt, ""
	}
	end := loc[1]
	for end < len(stmt) && stmt[end] == ' ' {
		end++
	}
	out := append([]byte{}, stmt[:loc[0]]...)
	return append(out, stmt[end:]...), string(stmt[loc[2]:loc[3]])
}

// definers lists the distinct DEFINER clauses of the objects.
func definers(objs ...[]object) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range objs {
		for _, o := range list {
			if m := definerRE.FindSubmatch(o.Create); m != nil && !seen[string(m[1])] {
				seen[string(m[1])] = true
				out = append(out, string(m[1]))
			}
		}
	}
	sort.Strings(out)
	return out
}
