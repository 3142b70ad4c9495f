package reconcile_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mysql"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/reconcile"
)

func TestMain(m *testing.M) { harness.Main(m) }

const testRows = 20000

// TestPlantedDifferences: PostgreSQL against MariaDB, 20,000 rows, the 17
// planted differences of every kind are all found and nothing else is —
// not the amounts stored at another scale, not the equal Chinese text, not
// timestamptz against TIMESTAMP. The floating-point column is named as not
// compared. Swapping the sides swaps what is missing where.
func TestPlantedDifferences(t *testing.T) {
	ctx := context.Background()
	left := pgSide(t, testRows)
	right, exec := mySide(t, testRows)

	spec := reconcile.Spec{Name: "persons", Left: left, Right: right, Key: []string{"id"}, LeafRows: 64}
	res, err := reconcile.Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run on equal tables: %v", err)
	}
	if res.Status != reconcile.StatusMatch || res.Total() != 0 {
		t.Fatalf("equal tables: status %s, %d differences: %+v", res.Status, res.Total(), res.Samples)
	}
	if res.Left.Rows != testRows || res.Right.Rows != testRows {
		t.Errorf("rows = %d, %d; want %d each", res.Left.Rows, res.Right.Rows, testRows)
	}
	if want := []reconcile.Skipped{{Column: "score", Reason: res.NotCompared[0].Reason}}; !slices.Equal(res.NotCompared, want) {
		t.Errorf("not compared = %+v, want only score", res.NotCompared)
	}
	if want := []string{"name", "amount", "created", "updated", "active", "note", "born", "payload"}; !slices.Equal(res.Compared, want) {
		t.Errorf("compared = %v, want %v", res.Compared, want)
	}
	// Equal tables cost one statement per side after the columns: a row
	// count and a checksum per group, not the rows.
	if res.Statements != 2 {
		t.Errorf("equal tables took %d statements, want 2", res.Statements)
	}
	if res.NetworkBytes <= 0 || res.NetworkBytes > 100<<10 {
		t.Errorf("equal tables: %d bytes crossed the network, want some and under 100 KiB", res.NetworkBytes)
	}
	t.Logf("equal: %d bytes, %d statements, %.2fs", res.NetworkBytes, res.Statements, res.Duration)

	exec(planted.sql)
	res, err = reconcile.Run(ctx, spec)
	var de *reconcile.DifferencesError
	if !errors.As(err, &de) || de.Result != res {
		t.Fatalf("Run with differences: err = %v, want a *DifferencesError", err)
	}
	if fault.IsTransient(err) {
		t.Errorf("differences are transient: %v", err)
	}
	t.Logf("planted: %d bytes, %d statements, %.2fs", res.NetworkBytes, res.Statements, res.Duration)
	check(t, res, planted.missingLeft, planted.missingRight)

	// The other way round: what the left lacked, the right now lacks.
	spec.Left, spec.Right = spec.Right, spec.Left
	res, _ = reconcile.Run(ctx, spec)
	check(t, res, planted.missingRight, planted.missingLeft)

	// Each side's statements run under the statement timeout.
	for _, sd := range []reconcile.Side{left, right} {
		res, err = reconcile.Run(ctx, reconcile.Spec{Name: "timeout", Left: sd, Right: sd, Key: []string{"id"}, StatementTimeout: time.Millisecond})
		if err == nil || errors.As(err, &de) || res.Status != reconcile.StatusFailed ||
			!strings.Contains(err.Error(), "statement timeout") && !strings.Contains(err.Error(), "max_statement_time") {
			t.Errorf("%s with a 1 ms statement timeout: %v", sd.Engine.Name(), err)
		}
	}
}

func check(t *testing.T, res *reconcile.Result, missingLeft, missingRight []string) {
	t.Helper()
	if res.Status != reconcile.StatusDifferent || res.Total() != 17 {
		t.Errorf("status %s, %d differences, want different and 17", res.Status, res.Total())
	}
	if !slices.Equal(res.Samples.MissingLeft, missingLeft) || res.MissingLeft != int64(len(missingLeft)) {
		t.Errorf("missing on the left: %d %v, want %v", res.MissingLeft, res.Samples.MissingLeft, missingLeft)
	}
	if !slices.Equal(res.Samples.MissingRight, missingRight) || res.MissingRight != int64(len(missingRight)) {
		t.Errorf("missing on the right: %d %v, want %v", res.MissingRight, res.Samples.MissingRight, missingRight)
	}
	got := map[string][]string{}
	for _, d := range res.Samples.Different {
		got[d.Key] = d.Columns
	}
	if !maps.EqualFunc(got, planted.different, slices.Equal) || res.Different != int64(len(planted.different)) {
		t.Errorf("different: %d %v, want %v", res.Different, got, planted.different)
	}
	if res.DifferentColumns["note"] != 3 || res.DifferentColumns["amount"] != 3 {
		t.Errorf("different columns = %v, want note and amount 3 times each", res.DifferentColumns)
	}
}

// engineWithout is an engine that offers no reconciliation.
type engineWithout struct{ engines.Engine }

func (engineWithout) Name() string { return "other" }

// TestEngineWithoutTheCapability: a clear "not supported" error, no crash.
func TestEngineWithoutTheCapability(t *testing.T) {
	left := pgSide(t, 10)
	res, err := reconcile.Run(context.Background(), reconcile.Spec{Name: "x", Left: left,
		Right: reconcile.Side{Engine: engineWithout{}, Database: "db", Table: engines.TableRef{Name: "t"}}, Key: []string{"id"}})
	if !errors.Is(err, reconcile.ErrNotSupported) || fault.IsTransient(err) {
		t.Fatalf("err = %v, want ErrNotSupported, permanent", err)
	}
	if res.Status != reconcile.StatusFailed || res.Error == "" {
		t.Errorf("result = %s %q, want failed with the error", res.Status, res.Error)
	}
}

// TestMissingKeyAndTable: a key column or a table that is not there is
// named, on the side where it is missing.
func TestMissingKeyAndTable(t *testing.T) {
	ctx := context.Background()
	left := pgSide(t, 10)
	right, _ := mySide(t, 10)
	_, err := reconcile.Run(ctx, reconcile.Spec{Name: "x", Left: left, Right: right, Key: []string{"uid"}})
	if err == nil || !strings.Contains(err.Error(), `key column "uid" exists on neither side`) {
		t.Errorf("unknown key: %v", err)
	}
	right.Table.Name = "nope"
	_, err = reconcile.Run(ctx, reconcile.Spec{Name: "x", Left: left, Right: right, Key: []string{"id"}})
	if !errors.Is(err, reconcile.ErrNoTable) || !strings.Contains(err.Error(), "right side") {
		t.Errorf("missing table: %v", err)
	}
}

// TestManyDifferences: when every row differs, every level has more groups
// to split than a statement lists (lowered here), and the leaves take
// several statements; all rows are counted, and the samples are the first
// keys in key order.
func TestManyDifferences(t *testing.T) {
	defer reconcile.SetMaxPrefixes(64)()
	left := pgSide(t, 1000)
	right, exec := mySide(t, 1000)
	exec("UPDATE persons SET name = CONCAT(name, '*'); DELETE FROM persons WHERE id = 2")
	res, err := reconcile.Run(context.Background(), reconcile.Spec{Name: "all", Left: left, Right: right, Key: []string{"id"},
		LeafRows: 4, Samples: 5})
	var de *reconcile.DifferencesError
	if !errors.As(err, &de) {
		t.Fatalf("Run: %v", err)
	}
	if res.Different != 999 || res.MissingRight != 1 || res.MissingLeft != 0 || res.DifferentColumns["name"] != 999 {
		t.Errorf("different %d, missing right %d, missing left %d, columns %v; want 999, 1, 0", res.Different, res.MissingRight, res.MissingLeft, res.DifferentColumns)
	}
	var keys []string
	for _, d := range res.Samples.Different {
		keys = append(keys, d.Key)
	}
	if !slices.Equal(keys, []string{"1", "3", "4", "5", "6"}) || !slices.Equal(res.Samples.MissingRight, []string{"2"}) {
		t.Errorf("samples = %v, missing right %v", keys, res.Samples.MissingRight)
	}
	t.Logf("%d statements, %d bytes", res.Statements, res.NetworkBytes)
}

// TestRateLimit: a rate limit paces each side's statements by the rows
// they read.
func TestRateLimit(t *testing.T) {
	left := pgSide(t, 300)
	right, _ := mySide(t, 300)
	spec := reconcile.Spec{Name: "slow", Left: left, Right: right, Key: []string{"id"}, RateLimit: 500}
	start := time.Now()
	res, err := reconcile.Run(context.Background(), spec)
	if err != nil || res.Status != reconcile.StatusMatch {
		t.Fatalf("Run: %v", err)
	}
	// 300 rows at 500 rows a second: at least 0.6 s.
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Errorf("300 rows at 500 rows/s took %s", took)
	}
}

func TestSummary(t *testing.T) {
	r := &reconcile.Result{Name: "persons", MissingLeft: 2, MissingRight: 1, Different: 14}
	if got := r.Summary().Text(i18n.ZH); got != "persons：左侧缺失 2 行，右侧缺失 1 行，内容不一致 14 行。" {
		t.Errorf("zh: %s", got)
	}
	if got := r.Summary().Text(i18n.EN); got != "persons: 2 rows missing on the left, 1 missing on the right, 14 different." {
		t.Errorf("en: %s", got)
	}
}

// TestSameEngine: two databases of one engine, with a composite key and
// numeric columns without a scale (PostgreSQL); a duplicate key is refused
// rather than miscounted.
func TestSameEngine(t *testing.T) {
	ctx := context.Background()
	pg, my := harness.SourcePostgres(t), harness.SourceMariaDB(t)
	pgTable := `CREATE TABLE t (a int, b text, v numeric, d timestamptz, PRIMARY KEY (a, b));
		INSERT INTO t SELECT i, 'k' || (i % 3), i * 1.5, timestamptz '2024-01-01 00:00:00+08' + i * interval '1 hour' FROM generate_series(-300, 500) AS i;`
	myTable := `CREATE TABLE t (a int, b varchar(10), v decimal(10,2), d datetime(6), PRIMARY KEY (a, b));
		INSERT INTO t SELECT seq, CONCAT('k', seq % 3), seq * 1.5, TIMESTAMP('2024-01-01') + INTERVAL seq HOUR FROM seq_1_to_500;`
	var pgs, mys []reconcile.Side
	var pgNames, myNames []string
	for range 2 {
		name := uniqueName("pgsame")
		pgNames = append(pgNames, name)
		pg.Exec(t, "postgres", "CREATE DATABASE "+name)
		t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
		pg.Exec(t, name, pgTable)
		pgs = append(pgs, reconcile.Side{Engine: postgres.New(), Conn: engines.Conn{DSN: pg.DSN(name)}, Table: engines.TableRef{Name: "t"}})
		name = uniqueName("mysame")
		myNames = append(myNames, name)
		my.Exec(t, "", "CREATE DATABASE "+name)
		t.Cleanup(func() { my.Exec(t, "", "DROP DATABASE IF EXISTS "+name) })
		my.Exec(t, name, myTable)
		mys = append(mys, reconcile.Side{Engine: mysql.New(), Conn: engines.Conn{DSN: my.DSN(name)}, Table: engines.TableRef{Name: "t"}})
	}
	pg.Exec(t, pgNames[1], "UPDATE t SET v = 7.50 WHERE a = 5; UPDATE t SET v = v + 0.001 WHERE a = 6; DELETE FROM t WHERE a = -77")
	my.Exec(t, myNames[1], "UPDATE t SET d = d + INTERVAL 1 MICROSECOND WHERE a = 7")
	for _, tc := range []struct {
		name string
		l, r reconcile.Side
		diff []string
	}{
		// 7.5 stored as 7.50 is equal; 9.001 against 9.0 is not.
		{"postgres", pgs[0], pgs[1], []string{"6,k0"}},
		// One integer key column: grouped by its value, negative ones too.
		{"postgres integer key", pgs[0], pgs[1], []string{"6"}},
		{"mariadb", mys[0], mys[1], []string{"7,k1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := []string{"a", "b"}
			if strings.HasSuffix(tc.name, "integer key") {
				key = key[:1]
			}
			res, err := reconcile.Run(ctx, reconcile.Spec{Name: tc.name, Left: tc.l, Right: tc.r, Key: key, LeafRows: 2})
			var keys []string
			for _, d := range res.Samples.Different {
				keys = append(keys, d.Key)
			}
			wantMissing := 0
			if tc.l.Engine.Name() == "postgres" {
				wantMissing = 1 // -77
			}
			if err == nil || !slices.Equal(keys, tc.diff) || res.Total() != int64(len(tc.diff)+wantMissing) ||
				len(res.Samples.MissingRight) != wantMissing || (wantMissing == 1 && !strings.HasPrefix(res.Samples.MissingRight[0], "-77")) {
				t.Errorf("err %v, different %v, missing right %v; want different %v", err, keys, res.Samples.MissingRight, tc.diff)
			}
		})
	}
	// A key that does not identify one row.
	_, err := reconcile.Run(ctx, reconcile.Spec{Name: "dup", Left: pgs[0], Right: pgs[1], Key: []string{"b"}, LeafRows: 1000})
	if err == nil || !strings.Contains(err.Error(), "appears twice") || fault.IsTransient(err) {
		t.Errorf("a duplicate key: %v", err)
	}
}
