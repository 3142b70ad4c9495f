package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/testlog"
)

// manyTablesFixture spreads 2,441 tables over 12 schemas. Nine hold only
// tables (two of them with names that need quoting) and are left out of
// the schema dump whole; three hold, beside their tables, a sequence, a
// materialized view, or both, whose values pg_dump must carry, so their
// tables are left out one by one. A large object is carried by pg_dump too.
const manyTablesFixture = `
DO $$
DECLARE
	s text;
BEGIN
	FOR n IN 0..7 LOOP
		s := 'bulk_' || n;
		EXECUTE format('CREATE SCHEMA %I', s);
		FOR i IN 1..250 LOOP
			EXECUTE format('CREATE TABLE %I.%I (id int, v text); INSERT INTO %1$I.%2$I VALUES (%3$s, %4$L), (%3$s + 1000, NULL)',
				s, 't_' || i, i, md5(s || i));
		END LOOP;
	END LOOP;
	CREATE SCHEMA "全""部.x";
	CREATE SCHEMA "混合 ""s"".x";
	CREATE SCHEMA seq_only;
	CREATE SCHEMA mv_only;
	FOR i IN 1..100 LOOP
		EXECUTE format('CREATE TABLE "全""部.x".%I (k text); INSERT INTO "全""部.x".%1$I VALUES (%2$L)', '表 "' || i || '".n', '值' || i);
	END LOOP;
	FOR i IN 1..300 LOOP
		EXECUTE format('CREATE TABLE "混合 ""s"".x".%I (k int); INSERT INTO "混合 ""s"".x".%1$I VALUES (%2$s)', '混合表.' || i, i);
	END LOOP;
	FOR i IN 1..20 LOOP
		EXECUTE format('CREATE TABLE seq_only.%I (k int); INSERT INTO seq_only.%1$I VALUES (%2$s)', 't_' || i, i);
		EXECUTE format('CREATE TABLE mv_only.%I (k int); INSERT INTO mv_only.%1$I VALUES (%2$s)', 't_' || i, i);
	END LOOP;
END $$;

CREATE TABLE "混合 ""s"".x".tickets (id serial PRIMARY KEY, note text);
INSERT INTO "混合 ""s"".x".tickets (note) SELECT '票' || i FROM generate_series(1, 5) i;
DELETE FROM "混合 ""s"".x".tickets WHERE id = 5;
CREATE MATERIALIZED VIEW "混合 ""s"".x".ticket_count AS SELECT count(*) AS n, max(id) AS top FROM "混合 ""s"".x".tickets;

CREATE SEQUENCE seq_only.counter;
SELECT setval('seq_only.counter', 41);

CREATE MATERIALIZED VIEW mv_only.totals AS SELECT sum(id) AS s FROM bulk_3.t_7;

SELECT lo_from_bytea(0, convert_to('大对象 in a database of many tables', 'UTF8'));
`

// TestManyTables backs up and restores a database of a few thousand
// tables: schemas that hold only copied tables are left out of the schema
// dump with one pattern each, and the restore is complete (rows, sequence
// values, the large object, materialized views).
func TestManyTables(t *testing.T) {
	pg := sourceServer(t)
	name := randName("pgmany")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	start := time.Now()
	pg.Exec(t, name, manyTablesFixture)
	t.Logf("created 2441 tables in %v", time.Since(start).Round(time.Millisecond))
	src := enginetest.Database{Conn: backupConn(pg, name), Name: name}

	e := postgres.New()
	logs := &testlog.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: logs, DisableTime: true})
	parts := enginetest.NewDirParts(t.TempDir())
	start = time.Now()
	snap, err := e.Backup(t.Context(), src.Conn, engines.BackupOptions{Type: "full", Parallel: 2, Logger: log}, parts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("backup in %v", time.Since(start).Round(time.Millisecond))
	if len(snap.Tables) != 2441 {
		t.Fatalf("%d tables backed up, want 2441", len(snap.Tables))
	}
	// 8 bulk schemas and "全""部.x" whole; the 301 + 20 + 20 tables of the
	// schemas with a sequence or a materialized view one by one.
	if !strings.Contains(logs.String(), "excluded_schemas=9 excluded_tables=341") {
		t.Errorf("the schema dump did not exclude 9 schemas whole and 341 tables one by one:\n%s", logs.Lines("schema dumped"))
	}

	target := superConn(harness.TargetPostgres(t), "postgres")
	db := randName("pgmany_copy")
	start = time.Now()
	restoreInto(t, e, target, enginetest.Backup{Snapshot: snap, Parts: parts}, engines.RestoreRequest{Database: db})
	t.Logf("restore in %v", time.Since(start).Round(time.Millisecond))

	refs := make([]engines.TableRef, len(snap.Tables))
	for i, s := range snap.Tables {
		refs[i] = s.Table
	}
	got, err := e.TableStats(t.Context(), target, db, refs)
	if err != nil {
		t.Fatalf("statistics of the restored copy: %v", err)
	}
	if len(got) != len(snap.Tables) {
		t.Fatalf("%d tables restored, want %d", len(got), len(snap.Tables))
	}
	for i, want := range snap.Tables {
		if got[i].Table != want.Table || got[i].Rows != want.Rows || got[i].Checksum != want.Checksum {
			t.Errorf("restored %s: %d rows, checksum %x; backed up %s: %d rows, checksum %x",
				got[i].Table, got[i].Rows, got[i].Checksum, want.Table, want.Rows, want.Checksum)
		}
	}

	for _, c := range []struct{ what, sql, want string }{
		{"the serial sequence continues", `SELECT nextval(pg_get_serial_sequence('"混合 ""s"".x".tickets', 'id'))::text`, "6"},
		{"a new row takes the next id", `INSERT INTO "混合 ""s"".x".tickets (note) VALUES ('新') RETURNING id::text`, "7"},
		{"the standalone sequence continues", `SELECT nextval('seq_only.counter')::text`, "42"},
		{"the large object", `SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata`, "大对象 in a database of many tables"},
		{"materialized views populated", `SELECT string_agg(relname || '=' || relispopulated, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'm'`,
			"ticket_count=true,totals=true"},
		{"materialized view contents", `SELECT n || ' ' || top FROM "混合 ""s"".x".ticket_count`, "4 4"},
		{"materialized view contents", `SELECT s::text FROM mv_only.totals`, "1014"},
	} {
		if got := queryString(t, target, db, c.sql); got != c.want {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
}
