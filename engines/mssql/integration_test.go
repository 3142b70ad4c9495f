package mssql

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// The integration tests run against a real SQL Server, named by
// DBOPS_TEST_MSSQL_DSN (a login that may create and drop databases and
// credentials: sysadmin on a test instance), which must reach this test's
// blob listener: DBOPS_TEST_MSSQL_LISTEN (host:port to listen on, default
// 0.0.0.0:443), DBOPS_TEST_MSSQL_URL (how SQL Server reaches it,
// https://NAME, port 443) and DBOPS_TEST_MSSQL_CERT / DBOPS_TEST_MSSQL_KEY (a
// certificate for NAME that SQL Server trusts). The README ("SQL Server")
// says how to run one in a container. Without DBOPS_TEST_MSSQL_DSN they
// do not run, and the test binary says so on every run.

const mssqlEnv = "DBOPS_TEST_MSSQL_DSN"

// The optional variables of tests that need more than one server: without
// them those tests do not run, and the test binary says so too.
const (
	backupDirEnv  = "DBOPS_TEST_MSSQL_BACKUP_DIR"
	scratchDSNEnv = "DBOPS_TEST_MSSQL_SCRATCH_DSN"
)

func TestMain(m *testing.M) {
	if os.Getenv(mssqlEnv) == "" {
		fmt.Printf("engines/mssql: SQL Server integration tests NOT RUN: %s is not set (README, \"SQL Server\", says how to run them)\n", mssqlEnv)
	} else {
		for _, o := range []struct{ env, test string }{{backupDirEnv, "TestIntegrationBackupDir"}, {scratchDSNEnv, "TestIntegrationTableAcrossServers"}} {
			if os.Getenv(o.env) == "" {
				fmt.Printf("engines/mssql: %s NOT RUN: %s is not set (README, \"SQL Server\")\n", o.test, o.env)
			}
		}
	}
	os.Exit(m.Run())
}

// integration returns the server's Conn and starts the listener, or skips
// the test saying why: the one skip of the suite.
func integration(t *testing.T) engines.Conn {
	t.Helper()
	dsn := os.Getenv(mssqlEnv)
	if dsn == "" {
		t.Skipf("NOT RUN: %s is not set; this test needs a SQL Server (README, \"SQL Server\")", mssqlEnv)
	}
	listen := os.Getenv("DBOPS_TEST_MSSQL_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:443"
	}
	cfg := ListenerConfig{Listen: listen, URL: os.Getenv("DBOPS_TEST_MSSQL_URL"),
		CertFile: os.Getenv("DBOPS_TEST_MSSQL_CERT"), KeyFile: os.Getenv("DBOPS_TEST_MSSQL_KEY")}
	if cfg.URL == "" || cfg.CertFile == "" || cfg.KeyFile == "" {
		t.Fatalf("%s is set: set DBOPS_TEST_MSSQL_URL, DBOPS_TEST_MSSQL_CERT and DBOPS_TEST_MSSQL_KEY too", mssqlEnv)
	}
	Configure(cfg, hclog.New(&hclog.LoggerOptions{Name: "mssql-test", Output: os.Stderr, Level: hclog.Info}))
	t.Cleanup(func() { Configure(ListenerConfig{}, nil) })
	return engines.Conn{DSN: dsn}
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withDatabase sets DSN's database.
func withDatabase(c engines.Conn, database string) engines.Conn {
	u := c.DSN
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return engines.Conn{DSN: u + "?database=" + database, Password: c.Password}
}

// testServer is the master database of a test's server, for its setup.
type testServer struct {
	t      *testing.T
	ctx    context.Context
	server engines.Conn
	db     *sql.DB
}

// onServer opens master on server for a test's setup, closed when the
// test ends.
func onServer(t *testing.T, ctx context.Context, server engines.Conn) *testServer {
	t.Helper()
	db, err := open(ctx, server, "master")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testServer{t: t, ctx: ctx, server: server, db: db}
}

// exec runs sqlText on master; an error fails the test.
func (s *testServer) exec(sqlText string, args ...any) {
	s.t.Helper()
	if _, err := s.db.ExecContext(s.ctx, sqlText, args...); err != nil {
		s.t.Fatalf("%s: %v", sqlText, err)
	}
}

// createDatabase creates a database named prefix and random hex, dropped
// when the test ends, and returns its name and its name quoted.
func (s *testServer) createDatabase(prefix string) (name, quoted string) {
	s.t.Helper()
	name = randomName(prefix)
	quoted, _ = quoteName(name)
	s.exec("CREATE DATABASE " + quoted)
	s.t.Cleanup(func() { (&Engine{}).DropDatabase(context.Background(), s.server, name) })
	return name, quoted
}

// TestIntegration: full and differential backups through the listener,
// the native chain recorded; the full restored under another name with
// equal statistics; DBCC CHECKDB clean; the copies dropped.
func TestIntegration(t *testing.T) {
	server := integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := &Engine{}
	m := onServer(t, ctx, server)
	name, q := m.createDatabase("dbopsd_it_销售]'")
	mustExec := m.exec
	mustExec(fmt.Sprintf("CREATE TABLE %s.dbo.[orders] (id int PRIMARY KEY, note nvarchar(100))", q))
	mustExec(fmt.Sprintf("EXEC(N'USE %s; EXEC(N''CREATE SCHEMA [we]]ird s]'')')", strings.ReplaceAll(q, "'", "''")))
	mustExec(fmt.Sprintf("CREATE TABLE %s.[we]]ird s].[表 one] (k bigint, v varbinary(50))", q))
	mustExec(fmt.Sprintf("INSERT INTO %s.dbo.[orders] SELECT TOP (5000) ROW_NUMBER() OVER (ORDER BY (SELECT 1)), N'订单 ' + CAST(ROW_NUMBER() OVER (ORDER BY (SELECT 1)) AS nvarchar(10)) FROM sys.all_objects a CROSS JOIN sys.all_objects b", q))
	mustExec(fmt.Sprintf("INSERT INTO %s.[we]]ird s].[表 one] VALUES (1, 0x00ff), (2, NULL)", q))

	src := withDatabase(server, name)
	full := enginetest.NewDirParts(t.TempDir())
	fsnap, err := e.Backup(ctx, src, engines.BackupOptions{Type: "full", Parallel: 1, Logger: hclog.NewNullLogger()}, full)
	if err != nil {
		t.Fatalf("full backup: %v", err)
	}
	if fsnap.Meta[MetaBackupSetGUID] == "" || fsnap.Meta[MetaBackupType] != "D" || fsnap.Position == "" || len(fsnap.Tables) != 2 {
		t.Errorf("full backup's snapshot: %+v", fsnap)
	}

	mustExec(fmt.Sprintf("UPDATE %s.dbo.[orders] SET note = N'changed' WHERE id %% 7 = 0", q))
	diff := enginetest.NewDirParts(t.TempDir())
	dsnap, err := e.Backup(ctx, src, engines.BackupOptions{Type: "differential", Base: fsnap, Parallel: 1, Logger: hclog.NewNullLogger()}, diff)
	if err != nil {
		t.Fatalf("differential backup: %v", err)
	}
	if dsnap.Meta[MetaBackupType] != "I" || !strings.EqualFold(dsnap.Meta[MetaDifferentialBaseGUID], fsnap.Meta[MetaBackupSetGUID]) {
		t.Errorf("the differential's chain: %v, full %s", dsnap.Meta, fsnap.Meta[MetaBackupSetGUID])
	}

	as := name + "_restored"
	t.Cleanup(func() { e.DropDatabase(context.Background(), server, as) })
	rep, err := e.Restore(ctx, server, engines.RestoreRequest{Database: as, Parallel: 1, Snapshot: fsnap, Logger: hclog.NewNullLogger()}, full)
	if err != nil {
		t.Fatalf("restoring the full as %s: %v", as, err)
	}
	enginetest.CheckNotes(t, rep)
	got, err := e.TableStats(ctx, server, as, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := engines.CompareStats(fsnap.Tables, got); len(d) > 0 {
		t.Errorf("restored copy differs: %q", d)
	}
	if _, err := e.Restore(ctx, server, engines.RestoreRequest{Database: as, Parallel: 1, Snapshot: fsnap}, full); err == nil || !strings.Contains(err.Error(), engines.ErrExists.Error()) {
		t.Errorf("restoring onto an existing database without Replace: %v", err)
	}
	// The differential, on its full.
	asDiff := name + "_diff"
	t.Cleanup(func() { e.DropDatabase(context.Background(), server, asDiff) })
	_, err = e.Restore(ctx, server, engines.RestoreRequest{Database: asDiff, Parallel: 1, Snapshot: dsnap, Logger: hclog.NewNullLogger(),
		BaseSource: func(context.Context) (engines.PartSource, error) { return full, nil }}, diff)
	if err != nil {
		t.Fatalf("restoring the differential as %s: %v", asDiff, err)
	}
	got, err = e.TableStats(ctx, server, asDiff, nil)
	if d := engines.CompareStats(dsnap.Tables, got); err != nil || len(d) > 0 {
		t.Errorf("restored differential differs: %q, %v", d, err)
	}

	// A full taken outside dbopsd without COPY_ONLY: the next differential
	// would belong to it, and is refused before it is taken. (The file is
	// left beside the data file, in the test instance.)
	var files []dbFile
	if err := json.Unmarshal([]byte(fsnap.Meta[MetaFiles]), &files); err != nil || len(files) == 0 {
		t.Fatalf("files in the manifest: %v", err)
	}
	mustExec("BACKUP DATABASE @db TO DISK = @f WITH INIT", sql.Named("db", name), sql.Named("f", files[0].Physical+".foreign.bak"))
	_, err = e.Backup(ctx, src, engines.BackupOptions{Type: "differential", Base: fsnap, Parallel: 1}, enginetest.NewDirParts(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "without COPY_ONLY") || !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("a differential after a foreign full: %v", err)
	}

	// One table into a new database, then again onto itself with Replace.
	tables := name + "_tables"
	t.Cleanup(func() { e.DropDatabase(context.Background(), server, tables) })
	odd := engines.TableRef{Schema: "we]ird s", Name: "表 one"}
	for _, replace := range []bool{false, true} {
		rep, err := e.Restore(ctx, server, engines.RestoreRequest{Database: tables, Tables: []engines.TableRef{odd}, Replace: replace, Parallel: 1, Snapshot: fsnap}, full)
		if err != nil {
			t.Fatalf("table restore (replace %v): %v", replace, err)
		}
		enginetest.CheckNotes(t, rep)
	}
	got, err = e.TableStats(ctx, server, tables, []engines.TableRef{odd})
	want, _ := fsnap.Table(odd)
	if err != nil || len(got) != 1 || got[0].Rows != want.Rows || got[0].Checksum != want.Checksum {
		t.Errorf("restored table: %+v, %v; want %+v", got, err, want)
	}
	ir, err := e.CheckIntegrity(ctx, server, as)
	if err != nil || !ir.OK() {
		t.Errorf("DBCC CHECKDB: %+v, %v", ir, err)
	}
	if err := e.DropDatabase(ctx, server, as); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.DatabaseExists(ctx, server, as); ok || err != nil {
		t.Errorf("after the drop: exists %v, %v", ok, err)
	}
	var n int
	if err := m.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sys.credentials WHERE name LIKE N'https://%dbopsd-%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("credentials left behind: %d, %v", n, err)
	}
}

// TestIntegrationCompressionAndChain: the stored size of a full and two
// cumulative differentials through a real repository (local storage,
// chunked, compressed, encrypted, deduplicated within the generation),
// with compression on and off: the figure the README's choice of default
// rests on, printed on every run against a server. And COPY_ONLY: a full
// by hand is marked outside the chain and leaves the differential base
// where the chain's full put it.
func TestIntegrationCompressionAndChain(t *testing.T) {
	server := integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	e := &Engine{}
	m := onServer(t, ctx, server)
	for _, noCompression := range []bool{false, true} {
		name, q := m.createDatabase("dbopsd_cmp_")
		mustExec := m.exec
		mustExec(fmt.Sprintf("CREATE TABLE %s.dbo.[tickets] (id int PRIMARY KEY, window_no int, citizen nvarchar(200), issued datetime2)", q))
		mustExec(fmt.Sprintf("INSERT INTO %s.dbo.[tickets] SELECT TOP (200000) n, n %% 12, N'市民 ' + CONVERT(nvarchar(36), NEWID()), DATEADD(second, n, '2026-01-01')\n"+
			"FROM (SELECT ROW_NUMBER() OVER (ORDER BY (SELECT 1)) AS n FROM sys.all_objects a CROSS JOIN sys.all_objects b) AS g", q))
		src := withDatabase(server, name)

		st, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		repo, err := repository.Init(ctx, st, secret.New("compression figures"))
		if err != nil {
			t.Fatal(err)
		}
		take := func(typ string, base *repository.Manifest, copyOnly bool) *repository.Manifest {
			t.Helper()
			w, err := repo.NewBackup(ctx, repository.BackupOptions{Database: "cmp", Engine: engineName, Type: typ, Base: base})
			if err != nil {
				t.Fatal(err)
			}
			opts := engines.BackupOptions{Type: typ, Parallel: 1, NoCompression: noCompression, CopyOnly: copyOnly}
			if base != nil {
				opts.Base = base.Snapshot
			}
			snap, err := e.Backup(ctx, src, opts, w)
			if err != nil {
				w.Abort(err)
				t.Fatalf("%s backup (compression %v): %v", typ, !noCompression, err)
			}
			m, err := w.Commit(ctx, snap)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		full := take(repository.Full, nil, false)
		if full.Snapshot.OutsideChain || full.Snapshot.Meta[MetaCopyOnly] != "false" {
			t.Errorf("the schedule's full: outside the chain %v, copy_only %s", full.Snapshot.OutsideChain, full.Snapshot.Meta[MetaCopyOnly])
		}
		byHand := take(repository.Full, nil, true)
		if !byHand.Snapshot.OutsideChain || byHand.Snapshot.Meta[MetaCopyOnly] != "true" {
			t.Errorf("a full by hand: outside the chain %v, copy_only %s", byHand.Snapshot.OutsideChain, byHand.Snapshot.Meta[MetaCopyOnly])
		}
		mustExec(fmt.Sprintf("UPDATE %s.dbo.[tickets] SET window_no = window_no + 1 WHERE id %% 20 = 0", q))
		d1 := take(repository.Differential, full, false) // based on the chain's full, the copy-only one notwithstanding
		mustExec(fmt.Sprintf("UPDATE %s.dbo.[tickets] SET window_no = window_no + 1 WHERE id %% 20 = 1", q))
		d2 := take(repository.Differential, full, false)
		for _, m := range []*repository.Manifest{d1, d2} {
			if !strings.EqualFold(m.Snapshot.Meta[MetaDifferentialBaseGUID], full.Snapshot.Meta[MetaBackupSetGUID]) {
				t.Errorf("differential %s based on %s, not on the chain's full %s", m.ID, m.Snapshot.Meta[MetaDifferentialBaseGUID], full.Snapshot.Meta[MetaBackupSetGUID])
			}
		}
		fmt.Printf("engines/mssql: compression = %v: full %d bytes from SQL Server, %d stored; differential 1 %d / %d; differential 2 %d / %d; generation stored %d\n",
			!noCompression, full.Stats.RawBytes, full.Stats.StoredBytes, d1.Stats.RawBytes, d1.Stats.StoredBytes, d2.Stats.RawBytes, d2.Stats.StoredBytes,
			full.Stats.StoredBytes+d1.Stats.StoredBytes+d2.Stats.StoredBytes)
	}
}

// TestIntegrationBackupDir: the backup_dir fallback against a server,
// when DBOPS_TEST_MSSQL_BACKUP_DIR names a directory it writes to
// (DBOPS_TEST_MSSQL_BACKUP_DIR_LOCAL: the same directory here, when the
// paths differ): a full through the directory, restored through it, equal
// statistics, the directory left empty.
func TestIntegrationBackupDir(t *testing.T) {
	server := integration(t)
	dir, local := os.Getenv(backupDirEnv), os.Getenv(backupDirEnv+"_LOCAL")
	if dir == "" {
		t.Skipf("NOT RUN: %s is not set (a directory SQL Server writes backups to and this test reads)", backupDirEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := &Engine{}
	m := onServer(t, ctx, server)
	name, q := m.createDatabase("dbopsd_dir_")
	m.exec(fmt.Sprintf("EXEC(N'CREATE TABLE %[1]s.dbo.t (id int PRIMARY KEY, v nvarchar(50))'); EXEC(N'INSERT INTO %[1]s.dbo.t VALUES (1, N''一''), (2, NULL)')",
		strings.ReplaceAll(q, "'", "''")))
	conn := withDatabase(server, name)
	conn.BackupDir, conn.BackupDirLocal = dir, local
	parts := enginetest.NewDirParts(t.TempDir())
	snap, err := e.Backup(ctx, conn, engines.BackupOptions{Type: "full", Parallel: 1}, parts)
	if err != nil {
		t.Fatalf("backup through backup_dir: %v", err)
	}
	as := name + "_restored"
	t.Cleanup(func() { e.DropDatabase(context.Background(), server, as) })
	target := server
	target.BackupDir, target.BackupDirLocal = dir, local
	if _, err := e.Restore(ctx, target, engines.RestoreRequest{Database: as, Parallel: 1, Snapshot: snap}, parts); err != nil {
		t.Fatalf("restore through backup_dir: %v", err)
	}
	got, err := e.TableStats(ctx, server, as, nil)
	if d := engines.CompareStats(snap.Tables, got); err != nil || len(d) > 0 {
		t.Errorf("restored through backup_dir: %q, %v", d, err)
	}
	if es, err := os.ReadDir(cmp.Or(local, dir)); err != nil || slices.ContainsFunc(es, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), "dbopsd-") }) {
		t.Errorf("backup_dir after the backup and restore: %v, %v", es, err)
	}
}

// TestIntegrationTableAcrossServers: a table restore whose scratch restore
// goes onto another server (DBOPS_TEST_MSSQL_SCRATCH_DSN), the table
// bulk-copied across.
func TestIntegrationTableAcrossServers(t *testing.T) {
	server := integration(t)
	other := os.Getenv(scratchDSNEnv)
	if other == "" {
		t.Skipf("NOT RUN: %s is not set (a second SQL Server for the scratch restore of a table restore)", scratchDSNEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := &Engine{}
	m := onServer(t, ctx, server)
	name, q := m.createDatabase("dbopsd_x_")
	m.exec(fmt.Sprintf("EXEC(N'CREATE TABLE %[1]s.dbo.t (id int IDENTITY PRIMARY KEY, v nvarchar(50) NULL, d decimal(18,2) NOT NULL, g uniqueidentifier, at datetime2(3))');"+
		" EXEC(N'INSERT INTO %[1]s.dbo.t (v, d, g, at) SELECT TOP (25000) N''行'', 12.5, NEWID(), SYSDATETIME() FROM sys.all_objects a CROSS JOIN sys.all_objects b')",
		strings.ReplaceAll(q, "'", "''")))
	parts := enginetest.NewDirParts(t.TempDir())
	snap, err := e.Backup(ctx, withDatabase(server, name), engines.BackupOptions{Type: "full", Parallel: 1}, parts)
	if err != nil {
		t.Fatal(err)
	}
	into := name + "_tables"
	t.Cleanup(func() { e.DropDatabase(context.Background(), server, into) })
	scratch := engines.Conn{DSN: other}
	tb := engines.TableRef{Schema: "dbo", Name: "t"}
	rep, err := e.Restore(ctx, server, engines.RestoreRequest{Database: into, Tables: []engines.TableRef{tb}, Parallel: 1, Snapshot: snap, ScratchTarget: &scratch}, parts)
	if err != nil {
		t.Fatalf("table restore across servers: %v", err)
	}
	if len(rep.NoteMessages) == 0 || rep.NoteMessages[0].Key != NoteTableBulkCopied {
		t.Errorf("notes: %+v", rep.NoteMessages)
	}
	got, err := e.TableStats(ctx, server, into, []engines.TableRef{tb})
	want, _ := snap.Table(tb)
	if err != nil || len(got) != 1 || got[0].Rows != want.Rows || got[0].Checksum != want.Checksum {
		t.Errorf("bulk-copied table: %+v, %v; want %+v", got, err, want)
	}
}
