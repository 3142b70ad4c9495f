package mssql

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

// recorded are result rows as go-mssqldb returns them (int64, float64,
// string, bool, time.Time, nil), fed to the scan functions: a test of what
// the rows mean, not a stand-in for the server.
type recorded struct {
	rows [][]any
	i    int
}

func rowsOf(rows ...[]any) *recorded { return &recorded{rows: rows} }

func (r *recorded) Next() bool { r.i++; return r.i <= len(r.rows) }
func (r *recorded) Err() error { return nil }

func (r *recorded) Scan(dest ...any) error {
	row := r.rows[r.i-1]
	if len(row) != len(dest) {
		return fmt.Errorf("row %d has %d values for %d destinations", r.i, len(row), len(dest))
	}
	for k, d := range dest {
		if err := assign(d, row[k]); err != nil {
			return fmt.Errorf("row %d column %d: %w", r.i, k, err)
		}
	}
	return nil
}

// assign converts as database/sql does for the types the adapter scans.
func assign(dest, src any) error {
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(src)
	}
	if src == nil {
		return fmt.Errorf("NULL into %T", dest)
	}
	dv := reflect.ValueOf(dest).Elem()
	sv := reflect.ValueOf(src)
	switch dv.Kind() {
	case reflect.Bool:
		switch v := src.(type) {
		case bool:
			dv.SetBool(v)
		case int64:
			dv.SetBool(v != 0)
		default:
			return fmt.Errorf("%T into bool", src)
		}
		return nil
	case reflect.Int, reflect.Int64:
		if sv.Kind() != reflect.Int64 {
			return fmt.Errorf("%T into %s", src, dv.Kind())
		}
		dv.SetInt(sv.Int())
		return nil
	}
	if !sv.Type().AssignableTo(dv.Type()) {
		return fmt.Errorf("%T into %s", src, dv.Type())
	}
	dv.Set(sv)
	return nil
}

// TestDiagnosticsGolden: every statement of a daily and a monthly run, for
// awkward database names (which go as parameters), and of the error log
// read from a previous position.
func TestDiagnosticsGolden(t *testing.T) {
	var c cases
	c.add("lock timeout 50ms", lockTimeout(50*time.Millisecond), nil)
	c.add("lock timeout 0 (at least 1 ms)", lockTimeout(0), nil)
	for _, level := range []string{diagmodel.Daily, diagmodel.Monthly} {
		for _, db := range names {
			if level == diagmodel.Monthly && db != names[0] && db != names[len(names)-1] {
				continue
			}
			for _, a := range diagQueries(db, level, nil) {
				for k, q := range a.queries {
					c.add(fmt.Sprintf("%s %q %s #%d", level, db, strings.Join(a.areas, "+"), k+1), q.stmt, nil)
				}
			}
		}
	}
	prev := &diagmodel.Log{File: errorLogFile, Offset: time.Date(2026, 12, 7, 8, 30, 0, 997e6, time.UTC).UnixMilli()}
	c.add("error log after a previous run", errorLog(prev), nil)
	c.add("error log of another engine's position (ignored)", errorLog(&diagmodel.Log{File: "/var/log/x", Offset: 10}), nil)
	golden(t, "diagnostics", c.b.String())
}

// TestDiagnosticsNoNameInText: the database's name never enters the
// statements' text.
func TestDiagnosticsNoNameInText(t *testing.T) {
	for _, level := range []string{diagmodel.Daily, diagmodel.Monthly} {
		for _, a := range diagQueries("销售库 o'brien]", level, nil) {
			for _, q := range a.queries {
				if strings.Contains(q.stmt.sql, "销售库") {
					t.Errorf("%v: the name is in the text:\n%s", a.areas, q.stmt.sql)
				}
			}
		}
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestScanDiagnostics(t *testing.T) {
	f := &diagmodel.Facts{Database: "销售库"}
	must := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	must("server", scanServer(rowsOf([]any{"Microsoft SQL Server 2022 (RTM-CU16) - 16.0.4165.4 (X64)", "16.0.4165.4",
		"Developer Edition (64-bit)", "RTM", ts("2026-12-01T02:03:04.123Z")}), f))
	must("encryption", scanEncryption(rowsOf([]any{"FALSE", int64(7)}, []any{"TRUE", int64(2)}), f))
	if f.Server.Version != "16.0.4165.4" || !f.Server.StartedAt.Equal(ts("2026-12-01T02:03:04.123Z")) || f.Server.SSL == nil || !*f.Server.SSL ||
		f.MSSQL.Edition != "Developer Edition (64-bit)" || f.MSSQL.PlainConnections != 7 || f.MSSQL.EncryptedConnections != 2 {
		t.Errorf("server: %+v %+v", f.Server, f.MSSQL)
	}
	off := &diagmodel.Facts{}
	must("no TLS", scanEncryption(rowsOf([]any{"FALSE", int64(3)}), off))
	if *off.Server.SSL {
		t.Error("no encrypted connection: SSL on")
	}

	must("connections", scanConnections(rowsOf(
		[]any{"sleeping", "app", "erp", int64(40), int64(32767)},
		[]any{"running", "app", "erp", int64(3), int64(32767)},
		[]any{"sleeping", "sa", "", int64(1), int64(32767)}), f))
	if c := f.Connections; c.Max != 32767 || c.Total != 44 || c.ByUser["app"] != 43 || c.ByState["sleeping"] != 41 || c.ByApp["erp"] != 43 {
		t.Errorf("connections: %+v", c)
	}

	must("sessions", scanSessions(rowsOf(
		[]any{int64(53), "app", "erp", "sleeping", int64(1), int64(4000), int64(3900), "UPDATE t SET v = 1"},
		[]any{int64(61), "etl", "ssis", "running", int64(0), int64(30), int64(2), "INSERT ..."}), f))
	if s := f.Sessions; len(s) != 2 || !s[0].IdleInTransaction || s[0].State != "idle in transaction" || s[0].XactSeconds != 4000 ||
		s[0].StateSeconds != 3900 || s[1].IdleInTransaction || s[1].State != "running" || s[1].App != "ssis" {
		t.Errorf("sessions: %+v", s)
	}

	must("blocked", scanBlocked(rowsOf([]any{int64(61), "etl", 42.5, "UPDATE t", int64(53), "app", "KEY: 5:72057594043105280 (8194443284a0)"}), f))
	if b := f.Blocked; len(b) != 1 || b[0].PID != 61 || b[0].BlockerPID != 53 || b[0].WaitSeconds != 42.5 || b[0].BlockerUser != "app" {
		t.Errorf("blocked: %+v", b)
	}

	must("counters", scanCounters(rowsOf(
		[]any{"Page life expectancy", int64(120)},
		[]any{"Buffer cache hit ratio", int64(95)},
		[]any{"Buffer cache hit ratio base", int64(100)},
		[]any{"Page lookups/sec", int64(1_000_000)},
		[]any{"Page reads/sec", int64(50_000)},
		[]any{"Batch Requests/sec", int64(777)},
		[]any{"Number of Deadlocks/sec", int64(4)}), f))
	if c := f.Counters; c[diagmodel.CounterBlocksHit] != 950_000 || c[diagmodel.CounterBlocksRead] != 50_000 ||
		c[diagmodel.CounterDeadlocks] != 4 || c[diagmodel.CounterBatchRequests] != 777 {
		t.Errorf("counters: %v", c)
	}
	if m := f.MSSQL; *m.PageLifeExpectancy != 120 || *m.BufferCacheHitPct != 95 {
		t.Errorf("buffer manager: %v %v", *m.PageLifeExpectancy, *m.BufferCacheHitPct)
	}

	must("files", scanFiles(rowsOf(
		[]any{"销售库", "ROWS", `D:\data\销售库.mdf`, int64(8 << 30), int64(6 << 30), int64(-1), "64MB"},
		[]any{"销售库_log", "LOG", `L:\log\销售库_log.ldf`, int64(2 << 30), nil, int64(2 << 40), "10%"}), f))
	if *f.DatabaseBytes != 10<<30 || len(f.MSSQL.Files) != 2 || *f.MSSQL.Files[0].UsedBytes != 6<<30 || f.MSSQL.Files[1].UsedBytes != nil ||
		f.MSSQL.Files[0].MaxBytes != -1 || f.MSSQL.Files[1].Growth != "10%" {
		t.Errorf("files: %d %+v", *f.DatabaseBytes, f.MSSQL.Files)
	}
	must("instance", scanDatabaseSizes(rowsOf([]any{"销售库", int64(8 << 30), int64(2 << 30)}, []any{"tempdb", int64(1 << 30), int64(1 << 28)}), f))
	if d := f.MSSQL.Databases; len(d) != 2 || d[0].Name != "销售库" || d[1].LogBytes != 1<<28 {
		t.Errorf("instance databases: %+v", d)
	}
	must("stalls", scanStalls(rowsOf(
		[]any{"销售库", "ROWS", int64(1000), int64(10), int64(45000), int64(100)},
		[]any{"other", "ROWS", int64(1), int64(1), int64(1), int64(1)}), f))
	if x := f.MSSQL.Files; len(x) != 3 || x[0].Reads != 1000 || x[0].ReadStallMS != 45000 || x[2].Name != "other" || x[2].Writes != 1 {
		t.Errorf("stalls: %+v", x)
	}

	must("waits", scanWaits(rowsOf([]any{"PAGEIOLATCH_SH", int64(900000), int64(1000), int64(5000)}), f))
	if w := f.MSSQL.Waits; len(w) != 1 || w[0].Type != "PAGEIOLATCH_SH" || w[0].WaitMS != 900000 {
		t.Errorf("waits: %+v", w)
	}

	must("checkdb", scanCheckDB(rowsOf([]any{ts("2026-11-20T01:00:00Z"), ts("2026-11-19T17:00:00Z")}), f))
	if !f.MSSQL.LastGoodCheckDB.Equal(ts("2026-11-19T17:00:00Z")) {
		t.Errorf("checkdb: %v", f.MSSQL.LastGoodCheckDB)
	}
	never := &diagmodel.Facts{}
	must("checkdb never", scanCheckDB(rowsOf([]any{checkDBNever, ts("1899-12-31T16:00:00Z")}), never))
	if !never.MSSQL.LastGoodCheckDB.IsZero() {
		t.Errorf("never checked: %v", never.MSSQL.LastGoodCheckDB)
	}
	if err := scanCheckDB(rowsOf([]any{nil, nil}), &diagmodel.Facts{Database: "x"}); err == nil || !strings.Contains(err.Error(), "2016 SP2") {
		t.Errorf("an old server: %v", err)
	}

	must("backups", scanBackupHistory(rowsOf(
		[]any{"FULL", "D", ts("2026-12-06T18:00:00Z"), int64(0)},
		[]any{"FULL", "I", ts("2026-12-07T18:00:00Z"), int64(1)},
		[]any{"FULL", "L", ts("2026-12-07T19:45:00Z"), int64(40)}), f))
	must("backup tool", scanBackupTool(rowsOf([]any{"Veeam Backup", `CORP\svc_veeam`}), f))
	if b := f.MSSQL.Backups; f.MSSQL.RecoveryModel != "FULL" || !b.LastFull.Equal(ts("2026-12-06T18:00:00Z")) || b.DiffToday != 1 ||
		b.LogToday != 40 || b.LastTool != "Veeam Backup" || b.FullToday != 0 {
		t.Errorf("backups: %s %+v", f.MSSQL.RecoveryModel, b)
	}
	none := &diagmodel.Facts{Database: "new"}
	must("no backup", scanBackupHistory(rowsOf([]any{"SIMPLE", "", nil, nil}), none))
	if b := none.MSSQL.Backups; !b.LastFull.IsZero() || none.MSSQL.RecoveryModel != "SIMPLE" {
		t.Errorf("no backup: %+v", b)
	}
	if err := scanBackupHistory(rowsOf(), &diagmodel.Facts{Database: "gone"}); err == nil {
		t.Error("a database not in sys.databases: no error")
	}

	must("fragmentation", scanFragmentation(rowsOf([]any{"dbo", "订单", "IX_订单_date", 47.5, int64(12000), "NONCLUSTERED INDEX", int64(1)}), f))
	if x := f.MSSQL.Fragmented; len(x) != 1 || x[0].Index != "IX_订单_date" || x[0].Pct != 47.5 || x[0].Pages != 12000 {
		t.Errorf("fragmentation: %+v", x)
	}

	must("logins", scanLogins(rowsOf(
		[]any{"sa", "S", true, int64(1), "sql", int64(1)},
		[]any{"app", "S", false, int64(0), "same-as-name", int64(0)},
		[]any{"blank", "S", false, int64(0), "none", int64(1)},
		[]any{`CORP\dba`, "U", false, int64(1), "external", int64(1)},
		[]any{"old", "S", true, int64(0), "sql", int64(0)}), f))
	if r := f.Roles; len(r) != 5 || r[0].CanLogin || !r[0].Superuser || r[1].Password != "same-as-name" || r[2].Password != "none" ||
		!r[3].Superuser || !r[3].CanLogin {
		t.Errorf("logins: %+v", r)
	}
	if p := f.MSSQL.PolicyOff; len(p) != 1 || p[0] != "app" {
		t.Errorf("policy off (disabled logins left out): %v", p)
	}
}

func TestScanMonthly(t *testing.T) {
	f := &diagmodel.Facts{}
	if err := scanTables(rowsOf([]any{"dbo", "订单", int64(3 << 30), int64(2 << 30), int64(9_000_000)}), f); err != nil {
		t.Fatal(err)
	}
	if x := f.Tables; len(x) != 1 || x[0].Name != "订单" || x[0].Bytes != 3<<30 || x[0].DataBytes != 2<<30 || x[0].Rows != 9_000_000 {
		t.Errorf("tables: %+v", x)
	}
	err := scanIndexes(rowsOf(
		[]any{"dbo", "订单", "PK_订单", "id", true, true, false, int64(2 << 30), int64(500)},
		[]any{"dbo", "订单", "IX_a", "customer", false, false, false, int64(64 << 20), int64(0)},
		[]any{"dbo", "订单", "IX_a", "date", false, false, false, int64(64 << 20), int64(0)},
		[]any{"dbo", "订单", "IX_b", "customer", false, false, false, int64(64 << 20), int64(7)},
		[]any{"dbo", "订单", "IX_b", "date", false, false, false, int64(64 << 20), int64(7)},
		[]any{"we]ird s", "t", "CCI", "", false, false, false, int64(8192), int64(0)}), f)
	if err != nil {
		t.Fatal(err)
	}
	x := f.Indexes
	if len(x) != 4 || !x[0].Primary || strings.Join(x[1].Columns, ",") != "customer,date" || *x[1].Scans != 0 || *x[2].Scans != 7 ||
		x[3].Columns != nil || x[3].Schema != "we]ird s" {
		t.Errorf("indexes: %+v", x)
	}
	if err := scanStatements(rowsOf([]any{"SELECT * FROM 订单", int64(12), 3400.5}), f); err != nil || len(f.Statements) != 1 || f.Statements[0].TotalMS != 3400.5 {
		t.Errorf("statements: %+v %v", f.Statements, err)
	}
}

func TestScanErrorLog(t *testing.T) {
	at := func(s string) time.Time { return ts(s) }
	rows := rowsOf(
		[]any{true, at("2026-12-07T08:00:00.100Z"), "Logon", "Error: 18456, Severity: 14, State: 8."},
		[]any{true, at("2026-12-07T08:00:00.100Z"), "Logon", "Login failed for user 'sa'. Reason: Password did not match. [CLIENT: 10.0.0.5]"},
		[]any{true, at("2026-12-07T08:10:00.000Z"), "spid52", "Error: 823, Severity: 24, State: 2."},
		[]any{true, at("2026-12-07T08:10:00.000Z"), "spid52", "The operating system returned error 21 to SQL Server during a read at offset 0x0000000001c000"},
		[]any{true, at("2026-12-07T08:20:00.000Z"), "spid60", "Error: 3041, Severity: 16, State: 1."},
		[]any{true, at("2026-12-07T08:20:00.000Z"), "Backup", "BACKUP failed to complete the command BACKUP DATABASE 销售库. Check the backup application log for detailed messages."},
		[]any{true, at("2026-12-07T08:21:00.000Z"), "Backup", "BACKUP failed to complete the command BACKUP DATABASE 销售库2. Check the backup application log for detailed messages."},
		[]any{true, at("2026-12-07T08:30:00.997Z"), "spid70", "Error: 17053, Severity: 17, State: 1."},
		[]any{true, at("2026-12-07T08:30:00.997Z"), "spid70", "SQLServerLogMgr::LogWriter: Operating system error 112 encountered."},
	)
	f := &diagmodel.Facts{Database: "销售库"}
	if err := scanErrorLog(rows, f, nil); err != nil {
		t.Fatal(err)
	}
	l := f.Log
	if l.File != errorLogFile || l.Counts["FATAL"] != 1 || l.Counts["ERROR"] != 1 || l.Counts["WARNING"] != 2 {
		t.Errorf("counts: %+v", l)
	}
	if want := time.Date(2026, 12, 7, 8, 30, 0, 997e6, time.UTC).UnixMilli(); l.Offset != want {
		t.Errorf("offset %d, want %d", l.Offset, want)
	}
	var fatal string
	for _, s := range l.Samples {
		if s.Severity == "FATAL" {
			fatal = s.Text
		}
	}
	if !strings.Contains(fatal, "Error: 823") || !strings.Contains(fatal, "operating system returned error 21") {
		t.Errorf("the fatal sample does not join the error and its message: %q", fatal)
	}
	if b := f.MSSQL.BackupFailures; len(b) != 1 || !strings.Contains(b[0].Text, "BACKUP DATABASE 销售库.") {
		t.Errorf("backup failures of this database only: %+v", b)
	}

	// Nothing new: the position stays.
	again := &diagmodel.Facts{Database: "销售库"}
	if err := scanErrorLog(rowsOf(), again, l); err != nil || again.Log.Offset != l.Offset || len(again.Log.Counts) != 0 {
		t.Errorf("nothing new: %+v, %v", again.Log, err)
	}
	// The procedure refused: the area fails with the server's words.
	err := scanErrorLog(rowsOf([]any{false, nil, "", "User does not have permission to perform this action."}), &diagmodel.Facts{}, nil)
	if err == nil || !strings.Contains(err.Error(), "permission") {
		t.Errorf("xp_readerrorlog refused: %v", err)
	}
}

// TestNotCollectedWords: each area SQL Server has no counterpart of says
// so in the adapter's catalog, in the same words as its English.
func TestNotCollectedWords(t *testing.T) {
	for _, u := range notCollected {
		for _, l := range i18n.Langs() {
			s, ok := i18n.Lookup(l, u.Key)
			if !ok {
				t.Errorf("%s: no %s sentence %s", u.Area, l, u.Key)
			}
			if l == i18n.EN && s != u.Reason {
				t.Errorf("%s: the English %q differs from the catalog's %q", u.Area, u.Reason, s)
			}
		}
	}
}
