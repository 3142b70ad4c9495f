package diagnostics_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
)

// The benchmarks of `make bench` (scripts/bench.sh): a database of 2,000
// tables and 6,000 indexes, the daily inspection and the monthly
// diagnosis timed with the number of queries each sends (no per-table
// round trips), and side by side what the tools a DBA would otherwise run
// take on the same database: check_postgres with its bloat, locks,
// txn_idle, txn_time, backends, dbstats and last_vacuum actions, and
// MySQLTuner. Targets: daily under 2 s, monthly under 30 s, the monthly
// no slower than the tools' sum.

const benchTables = 2000

func benchPostgres(b *testing.B) (*harness.Postgres, string) {
	pg := harness.SourcePostgres(b)
	pg.Exec(b, "postgres", "DROP DATABASE IF EXISTS diag_bench")
	pg.Exec(b, "postgres", "CREATE DATABASE diag_bench")
	// 100 tables a transaction: one takes a lock per table and index.
	for i := 1; i <= benchTables; i += 100 {
		pg.Exec(b, "diag_bench", fmt.Sprintf(`DO $$ BEGIN
			FOR i IN %d..%d LOOP
				EXECUTE format('CREATE TABLE t%%s (id int PRIMARY KEY, a int, b text, c timestamptz)', i);
				EXECUTE format('CREATE INDEX t%%s_a ON t%%s (a)', i, i);
				EXECUTE format('CREATE INDEX t%%s_b ON t%%s (b)', i, i);
				EXECUTE format('INSERT INTO t%%s SELECT g, g, md5(g::text), now() FROM generate_series(1, 20) g', i);
			END LOOP; END $$;`, i, i+99))
	}
	pg.Exec(b, "diag_bench", "ANALYZE")
	return pg, "diag_bench"
}

func BenchmarkDiagnosePostgres(b *testing.B) {
	pg, db := benchPostgres(b)
	eng, err := engines.New("postgres")
	if err != nil {
		b.Fatal(err)
	}
	conn := engines.Conn{DSN: pg.DSN(db)}
	for _, level := range []string{diagmodel.Daily, diagmodel.Monthly} {
		b.Run(level, func(b *testing.B) {
			var queries int
			for i := 0; i < b.N; i++ {
				f, err := diagnostics.Collect(context.Background(), eng, conn, "", diagmodel.Options{Level: level})
				if err != nil || f.Unreachable != "" {
					b.Fatal(err, f.Unreachable)
				}
				r := diagnostics.Analyze(diagnostics.Input{Facts: f})
				queries = f.Queries
				if level == diagmodel.Monthly && len(f.Indexes) < 3*benchTables {
					b.Fatalf("%d indexes collected", len(f.Indexes))
				}
				_ = r
			}
			b.ReportMetric(float64(queries), "queries/op")
		})
	}
	// check_postgres, the same ground.
	b.Run("check_postgres", func(b *testing.B) {
		if _, err := exec.LookPath("check_postgres"); err != nil {
			b.Fatal("check_postgres is not installed (apt-get install check-postgres)")
		}
		for i := 0; i < b.N; i++ {
			for _, action := range []string{"bloat", "locks", "txn_idle", "txn_time", "backends", "dbstats", "last_vacuum"} {
				cmd := exec.Command("check_postgres", "--action="+action, "--host="+pg.Host, "--port="+strconv.Itoa(pg.Port),
					"--dbuser=postgres", "--dbname="+db)
				cmd.Run() // its exit status is the Nagios state, not a failure
			}
		}
	})
}

func BenchmarkDiagnoseMariaDB(b *testing.B) {
	m := harness.SourceMariaDB(b)
	m.Exec(b, "", "DROP DATABASE IF EXISTS diag_bench; CREATE DATABASE diag_bench")
	start := time.Now()
	for i := 1; i <= benchTables; i += 100 {
		var script string
		for j := i; j < i+100; j++ {
			script += fmt.Sprintf("CREATE TABLE t%d (id INT PRIMARY KEY, a INT, b VARCHAR(40), KEY t%d_a (a), KEY t%d_b (b));", j, j, j)
		}
		m.Exec(b, "diag_bench", script)
	}
	b.Logf("created %d tables in %s", benchTables, time.Since(start))
	eng, err := engines.New("mysql")
	if err != nil {
		b.Fatal(err)
	}
	conn := engines.Conn{DSN: m.DSN("diag_bench")}
	for _, level := range []string{diagmodel.Daily, diagmodel.Monthly} {
		b.Run(level, func(b *testing.B) {
			var queries int
			for i := 0; i < b.N; i++ {
				f, err := diagnostics.Collect(context.Background(), eng, conn, "", diagmodel.Options{Level: level})
				if err != nil || f.Unreachable != "" {
					b.Fatal(err, f.Unreachable)
				}
				queries = f.Queries
			}
			b.ReportMetric(float64(queries), "queries/op")
		})
	}
	b.Run("mysqltuner", func(b *testing.B) {
		if _, err := exec.LookPath("mysqltuner"); err != nil {
			b.Fatal("mysqltuner is not installed (apt-get install mysqltuner)")
		}
		for i := 0; i < b.N; i++ {
			cmd := exec.Command("mysqltuner", "--host", m.Host, "--port", strconv.Itoa(m.Port), "--user", "root", "--pass", "",
				"--forcemem", "1024", "--forceswap", "0", "--nocolor", "--noask")
			// MySQLTuner exits non-zero when it ends on a warning; that it
			// got through its sections is what counts.
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), "Storage Engine Statistics") {
				b.Fatalf("mysqltuner did not run:\n%s", out)
			}
		}
	})
}
