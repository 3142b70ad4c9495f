package postgres_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/pipelinetest"
	"github.com/dbopsd/dbopsd/repository"
)

// rowsFixture: a few thousand rows in tables that exercise the row-level
// differential: a keyed table, duplicate rows without a key, NULL against
// the empty string, TOASTed values, and tables that will be altered,
// truncated and refilled, and dropped.
const rowsFixture = `
CREATE TABLE tickets (id int PRIMARY KEY, status text, note text);
INSERT INTO tickets SELECT g, 'waiting', md5(g::text) FROM generate_series(1, 3000) g;
CREATE TABLE nokey (v text, n int);
INSERT INTO nokey SELECT 'row ' || (g % 1000), g % 7 FROM generate_series(1, 3000) g;
CREATE TABLE nulls (id int, s text);
INSERT INTO nulls SELECT g, CASE WHEN g % 2 = 0 THEN NULL ELSE '' END FROM generate_series(1, 2000) g;
CREATE TABLE toasted (id int PRIMARY KEY, big text);
ALTER TABLE toasted ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO toasted SELECT g, repeat(md5(g::text), 400) FROM generate_series(1, 200) g;
CREATE TABLE altered (id int, v text);
INSERT INTO altered SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
CREATE TABLE refilled (id int, v text);
INSERT INTO refilled SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
CREATE TABLE dropped (id int);
INSERT INTO dropped SELECT generate_series(1, 100);
`

const rowsChange = `
UPDATE tickets SET status = 'called' WHERE id IN (SELECT id FROM tickets ORDER BY random() LIMIT 30);
DELETE FROM tickets WHERE id IN (SELECT id FROM tickets ORDER BY random() LIMIT 15);
INSERT INTO tickets SELECT g, 'new', md5(g::text) FROM generate_series(5001, 5030) g;
DELETE FROM nokey WHERE ctid = (SELECT ctid FROM nokey WHERE v = 'row 7' LIMIT 1);
INSERT INTO nokey VALUES ('row 8', 1), ('row 8', 1), ('row 8', 1);
UPDATE nulls SET s = '' WHERE id IN (2, 4, 6);
UPDATE nulls SET s = NULL WHERE id IN (1, 3);
UPDATE toasted SET big = repeat(md5('changed'), 500) WHERE id = 17;
ALTER TABLE altered ADD COLUMN added text DEFAULT 'x';
TRUNCATE refilled;
INSERT INTO refilled SELECT g, md5((g * 7)::text) FROM generate_series(1, 2500) g;
DROP TABLE dropped;
CREATE TABLE created (id int, v text);
INSERT INTO created SELECT g, md5(g::text) FROM generate_series(1, 100) g;
`

func rowsSetup(t *testing.T) (enginetest.Setup, enginetest.Database) {
	pg := sourceServer(t)
	name := randName("pgrows")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, rowsFixture)
	s := enginetest.Setup{
		Engine: postgres.New(), Target: func(t *testing.T) engines.Conn { return superConn(harness.TargetPostgres(t), "postgres") },
		Exec: execSQL, Tables: listTables, Parallel: 2, Logger: testLogger(t),
	}
	return s, enginetest.Database{Conn: backupConn(pg, name), Name: name}
}

// TestRowDifferential: scattered updates, deletes, inserts, duplicates
// without a key, NULL against ” and TOASTed values go as rows; an added
// column, a new table go as chunks and say why; everything restores
// exactly, whole, verified and table by table.
func TestRowDifferential(t *testing.T) {
	s, src := rowsSetup(t)
	_, diff := pipelinetest.Rows(t, s, src, func(t *testing.T) { execSQL(t, src.Conn, src.Name, rowsChange) })
	pipelinetest.CheckStored(t, diff, "public", map[string]pipelinetest.Stored{
		"tickets": {Method: repository.MethodRows, Reason: "rows store less"},
		"nokey":   {Method: repository.MethodRows, Reason: "rows store less"},
		"nulls":   {Method: repository.MethodRows, Reason: "rows store less"},
		"toasted": {Method: repository.MethodRows, Reason: "rows store less"},
		"altered": {Method: repository.MethodChunks, Reason: "columns changed"},
		"created": {Method: repository.MethodChunks, Reason: "no such part"},
	})
	if _, ok := diff.Snapshot.Table(engines.TableRef{Schema: "public", Name: "dropped"}); ok {
		t.Error("the dropped table is in the differential")
	}
}

// TestRowDifferentialCollisions: with 4-bit fingerprints every table has
// rows that share one; each goes as chunks and nothing is lost or doubled.
func TestRowDifferentialCollisions(t *testing.T) {
	defer repository.SetFingerprintBitsForTest(4)()
	s, src := rowsSetup(t)
	_, diff := pipelinetest.Rows(t, s, src, func(t *testing.T) { execSQL(t, src.Conn, src.Name, rowsChange) })
	collided := pipelinetest.Stored{Method: repository.MethodChunks, Reason: "share a fingerprint"}
	pipelinetest.CheckStored(t, diff, "public", map[string]pipelinetest.Stored{"tickets": collided, "nokey": collided, "nulls": collided})
}

// TestRowDifferentialSortedRunsSealed: with added rows sorted in runs of
// 256 bytes (many keyed and plain blocks a part), every table still
// restores exactly, whole and alone; and while each part is merged, no
// temporary file holds a row value in plaintext ('waiting' is in most
// tickets rows, md5 values in most tables).
func TestRowDifferentialSortedRunsSealed(t *testing.T) {
	defer repository.SetAddedRunBytesForTest(256)()
	var seen atomic.Int64 // parts are merged in parallel
	defer repository.SetSpillHookForTest(func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Error(err)
			return
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				continue // another part's merge removed it since ReadDir
			}
			if err != nil {
				t.Error(err)
				continue
			}
			for _, plain := range []string{"waiting", "called", md5Hex("17")} {
				if strings.Contains(string(b), plain) {
					t.Errorf("temporary file %s holds %q in plaintext", e.Name(), plain)
				}
			}
			seen.Add(1)
		}
	})()
	s, src := rowsSetup(t)
	_, diff := pipelinetest.Rows(t, s, src, func(t *testing.T) { execSQL(t, src.Conn, src.Name, rowsChange) })
	if seen.Load() == 0 {
		t.Fatal("no temporary file seen while parts were merged")
	}
	pipelinetest.CheckStored(t, diff, "public", map[string]pipelinetest.Stored{"tickets": {Method: repository.MethodRows}})
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
