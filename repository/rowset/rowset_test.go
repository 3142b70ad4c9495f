package rowset

import (
	"math/rand/v2"
	"os"
	"testing"
)

// TestSortedAcrossRuns: whatever the number of runs, every entry comes back
// once, in order, and Close leaves no file.
func TestSortedAcrossRuns(t *testing.T) {
	defer func(n int) { RunEntries = n }(RunEntries)
	for _, runEntries := range []int{1 << 20, 1000, 7} {
		RunEntries = runEntries
		dir := t.TempDir()
		s := NewSorter(dir)
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		for i := range n {
			if err := s.Add(Entry{FP: rng.Uint64() % 5000, Check: rng.Uint32() % 3, Idx: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		it, err := s.Sorted()
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, n)
		var prev Entry
		for i := 0; ; i++ {
			e, ok, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				if i != n {
					t.Fatalf("runs of %d: %d entries back, want %d", runEntries, i, n)
				}
				break
			}
			if i > 0 && Compare(prev, e) >= 0 {
				t.Fatalf("runs of %d: entry %d out of order: %+v after %+v", runEntries, i, e, prev)
			}
			if seen[e.Idx] {
				t.Fatalf("entry %d twice", e.Idx)
			}
			seen[e.Idx], prev = true, e
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("runs of %d: %d files left", runEntries, len(left))
		}
	}
}
