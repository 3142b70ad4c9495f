package mysql

import (
	"math/big"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/pipelinetest"
	"github.com/dbopsd/dbopsd/repository"
)

// rowsFixture: the tables of the PostgreSQL case, in MariaDB.
const rowsFixture = `
CREATE TABLE tickets (id int PRIMARY KEY, status varchar(20), note text);
INSERT INTO tickets SELECT seq, 'waiting', md5(seq) FROM seq_1_to_3000;
CREATE TABLE nokey (v varchar(20), n int);
INSERT INTO nokey SELECT concat('row ', seq % 1000), seq % 7 FROM seq_1_to_3000;
CREATE TABLE nulls (id int, s text);
INSERT INTO nulls SELECT seq, IF(seq % 2 = 0, NULL, '') FROM seq_1_to_2000;
CREATE TABLE bigvals (id int PRIMARY KEY, big longtext);
INSERT INTO bigvals SELECT seq, repeat(md5(seq), 400) FROM seq_1_to_200;
CREATE TABLE altered (id int, v text);
INSERT INTO altered SELECT seq, md5(seq) FROM seq_1_to_2000;
CREATE TABLE dropped (id int);
INSERT INTO dropped SELECT seq FROM seq_1_to_100;
`

const rowsChange = `
UPDATE tickets SET status = 'called' ORDER BY rand() LIMIT 30;
DELETE FROM tickets ORDER BY rand() LIMIT 15;
INSERT INTO tickets SELECT seq, 'new', md5(seq) FROM seq_5001_to_5030;
DELETE FROM nokey WHERE v = 'row 7' LIMIT 1;
INSERT INTO nokey VALUES ('row 8', 1), ('row 8', 1), ('row 8', 1);
UPDATE nulls SET s = '' WHERE id IN (2, 4, 6);
UPDATE nulls SET s = NULL WHERE id IN (1, 3);
UPDATE bigvals SET big = repeat(md5('changed'), 500) WHERE id = 17;
ALTER TABLE altered ADD COLUMN added varchar(10) DEFAULT 'x';
DROP TABLE dropped;
CREATE TABLE created (id int, v text);
INSERT INTO created SELECT seq, md5(seq) FROM seq_1_to_100;
`

// TestRowDifferential: the PostgreSQL case's changes on MariaDB's
// escaped TSV: rows where they pay, chunks with the reason where not, and
// every restore exact.
func TestRowDifferential(t *testing.T) {
	m := harness.SourceMariaDB(t)
	name := uniqueName("rows")
	m.Exec(t, "", "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	t.Cleanup(func() { dropQuietly(m, name) })
	m.Exec(t, name, rowsFixture)
	src := enginetest.Database{Conn: engines.Conn{DSN: m.DSN(name)}, Name: name}
	s := enginetest.Setup{
		Engine: New(), Target: func(t *testing.T) engines.Conn { return engines.Conn{DSN: harness.TargetMariaDB(t).DSN("")} },
		Exec: execConn, Tables: listTables, Parallel: 2,
	}
	_, diff := pipelinetest.Rows(t, s, src, func(t *testing.T) { execConn(t, src.Conn, "", rowsChange) })
	pipelinetest.CheckStored(t, diff, "", map[string]pipelinetest.Stored{
		"tickets": {Method: repository.MethodRows, Reason: "rows store less"},
		"nokey":   {Method: repository.MethodRows, Reason: "rows store less"},
		"nulls":   {Method: repository.MethodRows, Reason: "rows store less"},
		"bigvals": {Method: repository.MethodRows, Reason: "rows store less"},
		"altered": {Method: repository.MethodChunks, Reason: "columns changed"},
		"created": {Method: repository.MethodChunks, Reason: "no such part"},
	})
}

// TestRowDifferentialKeepsKeyRanges: a split table whose keys grew past a
// power of two keeps the full's key ranges in the differential, so that its
// rows stay in their parts and the parts go as rows.
func TestRowDifferentialKeepsKeyRanges(t *testing.T) {
	m := harness.SourceMariaDB(t)
	name := uniqueName("ranges")
	m.Exec(t, "", "CREATE DATABASE "+name)
	t.Cleanup(func() { dropQuietly(m, name) })
	m.Exec(t, name, `CREATE TABLE queue (id int PRIMARY KEY, note varchar(200));
		INSERT INTO queue SELECT seq, repeat(md5(seq), 4) FROM seq_1_to_3000; ANALYZE TABLE queue;`)
	src := enginetest.Database{Conn: engines.Conn{DSN: m.DSN(name)}, Name: name}
	e := New()
	e.SplitBytes = 64 << 10
	s := enginetest.Setup{
		Engine: e, Target: func(t *testing.T) engines.Conn { return engines.Conn{DSN: harness.TargetMariaDB(t).DSN("")} },
		Exec: execConn, Tables: listTables, Parallel: 2,
	}
	full, diff := pipelinetest.Rows(t, s, src, func(t *testing.T) {
		execConn(t, src.Conn, "", `UPDATE queue SET note = 'changed' WHERE id % 97 = 0;
			INSERT INTO queue SELECT seq, md5(seq) FROM seq_9001_to_9050;`)
	})
	parts := 0
	for _, p := range full.Parts {
		if p.Kind == engines.KindTable {
			parts++
		}
	}
	if parts < 2 {
		t.Fatalf("the full cut queue into %d parts; want several", parts)
	}
	for _, p := range diff.Parts {
		if _, inFull := full.Part(p.Name); p.Kind != engines.KindTable || !inFull {
			continue
		}
		// About 1 % of each part's rows changed; rows that moved to
		// another part would show here as hundreds added.
		if p.Method != repository.MethodRows || p.Rows.Added > 10 {
			t.Errorf("%s stored as %s (%s), want rows, a few added", p.Name, p.Method, p.MethodReason)
		}
	}
}

// TestSplitKeysStep: the step a split was cut at is returned for any
// number of ranges (two: the last one is open above), and a full's step
// that would make mostly empty parts is given up.
func TestSplitKeysStep(t *testing.T) {
	b := &backupRun{log: hclog.NewNullLogger()}
	lo, hi := big.NewInt(1), big.NewInt(300_000)
	ranges, step := b.splitKeys(lo, hi, splitStep(lo, hi, 2), 2)
	if len(ranges) != 2 || step == nil || step.Int64() != 1<<18 {
		t.Fatalf("two ranges: %d ranges, step %v", len(ranges), step)
	}
	ranges, step = b.splitKeys(lo, big.NewInt(30_000_000), big.NewInt(1<<18), 2)
	if len(ranges) > 8 || step.Int64() == 1<<18 {
		t.Fatalf("a full's step over keys a hundred times further: %d ranges, step %v", len(ranges), step)
	}
}
