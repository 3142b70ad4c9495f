package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/pipelinetest"
)

// splitBytes makes the readings table (about 3 MB of heap) split into
// several block-range parts.
const splitBytes = 512 << 10

// readingsSQL is a table big enough to split, with a dropped and a
// generated column (neither is in COPY output, so neither may be in the
// split parts' column list), NULLs and escapes.
const readingsSQL = `
CREATE TABLE public.readings (
	id bigint PRIMARY KEY,
	gone int,
	at timestamptz NOT NULL,
	v text,
	f float8,
	twice bigint GENERATED ALWAYS AS (id * 2) STORED
);
INSERT INTO public.readings (id, gone, at, v, f)
	SELECT i, i, '2025-01-01 00:00:00+00'::timestamptz + i * interval '1 minute',
		CASE WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN E'tab\there\nline 读数' ELSE md5(i::text) END, i / 7.0
	FROM generate_series(1, 40000) i;
ALTER TABLE public.readings DROP COLUMN gone;
`

var readingsRef = engines.TableRef{Schema: "public", Name: "readings"}

// newSplitSource is newSource plus the readings table.
func newSplitSource(t *testing.T) enginetest.Database {
	t.Helper()
	src := newSource(t)
	sourceServer(t).Exec(t, src.Name, readingsSQL)
	return src
}

func splitEngine() *postgres.Engine {
	e := postgres.New()
	e.SplitBytes = splitBytes
	return e
}

// TestConformanceSplit runs the conformance suite with readings cut into
// block-range parts, and restores it alone.
func TestConformanceSplit(t *testing.T) {
	enginetest.Run(t, enginetest.Setup{
		Engine: splitEngine(),
		Source: newSplitSource,
		Target: func(t *testing.T) engines.Conn { return superConn(harness.TargetPostgres(t), "postgres") },
		Mutate: func(t *testing.T, src enginetest.Database) {
			execSQL(t, src.Conn, src.Name, `
				INSERT INTO public.readings (id, at, v) SELECT i, now(), 'new' FROM generate_series(40001, 40100) i;
				UPDATE public.readings SET v = '改了' WHERE id = 5;
				DELETE FROM public.readings WHERE id = 20000;
				INSERT INTO hall."取号记录" ("窗口") VALUES ('Z99');`)
		},
		Exec:         execSQL,
		Tables:       listTables,
		Unreachable:  unreachable,
		TableRestore: readingsRef,
		Parallel:     2,
		Pipeline:     pipelinetest.New(),
		Logger:       testLogger(t),
	})
}

// tableParts returns the data parts of tbl in b, in Seq order.
func tableParts(b enginetest.Backup, tbl engines.TableRef) []engines.PartInfo {
	var out []engines.PartInfo
	for _, p := range b.Parts.Parts() {
		if p.Kind == engines.KindTable && p.Table != nil && *p.Table == tbl {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b engines.PartInfo) int { return a.Seq - b.Seq })
	return out
}

func partDigest(t *testing.T, b enginetest.Backup, name string) string {
	t.Helper()
	rc, err := b.Parts.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sameStats(t *testing.T, what string, want, got []engines.TableStats) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d tables, want %d", what, len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("%s: %+v, want %+v", what, got[i], want[i])
		}
	}
}

// TestSplitTable: a split backup records exactly the statistics of an
// unsplit one; rows appended change only the last part; split and unsplit
// backups restore, whole or one table.
func TestSplitTable(t *testing.T) {
	src := newSplitSource(t)
	unsplit := postgres.New()
	unsplit.SplitBytes = 0 // the parts the adapter wrote before it split tables
	e := splitEngine()

	b0 := backupOf(t, unsplit, src)
	b1 := backupOf(t, e, src)
	if ps := tableParts(b0, readingsRef); len(ps) != 1 || ps[0].Seq != 0 || ps[0].Name != "data/public.readings" {
		t.Fatalf("unsplit backup: parts of readings %+v", ps)
	}
	ps1 := tableParts(b1, readingsRef)
	if len(ps1) < 3 {
		t.Fatalf("split backup: readings in %d parts, want 3 or more", len(ps1))
	}
	for i, p := range ps1 {
		if p.Seq != i+1 || p.Name != fmt.Sprintf("data/public.readings/%04d", i+1) || p.Format != "copy-text" {
			t.Errorf("part %d of readings: %+v", i, p)
		}
	}
	for _, p := range b1.Parts.Parts() { // small tables stay whole
		if p.Kind == engines.KindTable && *p.Table != readingsRef && (p.Seq != 0 || strings.Count(p.Name, "/") != 1) {
			t.Errorf("part %+v of a small table", p)
		}
	}
	sameStats(t, "split backup vs unsplit", b0.Snapshot.Tables, b1.Snapshot.Tables)
	var sum int64
	for _, p := range ps1 {
		sum += b1.Parts.Size(p.Name)
	}
	if st, _ := b1.Snapshot.Table(readingsRef); sum != st.Bytes || st.Rows != 40000 {
		t.Errorf("readings: parts hold %d bytes, statistics %+v", sum, st)
	}

	// Appending rows changes the last part only. (Rows of the widest shape:
	// a narrower row could fit in the free space at the end of an earlier
	// block, and PostgreSQL would put it there.)
	execSQL(t, src.Conn, src.Name, `INSERT INTO public.readings (id, at, v, f)
		SELECT i, '2026-01-01', md5(i::text), i / 7.0 FROM generate_series(40001, 40050) i`)
	b2 := backupOf(t, e, src)
	ps2 := tableParts(b2, readingsRef)
	if len(ps2) < len(ps1) {
		t.Fatalf("after appending: %d parts, before %d", len(ps2), len(ps1))
	}
	for i, p := range ps1 {
		d1, d2 := partDigest(t, b1, p.Name), partDigest(t, b2, ps2[i].Name)
		last := i == len(ps1)-1
		if p.Name != ps2[i].Name || (d1 == d2) == last {
			t.Errorf("part %s (last: %v): sizes %d and %d, digests %s and %s", p.Name, last, b1.Parts.Size(p.Name), b2.Parts.Size(ps2[i].Name), d1[:12], d2[:12])
		}
	}
	if st, _ := b2.Snapshot.Table(readingsRef); st.Rows != 40050 {
		t.Errorf("readings after appending: %+v", st)
	}

	conn := superConn(harness.TargetPostgres(t), "postgres")
	check := func(t *testing.T, db string, want []engines.TableStats) {
		t.Helper()
		var refs []engines.TableRef
		for _, s := range want {
			refs = append(refs, s.Table)
		}
		got, err := e.TableStats(t.Context(), conn, db, refs)
		if err != nil {
			t.Fatal(err)
		}
		if d := engines.CompareStats(want, got); len(d) > 0 {
			t.Errorf("restored %s: %v", db, d)
		}
		if got := queryString(t, conn, db, `SELECT count(*) FILTER (WHERE twice = id * 2)::text FROM public.readings`); got != fmt.Sprint(want[slices.IndexFunc(want, func(s engines.TableStats) bool { return s.Table == readingsRef })].Rows) {
			t.Errorf("restored %s: %s rows with the generated column right", db, got)
		}
	}
	t.Run("whole split", func(t *testing.T) {
		db := randName("split")
		restoreInto(t, e, conn, b1, engines.RestoreRequest{Database: db})
		check(t, db, b1.Snapshot.Tables)
	})
	t.Run("whole unsplit", func(t *testing.T) {
		db := randName("unsplit")
		restoreInto(t, e, conn, b0, engines.RestoreRequest{Database: db})
		check(t, db, b0.Snapshot.Tables)
	})
	t.Run("table", func(t *testing.T) {
		db := randName("split_tbl")
		restoreInto(t, e, conn, b2, engines.RestoreRequest{Database: db, Tables: []engines.TableRef{readingsRef}})
		st, _ := b2.Snapshot.Table(readingsRef)
		check(t, db, []engines.TableStats{st})
		if got := listTables(t, conn, db); !slices.Equal(got, []engines.TableRef{readingsRef}) {
			t.Errorf("tables after restoring readings alone: %v", got)
		}
	})
}
