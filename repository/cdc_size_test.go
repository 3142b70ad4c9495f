// The race detector adds nothing to this single-goroutine test and makes
// its byte-at-a-time reference scan ten times slower; the race pass of
// `make test` runs the concurrent writer tests instead.

//go:build !race

package repository

import (
	"crypto/sha256"
	"testing"
)

// TestGearChunkSizes: on random data the average chunk is near the 2 MiB
// aimed at, an insertion changes only the chunks around it, and another key
// cuts elsewhere. (Fixed keys: the figures do not vary from run to run.)
func TestGearChunkSizes(t *testing.T) {
	g := newGearChunker([]byte("a fixed test key"), defaultChunkSizes)
	stream := randomBytes(2, 64<<20)
	cuts := wholeCuts(g, stream)
	avg := len(stream) / len(cuts)
	t.Logf("%d chunks, average %d KiB", len(cuts), avg>>10)
	if want := 1 << defaultChunkSizes.averageBits; avg < want*2/3 || avg > want*3/2 {
		t.Errorf("average chunk %d KiB, want about %d", avg>>10, want>>10)
	}
	ids := func(b []byte) map[[32]byte]bool {
		out := map[[32]byte]bool{}
		for _, c := range wholeCuts(g, b) {
			out[sha256.Sum256(b[:c])] = true
			b = b[c:]
		}
		return out
	}
	before := ids(stream)
	edited := append(append(append([]byte{}, stream[:30<<20]...), "INSERTED ROW\n"...), stream[30<<20:]...)
	after := ids(edited)
	changed := 0
	for id := range after {
		if !before[id] {
			changed++
		}
	}
	if changed > 2 {
		t.Errorf("an insertion changed %d chunks of %d", changed, len(after))
	}
	other := newGearChunker([]byte("another key"), defaultChunkSizes)
	if o := wholeCuts(other, stream); len(o) > 1 && o[0] == cuts[0] && o[1] == cuts[1] {
		t.Errorf("two keys cut the same boundaries: the gear table does not depend on the key")
	}
}
