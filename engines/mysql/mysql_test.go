package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/pipelinetest"
	"github.com/dbopsd/dbopsd/secret"
)

func TestMain(m *testing.M) { harness.Main(m) }

//go:embed testdata/fixture.sql
var fixtureSQL string

func uniqueName(purpose string) string {
	var b [4]byte
	rand.Read(b[:])
	return "my_" + purpose + "_" + hex.EncodeToString(b[:])
}

// newSource creates a database holding the fixture on m, dropped at t's end.
func newSource(t *testing.T, m *harness.MariaDB) enginetest.Database {
	t.Helper()
	name := uniqueName("src")
	m.Exec(t, "", "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	t.Cleanup(func() { dropQuietly(m, name) })
	m.Exec(t, name, fixtureSQL)
	return enginetest.Database{Conn: engines.Conn{DSN: m.DSN(name)}, Name: name}
}

func dropQuietly(m *harness.MariaDB, name string) {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name))
}

// execConn runs a script on database (or conn's) of the server of conn.
func execConn(t *testing.T, conn engines.Conn, database, script string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(conn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if database != "" {
		cfg.DBName = database
	}
	cfg.MultiStatements = true
	cfg.Passwd = conn.Password.Reveal()
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), script); err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
}

func queryAll(t *testing.T, conn engines.Conn, database, query string) [][]string {
	t.Helper()
	cfg, err := mysql.ParseDSN(conn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = database
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
			if !v.Valid {
				row[i] = "<NULL>"
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func listTables(t *testing.T, conn engines.Conn, database string) []engines.TableRef {
	t.Helper()
	var out []engines.TableRef
	for _, r := range queryAll(t, conn, "", fmt.Sprintf(`SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = '%s' AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ENGINE <> 'MRG_MyISAM'
		ORDER BY TABLE_NAME`, database)) {
		out = append(out, engines.TableRef{Name: r[0]})
	}
	return out
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestConformance(t *testing.T) {
	src := harness.SourceMariaDB(t)
	e := New()
	e.SplitBytes = 512 << 10 // cut tickets into key-range parts
	enginetest.Run(t, enginetest.Setup{
		Engine: e,
		Source: func(t *testing.T) enginetest.Database { return newSource(t, src) },
		Target: func(t *testing.T) engines.Conn {
			return engines.Conn{DSN: harness.TargetMariaDB(t).DSN("")}
		},
		Mutate: func(t *testing.T, db enginetest.Database) {
			execConn(t, db.Conn, "", "UPDATE tickets SET note = 'changed' WHERE id = 1; INSERT INTO texts (label) VALUES ('新的')")
		},
		Exec:   execConn,
		Tables: listTables,
		Unreachable: func(t *testing.T) engines.Conn {
			return engines.Conn{DSN: fmt.Sprintf("root@tcp(127.0.0.1:%d)/x", closedPort(t)), Password: secret.New("pw-Unreachable-7f3a")}
		},
		// child has a foreign key to a table the single-table restore leaves out.
		TableRestore: engines.TableRef{Name: "child"},
		Parallel:     2,
		Pipeline:     pipelinetest.New(),
	})
}

// backupTo takes a backup of db into a fresh directory.
func backupTo(t *testing.T, e *Engine, db enginetest.Database, par int) (*engines.Snapshot, *enginetest.DirParts) {
	t.Helper()
	parts := enginetest.NewDirParts(t.TempDir())
	snap, err := e.Backup(t.Context(), db.Conn, engines.BackupOptions{Type: "full", Parallel: par}, parts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return snap, parts
}

func restoreTo(t *testing.T, e *Engine, conn engines.Conn, snap *engines.Snapshot, parts engines.PartSource, req engines.RestoreRequest) *engines.RestoreReport {
	t.Helper()
	req.Snapshot = snap
	if req.Parallel == 0 {
		req.Parallel = 2
	}
	rep, err := e.Restore(t.Context(), conn, req, parts)
	if err != nil {
		t.Fatalf("restore into %s: %v", req.Database, err)
	}
	enginetest.CheckNotes(t, rep)
	for _, s := range rep.Skipped {
		t.Logf("skipped: %s", s)
	}
	for _, n := range rep.Notes {
		t.Logf("note: %s", n)
	}
	return rep
}

func statsEqual(t *testing.T, e *Engine, conn engines.Conn, database string, want []engines.TableStats) {
	t.Helper()
	refs := make([]engines.TableRef, len(want))
	for i, w := range want {
		refs[i] = w.Table
	}
	got, err := e.TableStats(t.Context(), conn, database, refs)
	if err != nil {
		t.Fatalf("stats of %s: %v", database, err)
	}
	if d := engines.CompareStats(want, got); len(d) > 0 {
		t.Fatalf("stats of %s differ:\n  %s", database, strings.Join(d, "\n  "))
	}
}

// TestRoundTrip restores the fixture onto the other server under another
// name and compares every object the server can show, value by value.
func TestRoundTrip(t *testing.T) {
	srcSrv, dstSrv := harness.SourceMariaDB(t), harness.TargetMariaDB(t)
	src := newSource(t, srcSrv)
	// A trigger whose statement names the source database: restored under
	// another name it must land on the copy.
	srcSrv.Exec(t, src.Name, fmt.Sprintf("CREATE TRIGGER %[1]s.gen_bi BEFORE INSERT ON %[1]s.gen FOR EACH ROW SET NEW.qty = NEW.qty + 1", src.Name))
	e := New()
	snap, parts := backupTo(t, e, src, 2)
	if !strings.HasPrefix(snap.Consistency, "snapshot:") || !strings.Contains(snap.Consistency, "old_myisam (MyISAM)") ||
		!strings.Contains(snap.Consistency, "aria_log (Aria)") {
		t.Errorf("consistency %q: want the snapshot guarantee naming the MyISAM table", snap.Consistency)
	}
	if !strings.Contains(snap.Position, "binlog=") {
		t.Errorf("position %q: want the binlog position (the harness runs with binlog on)", snap.Position)
	}
	t.Logf("consistency: %s; position: %s; warnings: %v", snap.Consistency, snap.Position, snap.Warnings)

	dst := engines.Conn{DSN: dstSrv.DSN("")}
	name := uniqueName("rt")
	t.Cleanup(func() { dropQuietly(dstSrv, name) })
	rep := restoreTo(t, e, dst, snap, parts, engines.RestoreRequest{Database: name})
	if !slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.Contains(s, "users and grants") }) {
		t.Errorf("report %v does not say that users and grants were not restored", rep.Skipped)
	}
	statsEqual(t, e, dst, name, snap.Tables)

	same := func(what, query string) {
		t.Helper()
		a := queryAll(t, src.Conn, src.Name, query)
		b := queryAll(t, dst, name, query)
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Errorf("%s differs:\nsource:   %q\nrestored: %q", what, a, b)
		}
	}
	// DDL, verbatim: partitioning, CHECK constraints, comments, charsets,
	// generated and invisible columns, AUTO_INCREMENT next values.
	for _, tb := range listTables(t, src.Conn, src.Name) {
		same("SHOW CREATE TABLE "+tb.Name, "SHOW CREATE TABLE "+quoteIdent(tb.Name))
	}
	same("database charset", "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()")
	same("sequence", "SHOW CREATE SEQUENCE ticket_seq")
	same("sequence next value", "SELECT NEXTVAL(ticket_seq)")
	same("views", "SELECT * FROM a_over_top")
	same("view definition", "SELECT TABLE_NAME, REPLACE(VIEW_DEFINITION, DATABASE(), 'this_db'), CHECK_OPTION, SECURITY_TYPE FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")
	same("triggers", "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_STATEMENT, SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1")
	same("routines", "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, SQL_MODE, ROUTINE_COMMENT, DTD_IDENTIFIER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 1")
	same("function", "SELECT twice(21)")
	same("event", "SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STARTS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()")
	// Values, spelled out for the cases issue 4 names.
	same("texts", "SELECT id, HEX(label), HEX(body), HEX(latin), label IS NULL, body IS NULL FROM texts ORDER BY id")
	same("blobs", "SELECT id, HEX(b), HEX(vb), HEX(fixed), b IS NULL FROM blobs ORDER BY id")
	same("kinds", "SELECT id, j, d, BIN(bits), b1+0, e, s, dt6, ts, ts6, dte, tm, yr, f, dbl, ST_AsText(pt), ST_AsText(g), ST_SRID(g) FROM kinds ORDER BY id")
	same("generated and invisible", "SELECT id, price, qty, total, total_stored, secret FROM gen ORDER BY id")
	same("history", "SELECT id, status, row_start, row_end FROM versioned FOR SYSTEM_TIME ALL ORDER BY id, row_start")
	same("merge table", "SELECT id, msg FROM log_all ORDER BY id")
	same("partitions", "SELECT PARTITION_NAME, TABLE_ROWS FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'parted' ORDER BY 1")
	same("column comments", "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_COMMENT, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2")

	// Specific promises, checked directly.
	if got := queryAll(t, dst, name, "SELECT COUNT(*) FROM versioned FOR SYSTEM_TIME ALL")[0][0]; got != "3" {
		t.Errorf("versioned keeps %s row versions, want 3 (history kept)", got)
	}
	if got := queryAll(t, dst, name, "SELECT SUM(label IS NULL), SUM(label = 'NULL'), SUM(label = '') FROM texts")[0]; !slices.Equal(got, []string{"1", "1", "1"}) {
		t.Errorf("NULL / 'NULL' / '' counts %v, want 1 1 1", got)
	}
	execConn(t, dst, name, "INSERT INTO texts (label) VALUES ('next')")
	if got := queryAll(t, dst, name, "SELECT MAX(id) FROM texts")[0][0]; got != "1000" {
		t.Errorf("AUTO_INCREMENT after restore gave id %s, want 1000", got)
	}
	if got := queryAll(t, dst, name, "SELECT COUNT(*) FROM audit")[0][0]; got != "2" {
		t.Errorf("the trigger did not fire after the restore: audit has %s rows, want 2", got)
	}
	execConn(t, dst, name, "INSERT INTO old_myisam (note) VALUES ('next')")
	if got := queryAll(t, dst, name, "SELECT MAX(id) FROM old_myisam")[0][0]; got != "77" {
		t.Errorf("MyISAM AUTO_INCREMENT after restore gave id %s, want 77", got)
	}
	if _, err := queryErr(dst, name, "INSERT INTO kinds (id, d) VALUES (99, -5)"); err == nil {
		t.Error("CHECK constraint d_nonneg not enforced after restore")
	}
	if ev := queryAll(t, dst, name, "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()")[0][0]; ev != "DISABLED" {
		t.Errorf("event status %s after a restore under another name, want DISABLED", ev)
	}
	if !slices.ContainsFunc(rep.Notes, func(s string) bool { return strings.Contains(s, "event nightly recreated DISABLED") }) {
		t.Errorf("notes %v do not say the event was disabled", rep.Notes)
	}
	if enginetest.FindNote(rep.NoteMessages, NoteEventDisabled, "", engines.Params{"event": "nightly"}) == nil ||
		enginetest.FindNote(rep.SkippedMessages, NoteUsersAndGrants, "", nil) == nil {
		t.Errorf("the report's Notes lack the disabled event or the users and grants: %+v %+v", rep.NoteMessages, rep.SkippedMessages)
	}

	ir, err := e.CheckIntegrity(t.Context(), dst, name)
	if err != nil || !ir.OK() {
		t.Fatalf("CHECK TABLE: %v %+v", err, ir)
	}
	t.Logf("%s: OK in %v", ir.Tool, ir.Duration)
}

func queryErr(conn engines.Conn, database, stmt string) (sql.Result, error) {
	cfg, err := mysql.ParseDSN(conn.DSN)
	if err != nil {
		return nil, err
	}
	cfg.DBName = database
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Exec(stmt)
}

// TestMySQL8Paths runs the restore code MySQL 8 takes — INSERT batches and
// parallel loading of key-range parts with indexes added afterwards —
// against MariaDB, and checks the result is the same.
func TestMySQL8Paths(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	// DATA_LENGTH, which decides the split, is a statistic: refresh it.
	execConn(t, src.Conn, "", "ANALYZE TABLE tickets")
	e := New()
	e.SplitBytes = 256 << 10
	snap, parts := backupTo(t, e, src, 2)
	var ticketParts int
	for _, p := range parts.Parts() {
		if p.Table != nil && p.Table.Name == "tickets" {
			ticketParts++
			if p.Seq == 0 {
				t.Errorf("tickets part %s has Seq 0 but the table was split", p.Name)
			}
		}
	}
	if ticketParts < 3 {
		t.Fatalf("tickets was dumped as %d parts, want it split by key range", ticketParts)
	}
	for _, tc := range []struct{ method, strategy string }{
		{loadInsert, strategyBulk},
		{loadData, strategyParallel},
		{loadInsert, strategyParallel},
	} {
		t.Run(tc.method+"/"+tc.strategy, func(t *testing.T) {
			e2 := New()
			e2.loadMethod, e2.strategy, e2.deferBytes = tc.method, tc.strategy, 1
			name := uniqueName("m8")
			t.Cleanup(func() { dropQuietly(srv, name) })
			restoreTo(t, e2, src.Conn, snap, parts, engines.RestoreRequest{Database: name, Parallel: 3})
			statsEqual(t, e2, src.Conn, name, snap.Tables)
			for _, tb := range []string{"tickets", "texts", "child", "gen", "kinds"} {
				a := queryAll(t, src.Conn, src.Name, "SHOW CREATE TABLE "+tb)
				b := queryAll(t, src.Conn, name, "SHOW CREATE TABLE "+tb)
				if !slices.EqualFunc(a, b, slices.Equal) {
					t.Errorf("SHOW CREATE TABLE %s differs after the load:\n%s\n%s", tb, a[0][1], b[0][1])
				}
			}
		})
	}
}

// TestLocalInfileOff: a server with local_infile off (MySQL 8's default)
// gets INSERT batches, whether the restore sees it coming or is refused.
func TestLocalInfileOff(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	snap, parts := backupTo(t, New(), src, 2)
	dst := harness.TargetMariaDB(t)
	dst.Exec(t, "", "SET GLOBAL local_infile = 0")
	t.Cleanup(func() { dst.Exec(t, "", "SET GLOBAL local_infile = 1") })
	conn := engines.Conn{DSN: dst.DSN("")}
	for _, forced := range []string{"", loadData} {
		t.Run("method="+forced, func(t *testing.T) {
			e := New()
			e.loadMethod = forced
			name := uniqueName("li")
			t.Cleanup(func() { dropQuietly(dst, name) })
			rep := restoreTo(t, e, conn, snap, parts, engines.RestoreRequest{Database: name})
			statsEqual(t, e, conn, name, snap.Tables)
			want := "local_infile off"
			if forced != "" {
				want = "refused LOAD DATA LOCAL INFILE"
			}
			if !slices.ContainsFunc(rep.Notes, func(s string) bool { return strings.Contains(s, want) }) {
				t.Errorf("notes %v do not say %q", rep.Notes, want)
			}
		})
	}
}

// TestTableRestore restores one table with a trigger into an existing
// database, and then a table whose foreign key points outside.
func TestTableRestore(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	e := New()
	snap, parts := backupTo(t, e, src, 2)
	dst := engines.Conn{DSN: harness.TargetMariaDB(t).DSN("")}
	name := uniqueName("tr")
	t.Cleanup(func() { dropQuietly(harness.TargetMariaDB(t), name) })
	execConn(t, dst, "", "CREATE DATABASE "+name)
	execConn(t, dst, name, "CREATE TABLE unrelated (x INT); INSERT INTO unrelated VALUES (1)")

	rep := restoreTo(t, e, dst, snap, parts, engines.RestoreRequest{Database: name,
		Tables: []engines.TableRef{{Name: "texts"}, {Name: "versioned"}}})
	st1, _ := snap.Table(engines.TableRef{Name: "texts"})
	st2, _ := snap.Table(engines.TableRef{Name: "versioned"})
	statsEqual(t, e, dst, name, []engines.TableStats{st1, st2})
	if got := queryAll(t, dst, name, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"); len(got) != 1 || got[0][0] != "texts_ai" {
		t.Errorf("triggers after restoring texts: %v, want texts_ai", got)
	}
	if !slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.Contains(s, "views, routines and events") }) {
		t.Errorf("skipped %v does not mention views/routines/events", rep.Skipped)
	}

	rep = restoreTo(t, e, dst, snap, parts, engines.RestoreRequest{Database: name, Tables: []engines.TableRef{{Name: "child"}}})
	if slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.Contains(s, "child_text_fk") }) {
		t.Errorf("restoring child next to texts must keep its FK; skipped: %v", rep.Skipped)
	}
	if fk := queryAll(t, dst, name, "SELECT CONSTRAINT_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"); len(fk) != 1 || fk[0][1] != "texts" {
		t.Errorf("foreign keys after restoring child next to texts: %v", fk)
	}

	// Into a database without texts: the foreign key is left out, and said so.
	other := uniqueName("tr2")
	t.Cleanup(func() { dropQuietly(harness.TargetMariaDB(t), other) })
	rep = restoreTo(t, e, dst, snap, parts, engines.RestoreRequest{Database: other, Tables: []engines.TableRef{{Name: "child"}}})
	if !slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.Contains(s, "child_text_fk") }) {
		t.Errorf("restoring child alone must report its dropped FK; skipped: %v", rep.Skipped)
	}
}

// TestWithoutReload: an account without RELOAD gets a single-snapshot
// backup that says so, and still restores exactly.
func TestWithoutReload(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	user := uniqueName("u")
	srv.Exec(t, "", fmt.Sprintf(`CREATE USER '%[1]s'@'127.0.0.1' IDENTIFIED BY 'Pw-noreload-91c';
		GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, EXECUTE ON %[2]s.* TO '%[1]s'@'127.0.0.1';
		GRANT SELECT ON mysql.proc TO '%[1]s'@'127.0.0.1'`, user, src.Name))
	t.Cleanup(func() { srv.Exec(t, "", "DROP USER '"+user+"'@'127.0.0.1'") })
	conn := engines.Conn{DSN: user + "@tcp(127.0.0.1:" + fmt.Sprint(srv.Port) + ")/" + src.Name, Password: secret.New("Pw-noreload-91c")}
	e := New()
	parts := enginetest.NewDirParts(t.TempDir())
	snap, err := e.Backup(t.Context(), conn, engines.BackupOptions{Parallel: 2}, parts)
	if err != nil {
		t.Fatalf("backup without RELOAD: %v", err)
	}
	if !strings.HasPrefix(snap.Consistency, "single snapshot") || !strings.Contains(snap.Consistency, "WITHOUT A LOCK") {
		t.Errorf("consistency %q", snap.Consistency)
	}
	if !slices.ContainsFunc(snap.Warnings, func(s string) bool { return strings.Contains(s, "RELOAD") }) {
		t.Errorf("warnings %v do not mention the missing RELOAD privilege", snap.Warnings)
	}

	// Restored by an account without SUPER: no sql_log_bin, no other
	// DEFINER; both said in the report.
	dst := harness.TargetMariaDB(t)
	loader := uniqueName("l")
	dst.Exec(t, "", fmt.Sprintf(`CREATE USER '%[1]s'@'127.0.0.1' IDENTIFIED BY 'Pw-loader-3b7';
		GRANT CREATE, DROP, ALTER, INSERT, SELECT, UPDATE, DELETE, INDEX, CREATE VIEW, SHOW VIEW, TRIGGER, EVENT,
			CREATE ROUTINE, ALTER ROUTINE, EXECUTE, REFERENCES, LOCK TABLES ON *.* TO '%[1]s'@'127.0.0.1'`, loader))
	t.Cleanup(func() { dst.Exec(t, "", "DROP USER '"+loader+"'@'127.0.0.1'") })
	dconn := engines.Conn{DSN: loader + "@tcp(127.0.0.1:" + fmt.Sprint(dst.Port) + ")/", Password: secret.New("Pw-loader-3b7")}
	name := uniqueName("nr")
	t.Cleanup(func() { dropQuietly(dst, name) })
	rep := restoreTo(t, e, dconn, snap, parts, engines.RestoreRequest{Database: name})
	statsEqual(t, e, dconn, name, snap.Tables)
	for _, want := range []string{"replicas receive it", "view v_base recreated with the restoring account as DEFINER"} {
		if !slices.ContainsFunc(rep.Notes, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("notes %v do not say %q", rep.Notes, want)
		}
	}
	// Functions need SUPER while binary logging is on.
	if !slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.HasPrefix(s, "routine twice:") }) {
		t.Errorf("skipped %v does not report function twice", rep.Skipped)
	}
	// The same, as Notes: the kind of object is a word a report
	// translates, the server's refusal a parameter.
	if n := enginetest.FindNote(rep.SkippedMessages, NoteObjectRefused, "", engines.Params{"kind": engines.KindRoutine, "object": "twice"}); n == nil ||
		!strings.Contains(n.Params["error"], "1419") {
		t.Errorf("SkippedMessages %+v do not report function twice with the server's error", rep.SkippedMessages)
	}
	if enginetest.FindNote(rep.NoteMessages, NoteDefinerReplaced, "", engines.Params{"kind": engines.KindView, "object": "v_base"}) == nil ||
		enginetest.FindNote(rep.NoteMessages, NoteBinlogOn, "", nil) == nil {
		t.Errorf("NoteMessages %+v lack the replaced DEFINER of v_base or the binary log", rep.NoteMessages)
	}
}

// TestDefinerMissing: a view whose DEFINER account the target server
// lacks is recreated, and the report says so, in English and as a Note
// naming the account.
func TestDefinerMissing(t *testing.T) {
	srcSrv, dstSrv := harness.SourceMariaDB(t), harness.TargetMariaDB(t)
	user, name := uniqueName("definer"), uniqueName("defsrc")
	srcSrv.Exec(t, "", fmt.Sprintf("CREATE USER '%s'@'%%'", user))
	t.Cleanup(func() { srcSrv.Exec(t, "", fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	srcSrv.Exec(t, "", "CREATE DATABASE "+name)
	t.Cleanup(func() { dropQuietly(srcSrv, name) })
	srcSrv.Exec(t, name, fmt.Sprintf(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);
		CREATE DEFINER = '%s'@'%%' SQL SECURITY INVOKER VIEW v AS SELECT id FROM t`, user))
	e := New()
	snap, parts := backupTo(t, e, enginetest.Database{Conn: engines.Conn{DSN: srcSrv.DSN(name)}, Name: name}, 1)

	dst := engines.Conn{DSN: dstSrv.DSN("")}
	copyName := uniqueName("defcopy")
	t.Cleanup(func() { dropQuietly(dstSrv, copyName) })
	rep := restoreTo(t, e, dst, snap, parts, engines.RestoreRequest{Database: copyName})
	definer := "`" + user + "`@`%`"
	want := "account " + definer + ", the DEFINER of restored views/routines/triggers/events, does not exist on the target: create it, or they fail when used"
	if !slices.Contains(rep.Skipped, want) {
		t.Errorf("Skipped %q lacks %q", rep.Skipped, want)
	}
	if enginetest.FindNote(rep.SkippedMessages, NoteDefinerMissing, "", engines.Params{"definer": definer}) == nil {
		t.Errorf("SkippedMessages %+v lack %s for %s", rep.SkippedMessages, NoteDefinerMissing, definer)
	}
	if got := queryAll(t, dst, copyName, "SELECT COUNT(*) FROM v")[0][0]; got != "2" {
		t.Errorf("the restored view (SQL SECURITY INVOKER) counts %s rows, want 2", got)
	}
}

// TestLongWrite: a running write holds FLUSH TABLES WITH READ LOCK off, and
// the server's other writes would queue behind the lock's wait; the backup
// waits only LockWaitTimeout, then falls back and says so.
func TestLongWrite(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	name := uniqueName("long")
	t.Cleanup(func() { dropQuietly(srv, name) })
	srv.Exec(t, "", "CREATE DATABASE "+name)
	srv.Exec(t, name, "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0), (2, 0)")
	admin := engines.Conn{DSN: srv.DSN("")}
	done := make(chan error, 1)
	go func() {
		_, err := queryErr(admin, name, "UPDATE t SET v = SLEEP(60) WHERE id = 1")
		done <- err
	}()
	t.Cleanup(func() {
		db, err := sql.Open("mysql", srv.DSN(""))
		if err == nil {
			rows, _ := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE t SET v = SLEEP(60)%'")
			for rows != nil && rows.Next() {
				var id int64
				rows.Scan(&id)
				db.Exec(fmt.Sprintf("KILL QUERY %d", id))
			}
			db.Close()
		}
		<-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(queryAll(t, admin, "", "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE t SET v = SLEEP(60)%'")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the long write did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e := New()
	e.LockWaitTimeout = time.Second
	start := time.Now()
	snap, parts := backupTo(t, e, enginetest.Database{Conn: engines.Conn{DSN: srv.DSN(name)}, Name: name}, 2)
	took := time.Since(start)
	if !strings.HasPrefix(snap.Consistency, "single snapshot") || len(snap.Warnings) == 0 {
		t.Fatalf("consistency %q, warnings %v: want the single-snapshot fallback", snap.Consistency, snap.Warnings)
	}
	if took > 10*time.Second {
		t.Errorf("backup took %v next to a long write", took)
	}
	t.Logf("in %v: %s", took.Round(time.Millisecond), snap.Warnings[0])
	if len(parts.Parts()) != 2 {
		t.Errorf("parts %v", parts.Parts())
	}
	if st, _ := snap.Table(engines.TableRef{Name: "t"}); st.Rows != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestBadInput(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	e := New()
	t.Run("AccessDenied", func(t *testing.T) {
		user := uniqueName("u")
		srv.Exec(t, "", "CREATE USER '"+user+"'@'127.0.0.1' IDENTIFIED BY 'right-pw'")
		t.Cleanup(func() { srv.Exec(t, "", "DROP USER '"+user+"'@'127.0.0.1'") })
		pw := "Wrong-Pw-5d1e"
		conn := engines.Conn{DSN: fmt.Sprintf("mysql://%s@127.0.0.1:%d/mysql_x", user, srv.Port), Password: secret.New(pw)}
		_, err := e.Backup(t.Context(), conn, engines.BackupOptions{}, enginetest.NewDirParts(t.TempDir()))
		if err == nil || !errors.Is(err, fault.ErrPermanent) {
			t.Fatalf("backup with a wrong password: %v, want a permanent error", err)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error shows the password: %v", err)
		}
		t.Log(err)
		_, err = e.TableStats(t.Context(), conn, "x", nil)
		if !errors.Is(err, fault.ErrPermanent) {
			t.Fatalf("stats with a wrong password: %v", err)
		}
	})
	t.Run("ServerDown", func(t *testing.T) {
		m := harness.NewMariaDB(t, harness.WithoutBinlog())
		m.Exec(t, "", "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY); INSERT INTO d.t VALUES (1)")
		m.Stop(t)
		pw := "Pw-down-0a9"
		_, err := e.Backup(t.Context(), engines.Conn{DSN: m.DSN("d"), Password: secret.New(pw)}, engines.BackupOptions{}, enginetest.NewDirParts(t.TempDir()))
		if err == nil || errors.Is(err, fault.ErrPermanent) || !strings.Contains(err.Error(), fmt.Sprint(m.Port)) || strings.Contains(err.Error(), pw) {
			t.Fatalf("backup of a stopped server: %v, want a retryable error naming the server", err)
		}
		t.Log(err)
		m.Start(t)
		parts := enginetest.NewDirParts(t.TempDir())
		snap, err := e.Backup(t.Context(), engines.Conn{DSN: m.DSN("d")}, engines.BackupOptions{}, parts)
		if err != nil {
			t.Fatalf("backup after the server came back: %v", err)
		}
		if snap.Position != "" {
			t.Errorf("position %q without binlog", snap.Position)
		}
	})
	t.Run("UnknownDatabase", func(t *testing.T) {
		_, err := e.Backup(t.Context(), engines.Conn{DSN: srv.DSN("no_such_db")}, engines.BackupOptions{}, enginetest.NewDirParts(t.TempDir()))
		if !errors.Is(err, fault.ErrPermanent) || !strings.Contains(err.Error(), "no_such_db") {
			t.Fatalf("backup of a missing database: %v", err)
		}
	})
	t.Run("SystemDatabase", func(t *testing.T) {
		if err := e.DropDatabase(t.Context(), engines.Conn{DSN: srv.DSN("")}, "mysql"); !errors.Is(err, fault.ErrPermanent) {
			t.Fatalf("DropDatabase(mysql): %v", err)
		}
	})
}

// hookSink is a DirParts whose CreatePart runs a hook first, to act while
// a backup is in the middle of its dump.
type hookSink struct {
	*enginetest.DirParts
	hook func(p engines.PartInfo)
}

func (h *hookSink) CreatePart(ctx context.Context, p engines.PartInfo) (io.WriteCloser, error) {
	h.hook(p)
	return h.DirParts.CreatePart(ctx, p)
}

// TestDuringDump drops a table and kills a dump connection while a backup
// runs: both fail the backup with an error that says what happened.
func TestDuringDump(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	admin := engines.Conn{DSN: srv.DSN("")}
	e := New()
	t.Run("TableDropped", func(t *testing.T) {
		name := uniqueName("drop")
		t.Cleanup(func() { dropQuietly(srv, name) })
		srv.Exec(t, "", "CREATE DATABASE "+name)
		// a_first is the largest table, so it is read first (Parallel 1).
		srv.Exec(t, name, `CREATE TABLE a_first (id INT PRIMARY KEY, pad VARCHAR(200));
			INSERT INTO a_first SELECT seq, REPEAT('x', 200) FROM seq_1_to_5000;
			CREATE TABLE z_later (id INT PRIMARY KEY); INSERT INTO z_later VALUES (1);`)
		var once sync.Once
		sink := &hookSink{DirParts: enginetest.NewDirParts(t.TempDir()), hook: func(p engines.PartInfo) {
			if p.Name == "data/a_first" {
				once.Do(func() { execConn(t, admin, name, "DROP TABLE z_later") })
			}
		}}
		_, err := e.Backup(t.Context(), engines.Conn{DSN: srv.DSN(name)}, engines.BackupOptions{Parallel: 1}, sink)
		if err == nil || !strings.Contains(err.Error(), "z_later") || !strings.Contains(err.Error(), "dropped during the backup") {
			t.Fatalf("backup with a table dropped midway: %v", err)
		}
		t.Log(err)
	})
	t.Run("Killed", func(t *testing.T) {
		name := uniqueName("kill")
		t.Cleanup(func() { dropQuietly(srv, name) })
		srv.Exec(t, "", "CREATE DATABASE "+name)
		srv.Exec(t, name, `CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(250));
			INSERT INTO big SELECT seq, REPEAT('k', 250) FROM seq_1_to_200000;`)
		var once sync.Once
		sink := &hookSink{DirParts: enginetest.NewDirParts(t.TempDir()), hook: func(p engines.PartInfo) {
			if p.Name != "data/big" {
				return
			}
			once.Do(func() {
				ids := queryAll(t, admin, "", "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE 'SELECT %`"+name+"`.`big`%'")
				if len(ids) != 1 {
					t.Errorf("dump query of big not found in the process list: %v", ids)
					return
				}
				execConn(t, admin, "", "KILL "+ids[0][0])
			})
		}}
		_, err := e.Backup(t.Context(), engines.Conn{DSN: srv.DSN(name)}, engines.BackupOptions{Parallel: 1}, sink)
		if err == nil || !strings.Contains(err.Error(), "table big") {
			t.Fatalf("backup whose dump connection was killed: %v", err)
		}
		t.Log(err)
	})
}

// TestFailedRestoreCleansUp: a restore that fails midway leaves no database.
func TestFailedRestoreCleansUp(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	e := New()
	snap, parts := backupTo(t, e, src, 2)
	name := uniqueName("fail")
	t.Cleanup(func() { dropQuietly(srv, name) })
	_, err := e.Restore(t.Context(), src.Conn, engines.RestoreRequest{Database: name, Parallel: 2, Snapshot: snap},
		enginetest.Corrupt(parts, "data/tickets"))
	if !errors.Is(err, enginetest.ErrInjected) {
		t.Fatalf("restore with a corrupt part: %v", err)
	}
	if ok, err := e.DatabaseExists(t.Context(), src.Conn, name); err != nil || ok {
		t.Fatalf("after a failed restore the database exists=%v (%v)", ok, err)
	}
}

// TestSchemaPart checks the schema part's promises that the restore alone
// does not show: views in dependency order, JSON that round-trips.
func TestSchemaPart(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	src := newSource(t, srv)
	_, parts := backupTo(t, New(), src, 1)
	doc, err := readSchema(t.Context(), parts)
	if err != nil {
		t.Fatal(err)
	}
	var views []string
	for _, v := range doc.Views {
		views = append(views, v.Name)
	}
	if !slices.Equal(views, []string{"v_base", "v_top", "a_over_top"}) {
		t.Errorf("view order %v, want dependencies first", views)
	}
	for _, v := range doc.Views {
		if strings.Contains(string(v.Create), src.Name) {
			t.Errorf("view %s names the source database: %s", v.Name, v.Create)
		}
	}
	gen := doc.table("gen")
	if !slices.Equal(gen.Columns, []string{"id", "price", "qty", "secret"}) || !slices.Equal(gen.Generated, []string{"total", "total_stored"}) {
		t.Errorf("gen columns %v generated %v", gen.Columns, gen.Generated)
	}
	if v := doc.table("versioned"); !v.History || !slices.Equal(v.Columns, []string{"id", "status", "row_start", "row_end"}) {
		t.Errorf("versioned: %+v", v)
	}
	if s := doc.table("ticket_seq"); s.Kind != kindSequence || s.SequenceNext != "150" {
		t.Errorf("sequence: %+v", s)
	}
	b, _ := json.Marshal(doc)
	var back schemaDoc
	if err := json.Unmarshal(b, &back); err != nil || len(back.Views) != 3 || string(back.Triggers[0].Create) != string(doc.Triggers[0].Create) {
		t.Errorf("schema JSON does not round-trip: %v", err)
	}
}

// TestRestoreTargetFull restores a table larger than the target's data
// space: the restore fails with a permanent error that names the database
// and the table and says the target is out of space, and leaves no
// database behind.
func TestRestoreTargetFull(t *testing.T) {
	srv := harness.SourceMariaDB(t)
	name := uniqueName("full")
	t.Cleanup(func() { dropQuietly(srv, name) })
	srv.Exec(t, "", "CREATE DATABASE "+name)
	// About 60 MB of rows, for a target limited to 40 MB.
	srv.Exec(t, name, `CREATE TABLE small (id INT PRIMARY KEY); INSERT INTO small VALUES (1), (2);
		CREATE TABLE big (id INT PRIMARY KEY, pad TEXT);
		INSERT INTO big SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000) FROM seq_1_to_60000;`)
	e := New()
	snap, parts := backupTo(t, e, enginetest.Database{Conn: engines.Conn{DSN: srv.DSN(name)}, Name: name}, 2)

	dst := harness.NewMariaDB(t, harness.WithoutBinlog(), harness.WithDataLimit(40))
	target := engines.Conn{DSN: dst.DSN("")}
	restored := uniqueName("full_dst")
	_, err := e.Restore(t.Context(), target, engines.RestoreRequest{Database: restored, Parallel: 2, Snapshot: snap}, parts)
	if err == nil {
		t.Fatal("restore of 60 MB into a 40 MB target succeeded")
	}
	t.Log(err)
	msg := err.Error()
	if !errors.Is(err, fault.ErrPermanent) || !strings.Contains(msg, restored) ||
		!strings.Contains(msg, "target server is out of space while loading table big") {
		t.Fatalf("restore into a full target: %v, want a permanent error naming %s and table big that says the target is out of space", err, restored)
	}
	if ok, err := e.DatabaseExists(t.Context(), target, restored); err != nil || ok {
		t.Fatalf("after the failed restore the database exists=%v (%v)", ok, err)
	}
}

func TestOutOfSpace(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1114, Message: "The table 'big' is full"}, true},
		{&mysql.MySQLError{Number: 1021, Message: "Disk full (./d/t.ibd); waiting for someone to free some space..."}, true},
		{&mysql.MySQLError{Number: 3, Message: `Error writing file '/tmp/MYfd=5' (Errcode: 28 "No space left on device")`}, true},
		{&mysql.MySQLError{Number: 1030, Message: `Got error 28 "No space left on device" from storage engine InnoDB`}, true},
		{&mysql.MySQLError{Number: 3, Message: `Error writing file '/tmp/x' (Errcode: 5 "Input/output error")`}, false},
		{&mysql.MySQLError{Number: 1146, Message: "Table 'd.t' doesn't exist"}, false},
		{errors.New("No space left on device"), false}, // not from the server
	} {
		err := fmt.Errorf("loading: %w", c.err)
		if got := outOfSpace(err); got != c.want {
			t.Errorf("outOfSpace(%v) = %v, want %v", c.err, got, c.want)
		}
		if c.want && !errors.Is(classify(err), fault.ErrPermanent) {
			t.Errorf("classify(%v) is not permanent", c.err)
		}
	}
}

// TestLockConflict: deadlocks and lock wait timeouts, wrapped or not, make a
// part load retry; other errors do not.
func TestLockConflict(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, true},
		{fmt.Errorf("loading table t: %w", &mysql.MySQLError{Number: 1213}), true},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, true},
		{&mysql.MySQLError{Number: 1146}, false},
		{errors.New("deadlock"), false},
	} {
		if got := lockConflict(c.err); got != c.want {
			t.Errorf("lockConflict(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
