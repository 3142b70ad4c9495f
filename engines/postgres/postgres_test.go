package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/pipelinetest"
	"github.com/dbopsd/dbopsd/secret"
)

func TestMain(m *testing.M) { harness.Main(m) }

// The backup role authenticates with a password (scram-sha-256), so every
// backup exercises handing it to pg_dump without argv.
const (
	backupRole     = "dbops_backup"
	backupPassword = "pw-Kq7-never-print-me"
)

// fixture covers the hard cases of issue 2. Every table gets rows.
const fixture = `
CREATE SCHEMA hall;
CREATE TYPE hall."状态" AS ENUM ('等待', '办理中', '完成');
CREATE FUNCTION hall.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW."备注" := coalesce(NEW."备注", '(无)'); RETURN NEW; END $$;

CREATE TABLE hall."取号记录" (
	"编号"   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	"窗口"   text NOT NULL,
	"办理人" text,
	"备注"   text,
	"状态"   hall."状态" NOT NULL DEFAULT '等待',
	"取号时间" timestamptz NOT NULL DEFAULT '2025-03-01 08:30:00+08'
);
COMMENT ON TABLE hall."取号记录" IS '取号记录';
COMMENT ON COLUMN hall."取号记录"."窗口" IS '窗口号';
CREATE INDEX "取号记录_窗口_idx" ON hall."取号记录" ("窗口");
CREATE TRIGGER "补全备注" BEFORE INSERT ON hall."取号记录" FOR EACH ROW EXECUTE FUNCTION hall.touch();
INSERT INTO hall."取号记录" ("窗口", "办理人", "备注", "状态") VALUES
	('A01', '张伟', '首次办理', '完成'),
	('B02', NULL, '', '等待'),
	('C03', '李娜', E'tab\there\nnewline \\ backslash "quotes" ''single''', '办理中'),
	('D04', '', NULL, '等待');
ALTER TABLE hall."取号记录" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "本窗口" ON hall."取号记录" TO hall_owner USING ("窗口" = 'A01');

CREATE TABLE public.vals (
	id serial PRIMARY KEY,
	data bytea,
	doc jsonb,
	tags text[],
	note text,
	big text,
	f float8,
	m money,
	iv interval,
	total bigint GENERATED ALWAYS AS (id * 2) STORED
);
INSERT INTO public.vals (data, doc, tags, note, f, m, iv) VALUES
	((SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY b), 'hex') FROM generate_series(0, 255) b),
	 '{"名称": "中文", "n": [1, 2.5, null], "esc": "a\"b\\c"}', ARRAY['x', NULL, 'say "hi"', 'back\slash', '', 'NULL'],
	 NULL, 0.1, 12.34, '1 day 02:03:04'),
	('', '[]', '{}', '', 1e308, -1, '-3 months'),
	(NULL, NULL, NULL, E'\\N literally', 'NaN', 0, '0');
-- A value of about 5 MB that does not compress: stored out of line (TOAST).
INSERT INTO public.vals (note, big) SELECT 'toast', string_agg(md5(i::text), '') FROM generate_series(1, 160000) i;

CREATE VIEW hall."窗口统计" AS SELECT "窗口", count(*) AS n FROM hall."取号记录" GROUP BY 1;
CREATE MATERIALIZED VIEW hall.mv AS SELECT "窗口", count(*) AS n FROM hall."取号记录" GROUP BY 1;

CREATE TABLE hall.events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE hall.events_2024 PARTITION OF hall.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE hall.events_2025 PARTITION OF hall.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_id_idx ON hall.events (id);
INSERT INTO hall.events VALUES (1, '2024-05-01', 'x'), (2, '2025-02-01', 'y'), (3, '2025-12-31', NULL);

CREATE TABLE hall.ratings (
	id int PRIMARY KEY,
	ticket bigint REFERENCES hall."取号记录" ("编号"),
	score int CHECK (score BETWEEN 1 AND 5)
);
INSERT INTO hall.ratings VALUES (1, 1, 5), (2, 3, 4);
ALTER TABLE hall.ratings OWNER TO hall_owner;
GRANT SELECT ON hall."取号记录" TO hall_owner;

CREATE UNLOGGED TABLE public.scratch (k text PRIMARY KEY, v int);
INSERT INTO public.scratch VALUES ('a', 1);

SELECT lo_from_bytea(0, convert_to('大对象 large object', 'UTF8'));
`

func randName(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// roles creates, once per server, the roles the fixture needs on the
// source: hall_owner owns a table and is named by a policy; it is never
// created on the target server.
var rolesOnce sync.Map

func sourceServer(t *testing.T) *harness.Postgres {
	pg := harness.SourcePostgres(t)
	once, _ := rolesOnce.LoadOrStore(pg.Port, &sync.Once{})
	once.(*sync.Once).Do(func() {
		pg.Exec(t, "postgres", fmt.Sprintf(`
			CREATE ROLE hall_owner;
			CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s';`, backupRole, backupPassword))
	})
	return pg
}

// backupConn reaches database on pg as the password-protected backup role.
func backupConn(pg *harness.Postgres, database string) engines.Conn {
	u, _ := url.Parse(pg.DSN(database))
	u.User = url.User(backupRole)
	return engines.Conn{DSN: u.String(), Password: secret.New(backupPassword), BinDir: pg.BinDir}
}

// superConn reaches database on pg as the trusted superuser, leaving the
// client programs to be found without BinDir.
func superConn(pg *harness.Postgres, database string) engines.Conn {
	return engines.Conn{DSN: pg.DSN(database)}
}

// newSource creates a database on the source server loaded with fixture.
func newSource(t *testing.T) enginetest.Database {
	t.Helper()
	pg := sourceServer(t)
	name := randName("pgsrc")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, fixture)
	return enginetest.Database{Conn: backupConn(pg, name), Name: name}
}

// pgConn connects with conn the way any client would.
func pgConn(t *testing.T, conn engines.Conn, database string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(conn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if database != "" {
		cfg.Database = database
	}
	cfg.Password = conn.Password.Reveal()
	c, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", cfg.Database, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func execSQL(t *testing.T, conn engines.Conn, database, sql string) {
	t.Helper()
	if _, err := pgConn(t, conn, database).Exec(t.Context(), sql); err != nil {
		t.Fatalf("on %s: %v\n%s", database, err, sql)
	}
}

func queryString(t *testing.T, conn engines.Conn, database, sql string) string {
	t.Helper()
	var s *string
	if err := pgConn(t, conn, database).QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("on %s: %v\n%s", database, err, sql)
	}
	if s == nil {
		return ""
	}
	return *s
}

func listTables(t *testing.T, conn engines.Conn, database string) []engines.TableRef {
	t.Helper()
	rows, err := pgConn(t, conn, database).Query(t.Context(), `SELECT n.nspname, c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engines.TableRef, error) {
		var ref engines.TableRef
		return ref, r.Scan(&ref.Schema, &ref.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func unreachable(t *testing.T) engines.Conn {
	return engines.Conn{
		DSN:      "postgres://" + backupRole + "@127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/gone?sslmode=disable",
		Password: secret.New(backupPassword),
	}
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Setup{
		Engine: postgres.New(),
		Source: newSource,
		Target: func(t *testing.T) engines.Conn { return superConn(harness.TargetPostgres(t), "postgres") },
		Mutate: func(t *testing.T, src enginetest.Database) {
			execSQL(t, src.Conn, src.Name, `
				INSERT INTO hall."取号记录" ("窗口") VALUES ('Z99');
				UPDATE public.vals SET note = '改了' WHERE id = 1;
				DELETE FROM hall.events WHERE id = 2;`)
		},
		Exec:         execSQL,
		Tables:       listTables,
		Unreachable:  unreachable,
		TableRestore: engines.TableRef{Schema: "hall", Name: "取号记录"},
		Parallel:     2,
		Logger:       testLogger(t),
		Pipeline:     pipelinetest.New(),
	})
}

// backupOf takes a full backup of src into a directory.
func backupOf(t *testing.T, e *postgres.Engine, src enginetest.Database) enginetest.Backup {
	t.Helper()
	parts := enginetest.NewDirParts(t.TempDir())
	snap, err := e.Backup(t.Context(), src.Conn, engines.BackupOptions{Type: "full", Parallel: 2, Logger: testLogger(t)}, parts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return enginetest.Backup{Snapshot: snap, Parts: parts}
}

func restoreInto(t *testing.T, e *postgres.Engine, conn engines.Conn, b enginetest.Backup, req engines.RestoreRequest) *engines.RestoreReport {
	t.Helper()
	req.Snapshot, req.Parallel, req.Logger = b.Snapshot, 2, testLogger(t)
	t.Cleanup(func() { e.DropDatabase(context.Background(), conn, req.Database) })
	rep, err := e.Restore(t.Context(), conn, req, b.Parts)
	if err != nil {
		t.Fatalf("restore into %s: %v", req.Database, err)
	}
	enginetest.CheckNotes(t, rep)
	return rep
}

// TestRestoredObjects checks, on a redirected restore (target server
// without the role hall_owner) and on a restore on the source server, what
// statistics cannot see: sequences continue, objects exist and work.
func TestRestoredObjects(t *testing.T) {
	e := postgres.New()
	src := newSource(t)
	b := backupOf(t, e, src)
	srcPG := sourceServer(t)

	servers := []struct {
		name        string
		conn        engines.Conn
		roleMissing bool
	}{
		{"redirected", superConn(harness.TargetPostgres(t), "postgres"), true},
		{"same-server", backupConn(srcPG, "postgres"), false},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			db := randName("恢复_" + s.name)
			rep := restoreInto(t, e, s.conn, b, engines.RestoreRequest{Database: db})
			skipped := strings.Join(rep.Skipped, "\n")
			if s.roleMissing {
				if !strings.Contains(skipped, "hall_owner") || !strings.Contains(skipped, "本窗口") {
					t.Errorf("restore without role hall_owner: Skipped = %q, want the role and the policy named", rep.Skipped)
				}
				// The same, as Notes a report renders in its language, with
				// the names as parameters.
				own := enginetest.FindNote(rep.SkippedMessages, postgres.NoteOwnershipNotRestored, "", engines.Params{"user": "postgres"})
				if own == nil || !slices.Contains(strings.Split(own.Params["roles"], ", "), "hall_owner") {
					t.Errorf("restore without role hall_owner: SkippedMessages = %+v, want %s naming hall_owner", rep.SkippedMessages, postgres.NoteOwnershipNotRestored)
				}
				if enginetest.FindNote(rep.SkippedMessages, postgres.NotePolicyNotCreated, "",
					engines.Params{"policy": "本窗口", "table": "hall.取号记录", "roles": "hall_owner"}) == nil {
					t.Errorf("restore without role hall_owner: SkippedMessages = %+v, want %s for policy 本窗口", rep.SkippedMessages, postgres.NotePolicyNotCreated)
				}
			} else if len(rep.Skipped) > 0 {
				t.Errorf("restore on the source server skipped %q", rep.Skipped)
			}
			q := func(sql string) string { t.Helper(); return queryString(t, s.conn, db, sql) }
			checks := []struct{ what, sql, want string }{
				{"identity continues", `INSERT INTO hall."取号记录" ("窗口") VALUES ('N01') RETURNING "编号"::text`, "5"},
				{"serial continues", `INSERT INTO public.vals (note) VALUES ('new') RETURNING id::text`, "5"},
				{"trigger fires", `SELECT "备注" FROM hall."取号记录" WHERE "窗口" = 'N01'`, "(无)"},
				{"enum default", `SELECT "状态"::text FROM hall."取号记录" WHERE "窗口" = 'N01'`, "等待"},
				{"generated column", `SELECT total::text FROM public.vals WHERE id = 5`, "10"},
				{"table comment", `SELECT obj_description('hall."取号记录"'::regclass, 'pg_class')`, "取号记录"},
				{"column comment", `SELECT col_description('hall."取号记录"'::regclass, 2)`, "窗口号"},
				{"row-level security on", `SELECT relrowsecurity::text FROM pg_class WHERE oid = 'hall."取号记录"'::regclass`, "true"},
				{"view", `SELECT n::text FROM hall."窗口统计" WHERE "窗口" = 'A01'`, "1"},
				{"materialized view populated", `SELECT sum(n)::text FROM hall.mv`, "4"},
				{"partitions", `SELECT count(*)::text FROM pg_inherits WHERE inhparent = 'hall.events'::regclass`, "2"},
				{"partition routing", `INSERT INTO hall.events VALUES (9, '2024-07-07', 'z') RETURNING tableoid::regclass::text`, "hall.events_2024"},
				{"large object", `SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata`, "大对象 large object"},
				{"bytea every byte", `SELECT length(data)::text FROM public.vals WHERE id = 1`, "256"},
				{"toast value", `SELECT length(big)::text FROM public.vals WHERE note = 'toast'`, "5120000"},
				{"foreign key", `SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'hall.ratings'::regclass AND contype = 'f'`, "1"},
				{"index", `SELECT count(*)::text FROM pg_indexes WHERE indexname = '取号记录_窗口_idx'`, "1"},
				{"unlogged table", `SELECT relpersistence::text FROM pg_class WHERE oid = 'public.scratch'::regclass`, "u"},
			}
			owner, policies := "hall_owner", "1"
			if s.roleMissing {
				owner, policies = "postgres", "0"
			}
			checks = append(checks,
				struct{ what, sql, want string }{"owner", `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'hall.ratings'::regclass`, owner},
				struct{ what, sql, want string }{"policies", `SELECT count(*)::text FROM pg_policy`, policies},
			)
			for _, c := range checks {
				if got := q(c.sql); got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, got, c.want)
				}
			}
			// The identity stays GENERATED ALWAYS.
			if _, err := pgConn(t, s.conn, db).Exec(t.Context(), `INSERT INTO hall."取号记录" ("编号", "窗口") VALUES (100, 'X')`); err == nil {
				t.Error("insert into a GENERATED ALWAYS identity column succeeded after restore")
			}
		})
	}
}

// TestTableRestoreNeeds restores a table whose trigger function, enum type
// and schema exist neither in the new database nor elsewhere, then the
// table that references it, and checks the foreign key handling.
func TestTableRestoreNeeds(t *testing.T) {
	e := postgres.New()
	b := backupOf(t, e, newSource(t))
	conn := superConn(harness.TargetPostgres(t), "postgres")
	db := randName("tbl")

	rep := restoreInto(t, e, conn, b, engines.RestoreRequest{Database: db, Tables: []engines.TableRef{{Schema: "hall", Name: "ratings"}}})
	if s := strings.Join(rep.Skipped, "\n"); !strings.Contains(s, "ratings_ticket_fkey") || !strings.Contains(s, "hall_owner") {
		t.Errorf("ratings without 取号记录: Skipped = %q, want the foreign key and the missing owner named", rep.Skipped)
	}
	if enginetest.FindNote(rep.SkippedMessages, postgres.NoteForeignKeyNotCreated, "", engines.Params{
		"constraint": "ratings_ticket_fkey", "table": "hall.ratings", "references": "hall.取号记录", "database": db}) == nil {
		t.Errorf("ratings without 取号记录: SkippedMessages = %+v, want the foreign key's", rep.SkippedMessages)
	}
	// Now the referenced table: needs the function, the enum, its sequence.
	rep = restoreInto(t, e, conn, b, engines.RestoreRequest{Database: db, Tables: []engines.TableRef{{Schema: "hall", Name: "取号记录"}}})
	t.Logf("skipped: %q", rep.Skipped)
	if got := queryString(t, conn, db, `INSERT INTO hall."取号记录" ("窗口") VALUES ('N') RETURNING "编号"::text || "备注"`); got != "5(无)" {
		t.Errorf("after a table restore, insert returned %q, want 5(无) (identity continues, trigger fires)", got)
	}
	// Restoring ratings again (Replace) now creates its foreign key.
	rep = restoreInto(t, e, conn, b, engines.RestoreRequest{Database: db, Replace: true, Tables: []engines.TableRef{{Schema: "hall", Name: "ratings"}}})
	if s := strings.Join(rep.Skipped, "\n"); strings.Contains(s, "ratings_ticket_fkey") {
		t.Errorf("foreign key skipped although 取号记录 exists: %q", rep.Skipped)
	}
	if got := queryString(t, conn, db, `SELECT count(*)::text FROM pg_constraint WHERE conname = 'ratings_ticket_fkey'`); got != "1" {
		t.Errorf("foreign key count %s, want 1", got)
	}
	if got := listTables(t, conn, db); len(got) != 2 {
		t.Errorf("tables after two table restores: %v", got)
	}
	stats, err := e.TableStats(t.Context(), conn, db, []engines.TableRef{{Schema: "hall", Name: "ratings"}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := b.Snapshot.Table(engines.TableRef{Schema: "hall", Name: "ratings"})
	if d := engines.CompareStats([]engines.TableStats{want}, stats); len(d) > 0 {
		t.Errorf("ratings: %v", d)
	}
	// A partitioned table brings its partitions, attached, with their data.
	pdb := randName("part")
	rep = restoreInto(t, e, conn, b, engines.RestoreRequest{Database: pdb, Tables: []engines.TableRef{{Schema: "hall", Name: "events"}}})
	if len(rep.Notes) > 0 {
		t.Errorf("notes: %q", rep.Notes)
	}
	if got := queryString(t, conn, pdb, `SELECT string_agg(inhrelid::regclass::text, ',' ORDER BY 1) FROM pg_inherits WHERE inhparent = 'hall.events'::regclass`); got != "hall.events_2024,hall.events_2025" {
		t.Errorf("partitions of the restored hall.events: %q", got)
	}
	if got := queryString(t, conn, pdb, `SELECT count(*)::text FROM pg_inherits WHERE inhparent = 'hall.events_id_idx'::regclass`); got != "2" {
		t.Errorf("partition indexes attached to hall.events_id_idx: %s, want 2", got)
	}
	var parts []engines.TableStats
	for _, st := range b.Snapshot.Tables {
		if strings.HasPrefix(st.Table.Name, "events_") {
			parts = append(parts, st)
		}
	}
	got, err := e.TableStats(t.Context(), conn, pdb, []engines.TableRef{parts[0].Table, parts[1].Table})
	if err != nil {
		t.Fatal(err)
	}
	if d := engines.CompareStats(parts, got); len(d) > 0 || len(parts) != 2 {
		t.Errorf("partitions: %v", d)
	}
	// A partition alone stands alone, and the report says so.
	rep = restoreInto(t, e, conn, b, engines.RestoreRequest{Database: randName("leaf"), Tables: []engines.TableRef{{Schema: "hall", Name: "events_2025"}}})
	if n := strings.Join(rep.Notes, "\n"); !strings.Contains(n, "standalone") {
		t.Errorf("notes of a partition restored alone: %q", rep.Notes)
	}
	if enginetest.FindNote(rep.NoteMessages, postgres.NotePartitionStandalone, "", engines.Params{"table": "hall.events_2025"}) == nil {
		t.Errorf("notes of a partition restored alone: %+v", rep.NoteMessages)
	}

	// A table that is not in the backup.
	_, err = e.Restore(t.Context(), conn, engines.RestoreRequest{Database: db, Snapshot: b.Snapshot, Parallel: 1,
		Tables: []engines.TableRef{{Schema: "hall", Name: "nope"}}}, b.Parts)
	if err == nil || !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("restore of a table not in the backup: %v, want a permanent error", err)
	}
}

// TestBackupServerDown: a server that has stopped fails the backup
// quickly with a clear error.
func TestBackupServerDown(t *testing.T) {
	pg := harness.NewPostgres(t)
	pg.Exec(t, "postgres", "CREATE DATABASE down")
	conn := superConn(pg, "down")
	pg.Stop(t)
	start := time.Now()
	_, err := postgres.New().Backup(t.Context(), conn, engines.BackupOptions{Parallel: 2}, enginetest.NewDirParts(t.TempDir()))
	if err == nil {
		t.Fatal("backup of a stopped server succeeded")
	}
	t.Logf("%v in %v", err, time.Since(start))
	if !strings.Contains(err.Error(), "down") || !strings.Contains(err.Error(), "connect") {
		t.Errorf("error %q should name the database and say connecting failed", err)
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("took %v to fail", time.Since(start))
	}
}

// TestBackupBadPassword: authentication failures are permanent and do not
// quote the password.
func TestBackupBadPassword(t *testing.T) {
	src := newSource(t)
	conn := src.Conn
	conn.Password = secret.New("wrong-" + backupPassword)
	_, err := postgres.New().Backup(t.Context(), conn, engines.BackupOptions{Parallel: 1}, enginetest.NewDirParts(t.TempDir()))
	if err == nil {
		t.Fatal("backup with a wrong password succeeded")
	}
	if !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("wrong password: %v is not permanent", err)
	}
	if strings.Contains(err.Error(), backupPassword) {
		t.Errorf("error quotes the password: %v", err)
	}
}

// cancellingSink cancels the backup once the schema part has received
// some bytes, i.e. while pg_dump runs.
type cancellingSink struct {
	*enginetest.DirParts
	cancel context.CancelFunc
	fail   error // when set, the schema part's writer fails instead
}

func (s *cancellingSink) CreatePart(ctx context.Context, p engines.PartInfo) (io.WriteCloser, error) {
	w, err := s.DirParts.CreatePart(ctx, p)
	if err != nil || p.Kind != engines.KindSchema {
		return w, err
	}
	return &cancellingWriter{WriteCloser: w, s: s}, nil
}

type cancellingWriter struct {
	io.WriteCloser
	s *cancellingSink
}

func (w *cancellingWriter) Write(b []byte) (int, error) {
	if w.s.fail != nil {
		return 0, w.s.fail
	}
	w.s.cancel()
	return w.WriteCloser.Write(b)
}

// TestBackupKilled: a backup whose context is cancelled while pg_dump runs,
// or whose sink fails under pg_dump, returns an error promptly.
func TestBackupKilled(t *testing.T) {
	src := newSource(t)
	// 8 MB of large object in the schema archive: pg_dump is still writing
	// when the sink sees its first bytes.
	execSQL(t, src.Conn, src.Name, `SELECT lo_from_bytea(0, decode(repeat('0123456789abcdef', 1 << 20), 'hex'))`)
	sinkErr := errors.New("storage went away")
	for _, tc := range []struct {
		name string
		fail error
		want error
	}{
		{"cancelled", nil, context.Canceled},
		{"sink fails", sinkErr, sinkErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			sink := &cancellingSink{DirParts: enginetest.NewDirParts(t.TempDir()), cancel: cancel, fail: tc.fail}
			done := make(chan error, 1)
			go func() {
				_, err := postgres.New().Backup(ctx, src.Conn, engines.BackupOptions{Parallel: 2}, sink)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want an error wrapping %v", err, tc.want)
				}
				t.Logf("%v", err)
			case <-time.After(time.Minute):
				t.Fatal("backup still running a minute after being stopped")
			}
		})
	}
}

// testLogger sends the engine's log lines to the test log (debug lines
// with -v).
func testLogger(t *testing.T) hclog.Logger {
	level := hclog.Info
	if testing.Verbose() {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: level, Output: testWriter{t}, DisableTime: true})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestCheckIntegrityFindsCorruption damages a table's heap file on a
// stopped private server: pg_amcheck must report it, and the check must
// leave no amcheck extension behind.
func TestCheckIntegrityFindsCorruption(t *testing.T) {
	pg := harness.NewPostgres(t)
	pg.Exec(t, "postgres", "CREATE DATABASE broken")
	pg.Exec(t, "broken", `CREATE TABLE t (id int PRIMARY KEY, v text);
		INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 2000) i; CHECKPOINT;`)
	conn := superConn(pg, "broken")
	e := postgres.New()

	rep, err := e.CheckIntegrity(t.Context(), conn, "broken")
	if err != nil || !rep.OK() || rep.Skipped != "" {
		t.Fatalf("check of the intact database: %+v, %v", rep, err)
	}
	if got := pg.QueryString(t, "broken", "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'"); got != "0" {
		t.Errorf("amcheck left installed after the check")
	}

	file := filepath.Join(pg.Dir, "data", pg.QueryString(t, "broken", "SELECT pg_relation_filepath('t')"))
	pg.Stop(t)
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The tuples of block 0 sit at its end: overwrite some of them.
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 200), 8192-400); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pg.Start(t)

	rep, err = e.CheckIntegrity(t.Context(), conn, "broken")
	if err != nil {
		t.Fatalf("check of the damaged database: %v", err)
	}
	if rep.OK() {
		t.Fatalf("check of the damaged database found nothing: %+v", rep)
	}
	t.Logf("%s found %d problems in %v, first: %s", rep.Tool, len(rep.Findings), rep.Duration, rep.Findings[0])
}

// TestEmptyDatabase: a database without tables backs up and restores.
func TestEmptyDatabase(t *testing.T) {
	pg := sourceServer(t)
	name := randName("empty")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	e := postgres.New()
	b := backupOf(t, e, enginetest.Database{Conn: backupConn(pg, name), Name: name})
	if len(b.Snapshot.Tables) != 0 {
		t.Errorf("tables of an empty database: %v", b.Snapshot.Tables)
	}
	conn := superConn(harness.TargetPostgres(t), "postgres")
	db := randName("empty_copy")
	restoreInto(t, e, conn, b, engines.RestoreRequest{Database: db})
	if ok, err := e.DatabaseExists(t.Context(), conn, db); err != nil || !ok {
		t.Errorf("restored empty database exists: %v, %v", ok, err)
	}
}

// dbProps lists, sorted, what a restore should carry over of database
// itself on pg: owner, connection limit, comment, privileges ("acl
// grantee grantor privilege", "acl default" for a NULL datacl) and
// settings ("setting role name=value", role * for ALTER DATABASE SET).
func dbProps(t *testing.T, pg *harness.Postgres, database string) []string {
	t.Helper()
	lit := "'" + strings.ReplaceAll(database, "'", "''") + "'"
	s := pg.QueryString(t, "postgres", `SELECT concat_ws(E'\n',
		'owner ' || pg_get_userbyid(d.datdba),
		'connection limit ' || d.datconnlimit,
		'comment ' || coalesce(shobj_description(d.oid, 'pg_database'), ''),
		CASE WHEN d.datacl IS NULL THEN 'acl default' ELSE
			(SELECT string_agg(format('acl %s %s %s%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END,
				pg_get_userbyid(a.grantor), a.privilege_type, CASE WHEN a.is_grantable THEN ' grantable' ELSE '' END), E'\n')
			FROM aclexplode(d.datacl) a) END,
		(SELECT string_agg(format('setting %s %s', CASE WHEN s.setrole = 0 THEN '*' ELSE pg_get_userbyid(s.setrole)::text END, c.cfg), E'\n')
			FROM pg_db_role_setting s, unnest(s.setconfig) c(cfg) WHERE s.setdatabase = d.oid))
		FROM pg_database d WHERE d.datname = `+lit)
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return lines
}

// metaWithoutDatabase hands out the parts of a backup with its meta part
// as this adapter wrote it before it recorded database properties.
type metaWithoutDatabase struct{ engines.PartSource }

func (m metaWithoutDatabase) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := m.PartSource.Open(ctx, name)
	if err != nil || name != "meta/tables.json" {
		return rc, err
	}
	defer rc.Close()
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(rc).Decode(&fields); err != nil {
		return nil, err
	}
	if _, ok := fields["database"]; !ok {
		return nil, errors.New("the meta part records no database properties")
	}
	delete(fields, "database")
	b, err := json.Marshal(fields)
	return io.NopCloser(bytes.NewReader(b)), err
}

// TestDatabaseProperties: a whole-database restore, redirected to the
// target server under a new name, gives the new database the source's
// settings, per-role settings, comment, privileges, owner and connection
// limit, leaving out and reporting what names a role the target lacks and
// what the target refuses. Table restores and backups whose meta part
// predates the properties apply none.
func TestDatabaseProperties(t *testing.T) {
	srcPG, tgtPG := sourceServer(t), harness.TargetPostgres(t)
	e := postgres.New()
	tgtConn := superConn(tgtPG, "postgres")
	// owner and reader exist on both servers, ghost only on the source.
	owner, reader, ghost := randName("dbp_owner"), randName("dbp_reader"), randName("dbp_ghost")
	srcPG.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s; CREATE ROLE %s; CREATE ROLE %s", owner, reader, ghost))
	tgtPG.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s; CREATE ROLE %s", owner, reader))
	// Cleanups run last first: these run after the databases naming the
	// roles are dropped.
	t.Cleanup(func() { srcPG.Exec(t, "postgres", fmt.Sprintf("DROP ROLE IF EXISTS %s, %s, %s", owner, reader, ghost)) })
	t.Cleanup(func() { tgtPG.Exec(t, "postgres", fmt.Sprintf("DROP ROLE IF EXISTS %s, %s", owner, reader)) })
	newDB := func(pg *harness.Postgres, name, owner string) {
		pg.Exec(t, "postgres", "CREATE DATABASE "+name+" OWNER "+owner)
		t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	}

	src := randName("dbp_src")
	newDB(srcPG, src, owner)
	srcPG.Exec(t, src, fmt.Sprintf(`
		CREATE SCHEMA "Schema 2";
		CREATE TABLE public.t (id int PRIMARY KEY, v text);
		INSERT INTO public.t VALUES (1, '一'), (2, '二');
		ALTER DATABASE %[1]s SET work_mem = '64MB';
		ALTER DATABASE %[1]s SET search_path = "$user", public, "Schema 2";
		ALTER DATABASE %[1]s SET application_name = '办事大厅 app';
		ALTER DATABASE %[1]s CONNECTION LIMIT 42;
		COMMENT ON DATABASE %[1]s IS '办事大厅数据库：''引号'' \ 反斜杠';
		REVOKE CONNECT ON DATABASE %[1]s FROM PUBLIC;
		GRANT CONNECT ON DATABASE %[1]s TO %[2]s;
		GRANT CREATE ON DATABASE %[1]s TO %[2]s WITH GRANT OPTION;
		GRANT CONNECT, TEMPORARY ON DATABASE %[1]s TO %[3]s WITH GRANT OPTION;
		SET ROLE %[2]s; GRANT CREATE ON DATABASE %[1]s TO PUBLIC; RESET ROLE;
		SET ROLE %[3]s; GRANT TEMPORARY ON DATABASE %[1]s TO %[2]s; RESET ROLE;
		ALTER ROLE %[2]s IN DATABASE %[1]s SET work_mem = '8MB';
		ALTER ROLE %[3]s IN DATABASE %[1]s SET statement_timeout = '5s';`, src, reader, ghost))
	// A parameter the target server does not know, as one of a newer
	// version would be: no ALTER DATABASE can set it, so write the catalog.
	srcPG.Exec(t, "postgres", `UPDATE pg_db_role_setting SET setconfig = setconfig || 'dbops_no_such_param=1'::text
		WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = '`+src+`')`)
	srcProps := dbProps(t, srcPG, src)
	b := backupOf(t, e, enginetest.Database{Conn: backupConn(srcPG, src), Name: src})

	t.Run("redirected", func(t *testing.T) {
		db := randName("属性_copy")
		rep := restoreInto(t, e, tgtConn, b, engines.RestoreRequest{Database: db})
		got := dbProps(t, tgtPG, db)
		var want []string
		for _, l := range srcProps {
			if !strings.Contains(l, ghost) && !strings.Contains(l, "dbops_no_such_param") {
				want = append(want, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("properties of the restored database:\n%s\nwant (the source's without role %s):\n%s",
				strings.Join(got, "\n"), ghost, strings.Join(want, "\n"))
		}
		// Spelled out, so that a source-side surprise cannot hide a loss.
		for _, line := range []string{
			"owner " + owner,
			"connection limit 42",
			`comment 办事大厅数据库：'引号' \ 反斜杠`,
			"setting * work_mem=64MB",
			`setting * search_path="$user", public, "Schema 2"`,
			"setting * application_name=办事大厅 app",
			"setting " + reader + " work_mem=8MB",
			"acl " + reader + " " + owner + " CONNECT",
			"acl " + reader + " " + owner + " CREATE grantable",
			"acl PUBLIC " + reader + " CREATE",
			"acl PUBLIC " + owner + " TEMPORARY",
			"acl " + owner + " " + owner + " CONNECT",
		} {
			if !slices.Contains(got, line) {
				t.Errorf("restored database lacks %q; it has:\n%s", line, strings.Join(got, "\n"))
			}
		}
		if slices.Contains(got, "acl PUBLIC "+owner+" CONNECT") {
			t.Errorf("PUBLIC may connect to the restored database; the source revoked it")
		}
		skipped := strings.Join(rep.Skipped, "\n")
		t.Logf("skipped:\n%s", skipped)
		for _, s := range []string{
			"TO " + ghost + " WITH GRANT OPTION not restored: role " + ghost + " is missing",
			"TO " + reader + " (granted by " + ghost + ") not restored",
			"setting statement_timeout of role " + ghost + " in database " + db + " not restored: role " + ghost + " is missing",
			"setting dbops_no_such_param of database " + db + " not applied: the target server refused it",
		} {
			if !strings.Contains(skipped, s) {
				t.Errorf("Skipped lacks %q", s)
			}
		}
		// The same, as Notes: what was not restored, and why.
		for _, want := range []struct {
			key, what string
			params    engines.Params
		}{
			{postgres.NoteRoleMissing, postgres.NoteGrantWithOption, engines.Params{"role": ghost, "grantee": ghost, "database": db}},
			{postgres.NoteGrantorMissing, postgres.NoteGrantBy, engines.Params{"role": ghost, "grantee": reader, "grantor": ghost, "privileges": "TEMPORARY"}},
			{postgres.NoteRoleMissing, postgres.NoteRoleSetting, engines.Params{"role": ghost, "setting": "statement_timeout", "database": db}},
			{postgres.NoteRefused, postgres.NoteDatabaseSetting, engines.Params{"setting": "dbops_no_such_param", "database": db, "sqlstate": "42704"}},
		} {
			if enginetest.FindNote(rep.SkippedMessages, want.key, want.what, want.params) == nil {
				t.Errorf("SkippedMessages lack %s about %s with %v:\n%+v", want.key, want.what, want.params, rep.SkippedMessages)
			}
		}
		if got := queryString(t, tgtConn, db, `SELECT count(*)::text FROM public.t`); got != "2" {
			t.Errorf("rows restored: %s, want 2", got)
		}
	})

	t.Run("table restore", func(t *testing.T) {
		// Into an existing database: its properties stay as they were.
		db := randName("dbp_tables")
		newDB(tgtPG, db, "postgres")
		tgtPG.Exec(t, db, "ALTER DATABASE "+db+" SET work_mem = '1MB'; COMMENT ON DATABASE "+db+" IS 'keep'")
		before := dbProps(t, tgtPG, db)
		restoreInto(t, e, tgtConn, b, engines.RestoreRequest{Database: db, Tables: []engines.TableRef{{Schema: "public", Name: "t"}}})
		if after := dbProps(t, tgtPG, db); !slices.Equal(before, after) {
			t.Errorf("a table restore changed the database's properties from\n%s\nto\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
		}
		// Into a database it creates: none of the source's are applied.
		db = randName("dbp_tables_new")
		restoreInto(t, e, tgtConn, b, engines.RestoreRequest{Database: db, Tables: []engines.TableRef{{Schema: "public", Name: "t"}}})
		want := []string{"acl default", "comment ", "connection limit -1", "owner postgres"}
		if got := dbProps(t, tgtPG, db); !slices.Equal(got, want) {
			t.Errorf("a table restore into a new database gave it:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("meta without properties", func(t *testing.T) {
		db := randName("dbp_old")
		t.Cleanup(func() { e.DropDatabase(context.Background(), tgtConn, db) })
		rep, err := e.Restore(t.Context(), tgtConn, engines.RestoreRequest{Database: db, Snapshot: b.Snapshot, Parallel: 1, Logger: testLogger(t)},
			metaWithoutDatabase{b.Parts})
		if err != nil {
			t.Fatalf("restore of a backup whose meta part has no database properties: %v", err)
		}
		if len(rep.Skipped) > 0 {
			t.Errorf("skipped: %q", rep.Skipped)
		}
		want := []string{"acl default", "comment ", "connection limit -1", "owner postgres"}
		if got := dbProps(t, tgtPG, db); !slices.Equal(got, want) {
			t.Errorf("restored database:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("owner missing", func(t *testing.T) {
		// The owner's own privileges follow the database to its new owner,
		// the restoring user.
		src := randName("dbp_src_ghost")
		newDB(srcPG, src, ghost)
		srcPG.Exec(t, src, "REVOKE TEMPORARY ON DATABASE "+src+" FROM PUBLIC; COMMENT ON DATABASE "+src+" IS '无主之库'")
		b := backupOf(t, e, enginetest.Database{Conn: backupConn(srcPG, src), Name: src})
		db := randName("dbp_copy_ghost")
		rep := restoreInto(t, e, tgtConn, b, engines.RestoreRequest{Database: db})
		want := []string{
			"acl PUBLIC postgres CONNECT",
			"acl postgres postgres CONNECT",
			"acl postgres postgres CREATE",
			"acl postgres postgres TEMPORARY",
			"comment 无主之库",
			"connection limit -1",
			"owner postgres",
		}
		if got := dbProps(t, tgtPG, db); !slices.Equal(got, want) {
			t.Errorf("restored database:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if s := strings.Join(rep.Skipped, "\n"); !strings.Contains(s, "owner of database "+db+" not set to "+ghost) {
			t.Errorf("Skipped = %q, want the missing owner named", rep.Skipped)
		}
		if enginetest.FindNote(rep.SkippedMessages, postgres.NoteDatabaseOwnerMissing, "", engines.Params{"database": db, "owner": ghost}) == nil {
			t.Errorf("SkippedMessages = %+v, want the missing owner's", rep.SkippedMessages)
		}
	})
}
