package repository

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

// tableStream imitates a COPY stream of a table: rows of ids, names,
// timestamps and text, n rows from row `from`.
func tableStream(from, n int) []byte {
	var b bytes.Buffer
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "%d\t申请人%d\t2026-%02d-%02d 10:%02d:%02d+00\t个体工商户设立登记\t%x\n",
			i, i%9973, 1+i%12, 1+i%28, i%60, (i*7)%60, uint64(i)*0x9e3779b97f4a7c15)
	}
	return b.Bytes()
}

// BenchmarkChunkSizes measures, per average chunk size, the throughput of
// a full backup (chunking, hashing, compression, encryption, local writes)
// and what a differential stores after appending 2% of rows and after
// changing 0.1% of rows in place. It is how the default was chosen.
func BenchmarkChunkSizes(b *testing.B) {
	const rows = 400_000 // ~40 MB
	base := tableStream(0, rows)
	appended := append(append([]byte{}, base...), tableStream(rows, rows/50)...)
	scattered := append([]byte{}, base...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range rows / 1000 { // 0.1% of rows: flip a digit somewhere
		i := rng.IntN(len(scattered))
		if scattered[i] >= '0' && scattered[i] <= '8' {
			scattered[i]++
		}
	}
	for _, bits := range []int{18, 19, 20, 21} {
		b.Run(fmt.Sprintf("avg=%dKiB", (1<<bits)>>10), func(b *testing.B) {
			var full, app, scat *Manifest
			for range b.N {
				r, _ := testRepo(b)
				r.cdc = newGearChunker(r.keys.macKey, chunkSizes{min: uint(1<<bits) / 4, max: chunkMax, averageBits: bits})
				full = writeOne(b, r, Full, nil, base)
				app = writeOne(b, r, Differential, full, appended)
				scat = writeOne(b, r, Differential, full, scattered)
			}
			b.SetBytes(int64(len(base)))
			b.ReportMetric(100*float64(app.Stats.StoredBytes)/float64(full.Stats.StoredBytes), "%append2")
			b.ReportMetric(100*float64(scat.Stats.StoredBytes)/float64(full.Stats.StoredBytes), "%scatter0.1")
			b.ReportMetric(float64(full.Stats.Chunks), "chunks")
		})
	}
}

func writeOne(b *testing.B, r *Repo, typ string, base *Manifest, data []byte) *Manifest {
	b.Helper()
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{Database: "bench", Type: typ, Base: base})
	if err != nil {
		b.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	if _, err := pw.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkWriterThroughput is a full backup of a 40 MB table stream into
// local storage: chunking, hashing, compression, encryption, writes.
func BenchmarkWriterThroughput(b *testing.B) {
	data := tableStream(0, 400_000)
	r, _ := testRepo(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		writeOne(b, r, Full, nil, data)
	}
}

// BenchmarkReaderThroughput reads that backup back.
func BenchmarkReaderThroughput(b *testing.B) {
	data := tableStream(0, 400_000)
	r, _ := testRepo(b)
	m := writeOne(b, r, Full, nil, data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		rc, err := r.Source(m).Open(context.Background(), "t")
		if err != nil {
			b.Fatal(err)
		}
		var buf [1 << 16]byte
		for {
			_, err := rc.Read(buf[:])
			if err != nil {
				break
			}
		}
		rc.Close()
	}
}
