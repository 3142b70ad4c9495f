package repository

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// writeAccounts streams n pgbench_accounts-like rows (aid, bid, abalance,
// filler) into a part. The rows in changed, abalance+1, come last in the
// order given, as PostgreSQL's heap holds them after an update moved them.
func writeAccounts(b *testing.B, r *Repo, typ string, base *Manifest, n int, changed []int) *Manifest {
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{Database: "bench", Engine: "postgres", Type: typ, Base: base, TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "data/public.pgbench_accounts", Kind: engines.KindTable,
		Table: &engines.TableRef{Schema: "public", Name: "pgbench_accounts"}, Format: "copy-text", Shape: "3:x"})
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(pw, 64<<10)
	var line []byte
	put := func(aid, bal int) {
		line = strconv.AppendInt(line[:0], int64(aid), 10)
		line = append(line, '\t')
		line = strconv.AppendInt(line, int64(aid/100000+1), 10)
		line = append(line, '\t')
		line = strconv.AppendInt(line, int64(bal), 10)
		line = append(line, "\t                                                                                    \n"...)
		bw.Write(line)
	}
	moved := make(map[int]bool, len(changed))
	for _, aid := range changed {
		moved[aid] = true
	}
	for aid := 1; aid <= n; aid++ {
		if !moved[aid] {
			put(aid, 0)
		}
	}
	for _, aid := range changed {
		put(aid, 1)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func peakRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

// BenchmarkRowDifferential: a full of ROWDIFF_ROWS (default 10 million)
// narrow rows, then 1 % of them updated at random, as a row-level
// differential; reports both sizes and the process's peak RSS, the bound
// the README states (200 MB for 10 million rows).
func BenchmarkRowDifferential(b *testing.B) {
	n := 10_000_000
	if s := os.Getenv("ROWDIFF_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for range b.N {
		r, _ := testRepo(b)
		start := time.Now()
		full := writeAccounts(b, r, Full, nil, n, nil)
		fullTime := time.Since(start)
		rng := rand.New(rand.NewPCG(1, 1))
		seen := map[int]bool{}
		var changed []int
		for len(changed) < n/100 {
			if aid := rng.IntN(n) + 1; !seen[aid] {
				seen[aid] = true
				changed = append(changed, aid)
			}
		}
		start = time.Now()
		diff := writeAccounts(b, r, Differential, full, n, changed)
		diffTime := time.Since(start)
		p, _ := diff.Part("data/public.pgbench_accounts")
		b.ReportMetric(float64(diff.Stats.StoredBytes)/float64(full.Stats.StoredBytes)*100, "%-of-full")
		b.ReportMetric(diffTime.Seconds()/fullTime.Seconds(), "x-full-time")
		fmt.Printf("rows=%d full_stored=%d diff_stored=%d (%.1f%%) method=%s (%s) full %s, differential %s (%.2fx) peak_rss=%s\n",
			n, full.Stats.StoredBytes, diff.Stats.StoredBytes, float64(diff.Stats.StoredBytes)/float64(full.Stats.StoredBytes)*100,
			p.Method, p.MethodReason, fullTime.Round(time.Millisecond), diffTime.Round(time.Millisecond), diffTime.Seconds()/fullTime.Seconds(), peakRSS())
		rc, err := r.Source(diff).Open(context.Background(), p.Name)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		lines := 0
		for sc.Scan() {
			lines++
		}
		rc.Close()
		if sc.Err() != nil || lines != n {
			b.Fatalf("read back %d rows of %d: %v", lines, n, sc.Err())
		}
		fmt.Printf("restored %d rows; peak_rss=%s\n", lines, peakRSS())
	}
}
