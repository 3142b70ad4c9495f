package repository

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/storage/local"
)

// wholeCuts is the reference: the chunk lengths of data cut in one pass,
// one byte at a time, as the FastCDC paper states the algorithm.
func wholeCuts(g *gearChunker, data []byte) []int {
	var cuts []int
	for len(data) > 0 {
		n := min(len(data), g.max)
		c := n
		var h uint64
		for i := g.min; i < n; i++ {
			h = h<<1 + g.table[data[i]]
			mask := g.maskL
			if i < g.avg {
				mask = g.maskS
			}
			if h&mask == 0 {
				c = i + 1
				break
			}
		}
		cuts = append(cuts, c)
		data = data[c:]
	}
	return cuts
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestGearCutsLikeOnePass: however a part arrives (rows of a few bytes,
// odd pieces, one big write), the writer cuts it exactly where one pass
// over the whole stream does, and every chunk is within the bounds.
func TestGearCutsLikeOnePass(t *testing.T) {
	r, _ := testRepo(t)
	stream := append(randomBytes(1, 10<<20), bytes.Repeat([]byte(" "), 9<<20)...) // runs of one byte hit the maximum
	stream = append(stream, data(5, 3<<20)...)
	want := wholeCuts(r.cdc, stream)
	for _, piece := range []int{1 << 30, 70_001, 97, 3} {
		ctx := context.Background()
		w, err := r.NewBackup(ctx, BackupOptions{Database: "cdc", Type: Full})
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), piece)
			if piece == 3 && len(stream)-len(rest) > 512<<10 { // mix small and large writes
				n = min(len(rest), 1+rand.IntN(300_000))
			}
			if _, err := pw.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx, &engines.Snapshot{})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, c := range m.Parts[0].Chunks {
			got = append(got, int(c.Size))
		}
		if len(got) != len(want) {
			t.Fatalf("writes of %d bytes: %d chunks, one pass cuts %d", piece, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("writes of %d bytes: chunk %d is %d bytes, one pass cuts %d", piece, i, got[i], want[i])
			}
			if got[i] > chunkMax || (got[i] < int(defaultChunkSizes.min) && i != len(got)-1) {
				t.Fatalf("chunk %d: %d bytes, out of bounds", i, got[i])
			}
		}
		if m.Chunker != Chunker {
			t.Errorf("manifest chunker %q, want %q", m.Chunker, Chunker)
		}
		if b, err := readPart(t, r, m, "t"); err != nil || !bytes.Equal(b, stream) {
			t.Fatalf("read back %d bytes (want %d), err %v", len(b), len(stream), err)
		}
	}
}

// TestDifferentialNeedsSameChunker: a full cut by the Rabin chunker of
// earlier versions shares no chunks with new cuts, so it cannot be the base
// of a differential.
func TestDifferentialNeedsSameChunker(t *testing.T) {
	r, _ := testRepo(t)
	full := backupParts(t, r, Full, nil, map[string][]byte{"t": data(1, 1<<20)})
	old := *full
	old.Chunker = ""
	_, err := r.NewBackup(context.Background(), BackupOptions{Database: "queue", Type: Differential, Base: &old})
	if err == nil {
		t.Fatal("a differential on a full of another chunker was started")
	}
	t.Log(err)
}

// TestFormat1StillWorks: a repository of format 1 (HMAC-SHA256 chunk ids)
// keeps its ids: backups, differentials and check --read-data all work,
// and format 2 names the same content differently.
func TestFormat1StillWorks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := initVersion(ctx, st, pass, 1); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.Version != 1 {
		t.Fatalf("reopened as format %d", r.cfg.Version)
	}
	tickets := data(1, 16<<20) // several chunks whatever the key
	full := backupParts(t, r, Full, nil, map[string][]byte{"tickets": tickets})
	grown := append(append([]byte{}, tickets...), data(3, 60<<10)...)
	diff := backupParts(t, r, Differential, full, map[string][]byte{"tickets": grown})
	if diff.Stats.NewChunks >= full.Stats.Chunks {
		t.Errorf("differential wrote %d new chunks of %d: nothing shared", diff.Stats.NewChunks, full.Stats.Chunks)
	}
	if got, err := readPart(t, r, diff, "tickets"); err != nil || !bytes.Equal(got, grown) {
		t.Fatalf("format 1 read back: %d bytes, %v", len(got), err)
	}
	if res, err := r.Check(ctx, CheckOptions{ReadData: true}); err != nil || !res.OK() {
		t.Fatalf("check --read-data of a format 1 repository: %+v %v", res, err)
	}
	r2, _ := testRepo(t)
	if r2.cfg.Version != FormatVersion {
		t.Fatalf("new repository has format %d", r2.cfg.Version)
	}
	chunk := data(9, 1000)
	k1, _ := newKeys(1, r.keysEnc, r.keys.macKey)
	k2, _ := newKeys(2, r.keysEnc, r.keys.macKey)
	if k1.chunkID(chunk) == k2.chunkID(chunk) || len(k2.chunkID(chunk)) != 64 {
		t.Fatalf("format 1 and 2 ids: %s %s", k1.chunkID(chunk), k2.chunkID(chunk))
	}
}

// BenchmarkGearCut is the chunker alone over table text.
func BenchmarkGearCut(b *testing.B) {
	g := newGearChunker([]byte("key"), defaultChunkSizes)
	stream := tableStream(0, 400_000)
	b.SetBytes(int64(len(stream)))
	for range b.N {
		for d := stream; len(d) > 0; {
			c := g.cut(d, 0)
			if c == 0 {
				break
			}
			d = d[c:]
		}
	}
}
