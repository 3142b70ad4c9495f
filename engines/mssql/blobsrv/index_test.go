package blobsrv

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// blob50k is a stripe at Azure's limit of 50,000 blocks (MaxBlocks), of
// uneven sizes (SQL Server's last block of a stripe is short; clients may
// send any size), some empty.
func blob50k() *Blob {
	r := rand.New(rand.NewPCG(50, 0))
	b := &Blob{Name: "big.bak", Blocks: make([]Block, MaxBlocks)}
	for i := range b.Blocks {
		size := int64(1 + r.IntN(64))
		if i%997 == 0 {
			size = 0
		}
		b.Blocks[i] = Block{ID: fmt.Sprint(i), Part: fmt.Sprintf("blocks/%06d", i+1), Size: size}
		b.Size += size
	}
	b.index()
	return b
}

// linearBlockAt is the walk the index replaces: the first non-empty block
// ending after off.
func linearBlockAt(b *Blob, off int64) (int, int64) {
	var start int64
	for i, blk := range b.Blocks {
		if off < start+blk.Size {
			return i, start
		}
		start += blk.Size
	}
	return len(b.Blocks), start
}

// TestBlockAt50000: at the 50,000-block limit the index finds, for every
// block's first and last byte and past the end, the block a walk of the
// list finds.
func TestBlockAt50000(t *testing.T) {
	b := blob50k()
	checked := 0
	var start int64
	for _, blk := range b.Blocks {
		for _, off := range []int64{start, start + blk.Size - 1} {
			if off < start || off >= b.Size {
				continue
			}
			gi, gs := b.blockAt(off)
			wi, ws := linearBlockAt(b, off)
			if gi != wi || gs != ws {
				t.Fatalf("byte %d: the index says block %d at %d, the walk block %d at %d", off, gi, gs, wi, ws)
			}
			checked++
		}
		start += blk.Size
	}
	if i, _ := b.blockAt(b.Size); i != len(b.Blocks) {
		t.Errorf("past the end: block %d, want %d", i, len(b.Blocks))
	}
	if checked < MaxBlocks {
		t.Fatalf("checked %d offsets, fewer than the %d blocks", checked, MaxBlocks)
	}
}

// BenchmarkBlockAt50000 finds the block of a ranged read in a stripe of
// 50,000 blocks, by the index and (sub-benchmark linear) by the walk the
// index replaced: a restore reads a stripe in about that many ranges, so
// the walk cost a restore O(blocks²).
func BenchmarkBlockAt50000(b *testing.B) {
	blob := blob50k()
	offs := make([]int64, 1024)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range offs {
		offs[i] = r.Int64N(blob.Size)
	}
	b.Run("index", func(b *testing.B) {
		for i := range b.N {
			blob.blockAt(offs[i%len(offs)])
		}
	})
	b.Run("linear", func(b *testing.B) {
		for i := range b.N {
			linearBlockAt(blob, offs[i%len(offs)])
		}
	})
}
