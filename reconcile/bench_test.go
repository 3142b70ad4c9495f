package reconcile_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/reconcile"
)

// benchRows is the figure: two tables of 1,000,000 rows.
const benchRows = 1_000_000

// tenDifferences changes ten rows of the right side, spread over the table.
const tenDifferences = `SET time_zone = '+00:00';
UPDATE persons SET note = CONCAT(COALESCE(note, ''), '!') WHERE id IN (17, 99999, 123456, 250001, 333333, 500000, 654321, 777777, 888888, 999999);`

// BenchmarkReconcileMillion (make bench): PostgreSQL against MariaDB, two
// tables of 1,000,000 rows. "match": equal tables, the aim under 10 s with
// under 5 % of the tables' bytes crossing the network; "ten": ten rows
// differ, the aim under 20 s. Reported: seconds per reconciliation and the
// network bytes as a percentage of the two tables' size.
func BenchmarkReconcileMillion(b *testing.B) {
	left := pgSide(b, benchRows)
	right, exec := mySide(b, benchRows)
	pg, my := harness.SourcePostgres(b), harness.SourceMariaDB(b)
	pgBytes, _ := strconv.ParseInt(pg.QueryString(b, left.Database, "SELECT pg_table_size('public.persons')"), 10, 64)
	myBytes, _ := strconv.ParseInt(my.QueryString(b, right.Database, "SELECT data_length FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'persons'"), 10, 64)
	tableBytes := float64(pgBytes + myBytes)
	spec := reconcile.Spec{Name: "million", Left: left, Right: right, Key: []string{"id"}}
	run := func(b *testing.B, wantDiff int64) {
		var res *reconcile.Result
		var took time.Duration
		for b.Loop() {
			start := time.Now()
			var err error
			res, err = reconcile.Run(context.Background(), spec)
			took = time.Since(start)
			var de *reconcile.DifferencesError
			if err != nil && !errors.As(err, &de) {
				b.Fatal(err)
			}
		}
		if res.Total() != wantDiff || res.Different != wantDiff {
			b.Fatalf("found %d missing/different rows (%d different), want %d", res.Total(), res.Different, wantDiff)
		}
		b.ReportMetric(took.Seconds(), "s/reconcile")
		b.ReportMetric(100*float64(res.NetworkBytes)/tableBytes, "%network")
		b.ReportMetric(float64(res.Statements), "statements")
	}
	b.Run("match", func(b *testing.B) { run(b, 0) })
	exec(tenDifferences)
	b.Run("ten", func(b *testing.B) { run(b, 10) })
}
