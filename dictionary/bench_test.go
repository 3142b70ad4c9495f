package dictionary_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/harness"
)

// BenchmarkDictionaryLarge: a database of 2,000 tables, 20,000 columns and
// 6,000 indexes (each table references the one before it, so every table
// gets an ER picture): the dictionary collected and rendered in every
// format, beside pg_dump --schema-only of the same database, the floor for
// reading a catalog that size. It reports the statements the collector
// sent, each step's seconds, pg_dump's, and the process's peak RSS.
// scripts/bench.sh runs it (make bench).
func BenchmarkDictionaryLarge(b *testing.B) {
	const tables = 2000
	pg := harness.SourcePostgres(b)
	name := randName("dictbench")
	pg.Exec(b, "postgres", "CREATE DATABASE "+name)
	b.Cleanup(func() { pg.Exec(b, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	var sql strings.Builder
	for i := 0; i < tables; i++ {
		fmt.Fprintf(&sql, "CREATE TABLE t%04d (id bigint PRIMARY KEY, ref bigint", i)
		for c := 2; c < 10; c++ {
			fmt.Fprintf(&sql, ", c%d text", c)
		}
		sql.WriteString(");\n")
		fmt.Fprintf(&sql, "CREATE INDEX t%04d_ref ON t%04d (ref); CREATE INDEX t%04d_c2 ON t%04d (c2);\n", i, i, i, i)
		if i > 0 {
			fmt.Fprintf(&sql, "ALTER TABLE t%04d ADD FOREIGN KEY (ref) REFERENCES t%04d (id);\n", i, i-1)
		}
		if i%2 == 0 {
			fmt.Fprintf(&sql, "COMMENT ON TABLE t%04d IS '表 %d'; COMMENT ON COLUMN t%04d.c2 IS '列';\n", i, i, i)
		}
		// One transaction per 100 tables: the lock table holds no more.
		if i%100 == 99 {
			pg.Exec(b, name, sql.String())
			sql.Reset()
		}
	}
	conn := engines.Conn{DSN: pg.DSN(name)}
	e, err := engines.New("postgres")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	// The soft memory limit dbopsd dict sets (cmd/dbopsd/dict.go).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(100 << 20))
	var steps map[string]time.Duration
	var queries int
	b.ResetTimer()
	for b.Loop() {
		steps = map[string]time.Duration{}
		start := time.Now()
		lap := func(step string) {
			steps[step] += time.Since(start)
			start = time.Now()
		}
		d, err := dictionary.Collect(ctx, e, conn, name, dictionary.Options{ExactRowsBelow: 100000})
		if err != nil {
			b.Fatal(err)
		}
		queries = d.Queries
		lap("collect")
		var out bytes.Buffer
		if err := dictionary.WriteJSON(&out, d); err != nil {
			b.Fatal(err)
		}
		lap("json")
		svgs, found, err := dictionary.Diagrams(ctx, d)
		if err != nil || !found {
			b.Fatalf("dot: %v %v", found, err)
		}
		lap("dot")
		doc := &dictionary.Document{Dict: d, Lang: i18n.ZH, Diagrams: svgs}
		out.Reset()
		if err := dictionary.HTML(&out, doc); err != nil {
			b.Fatal(err)
		}
		lap("html")
		if _, err := dictionary.WriteMarkdown(filepath.Join(dir, "md"), doc); err != nil {
			b.Fatal(err)
		}
		lap("md")
		out.Reset()
		if err := dictionary.XLSX(&out, doc); err != nil {
			b.Fatal(err)
		}
		lap("xlsx")
		if len(d.Tables) != tables {
			b.Fatalf("%d tables", len(d.Tables))
		}
	}
	b.StopTimer()
	pgStart := time.Now()
	cmd := exec.Command(filepath.Join(pg.BinDir, "pg_dump"), "--schema-only", "-f", filepath.Join(dir, "schema.sql"), pg.DSN(name))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("pg_dump: %v\n%s", err, out)
	}
	pgDump := time.Since(pgStart)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(queries), "queries")
	for _, s := range []string{"collect", "json", "dot", "html", "md", "xlsx"} {
		b.ReportMetric(steps[s].Seconds(), s+"-s")
	}
	b.ReportMetric(pgDump.Seconds(), "pg_dump-s")
	b.ReportMetric((steps["collect"]+steps["json"]).Seconds()/pgDump.Seconds(), "json/pg_dump")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}
