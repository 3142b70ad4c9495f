package repository

import (
	"crypto/sha256"
	"math/rand/v2"
)

// Chunker names the content-defined chunking that this code writes with. A
// manifest records the chunking of its chunks: a differential only shares
// chunks with a full cut the same way, so backup planning takes a new full
// when the generation's full was cut otherwise (see Manifest.Chunker).
const Chunker = "fastcdc-gear-v1"

// gearChunker finds chunk boundaries with FastCDC's gear hash and normalized
// chunking (Xia et al., "FastCDC", USENIX ATC 2016). The hash is one shift
// and one table lookup per byte, several times cheaper than a Rabin
// fingerprint, and it depends only on the last 64 bytes, so a boundary
// depends only on nearby content: an insertion moves the boundaries around
// it and no others.
//
// The gear table is derived from the repository's MAC key, so boundaries
// (and with them chunk sizes) do not reveal content to the storage operator
// any more than the chunk ids do.
type gearChunker struct {
	table         [256]uint64
	min, avg, max int
	// Normalized chunking: a boundary is harder to find before the average
	// size (maskS has two more bits) and easier after it (maskL two fewer),
	// which narrows the spread of chunk sizes around the average.
	maskS, maskL uint64
}

func newGearChunker(macKey []byte, s chunkSizes) *gearChunker {
	seed := sha256.Sum256(append([]byte("dbopsd fastcdc gear table v1\x00"), macKey...))
	rng := rand.NewChaCha8(seed)
	g := &gearChunker{min: int(s.min), avg: 1 << s.averageBits, max: int(s.max)}
	for i := range g.table {
		g.table[i] = rng.Uint64()
	}
	// The top bits of the hash depend on the most bytes (bit 63 on the last
	// 64), so the masks test those.
	g.maskS = ^uint64(0) << (64 - (s.averageBits + 2))
	g.maskL = ^uint64(0) << (64 - (s.averageBits - 2))
	return g
}

// cut returns the length of the chunk that starts at data[0], or 0 when data
// holds no boundary yet (none found and shorter than the largest chunk).
// Positions before from were scanned by an earlier call that found none;
// since the hash only remembers 64 bytes, scanning resumes 64 bytes before
// from and finds exactly what one scan of the whole of data would.
func (g *gearChunker) cut(data []byte, from int) int {
	n := min(len(data), g.max)
	if n <= g.min {
		return 0
	}
	data = data[:n]
	tab := &g.table
	i := max(g.min, from-64)
	var h uint64
	for ; i < from && i < n; i++ { // warm up over bytes already tested
		h = h<<1 + tab[data[i]]
	}
	var c int
	if c, i, h = scan(data, i, min(g.avg, n), h, tab, g.maskS); c > 0 {
		return c
	}
	if c, _, _ = scan(data, i, n, h, tab, g.maskL); c > 0 {
		return c
	}
	if n == g.max {
		return n
	}
	return 0
}

// scan rolls the hash h over data[i:end] and returns the position after the
// first byte where the bits of mask are all zero (0: none), with i and h
// where it stopped. Two bytes a step: the hash after the second byte is
// computed from the hash before the first, which halves the chain of
// dependent instructions (BenchmarkGearCut: 1.5x as fast as a byte at a
// time).
func scan(data []byte, i, end int, h uint64, tab *[256]uint64, mask uint64) (int, int, uint64) {
	data = data[:end]
	for ; i+1 < len(data); i += 2 {
		a, b := tab[data[i]], tab[data[i+1]]
		h1 := h<<1 + a
		h = h<<2 + (a<<1 + b)
		if h1&mask == 0 {
			return i + 1, i, h
		}
		if h&mask == 0 {
			return i + 2, i, h
		}
	}
	for ; i < len(data); i++ {
		h = h<<1 + tab[data[i]]
		if h&mask == 0 {
			return i + 1, i, h
		}
	}
	return 0, i, h
}
