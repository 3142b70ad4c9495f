package blobsrv_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/storage"
)

// The listener's figures (make bench): the same 32 MiB stripe, in SQL
// Server's 4 MiB blocks four at a time, (1) sent by the azblob client
// through the listener into a repository backup, (2) written straight into
// a repository backup as the same parts, (3) written to the same storage
// as plain objects. (1) against (2) is what the listener costs; the issue's
// aim is (1) within 1.2x of (3) on one core (GOMAXPROCS=1).

const (
	benchStripe = 32 << 20
	benchBlock  = 4 << 20
)

func BenchmarkBlobListener(b *testing.B) {
	g := newRig(b)
	ctx := context.Background()
	data := stripeData(7, benchStripe)
	b.SetBytes(benchStripe)
	b.ResetTimer()
	for i := range b.N {
		w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "bench", Engine: "mssql", Type: repository.Full})
		if err != nil {
			b.Fatal(err)
		}
		c := g.srv.Receive(ctx, w, "blocks/", time.Now().Add(time.Hour))
		if err := uploadStripe(ctx, g.blockClient(b, c, fmt.Sprintf("bench_%d.bak", i), c.SAS()), data, benchBlock, 4); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Commit(ctx, &engines.Snapshot{Engine: "mssql"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlobListenerBaselineRepository(b *testing.B) {
	g := newRig(b)
	ctx := context.Background()
	data := stripeData(7, benchStripe)
	b.SetBytes(benchStripe)
	b.ResetTimer()
	for range b.N {
		w, err := g.repo.NewBackup(ctx, repository.BackupOptions{Database: "bench", Engine: "mssql", Type: repository.Full})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += benchBlock {
			pw, err := w.CreatePart(ctx, engines.PartInfo{Name: fmt.Sprintf("blocks/%06d", off/benchBlock), Kind: engines.KindNative})
			if err != nil {
				b.Fatal(err)
			}
			pw.Write(data[off:min(off+benchBlock, len(data))])
			if err := pw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, &engines.Snapshot{Engine: "mssql"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlobListenerBaselineStorage(b *testing.B) {
	g := newRig(b)
	ctx := context.Background()
	data := stripeData(7, benchStripe)
	st := g.repo.Storage()
	b.SetBytes(benchStripe)
	b.ResetTimer()
	for i := range b.N {
		for off := 0; off < len(data); off += benchBlock {
			blk := data[off:min(off+benchBlock, len(data))]
			if err := st.Put(ctx, fmt.Sprintf("bench/%d/%06d", i, off/benchBlock), bytes.NewReader(blk), int64(len(blk)), storage.PutOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
