package rowset

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestSortedAcrossRuns: whatever the number of runs, every entry comes back
// once, in order, and Close leaves no file.
func TestSortedAcrossRuns(t *testing.T) {
	defer func(n int) { RunEntries = n }(RunEntries)
	seal, err := NewSealer()
	if err != nil {
		t.Fatal(err)
	}
	for _, runEntries := range []int{1 << 20, 1000, 7} {
		RunEntries = runEntries
		dir := t.TempDir()
		s := NewSorter(dir, seal)
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

// TestSealedFile: what is written comes back whole, read as often as
// needed, compressed or not; the file on disk holds none of it in
// plaintext; a changed byte or a file cut short fails the read; the
// sealer counts every byte its files wrote, removed ones included.
func TestSealedFile(t *testing.T) {
	seal, err := NewSealer()
	if err != nil {
		t.Fatal(err)
	}
	const secretRow = "42\tZhang San\t110101199003077777\n"
	want := bytes.Repeat([]byte(secretRow), 30000) // several blocks
	var written int64
	for _, compress := range []bool{true, false} {
		dir := t.TempDir()
		f, err := seal.Create(dir, "part-*", compress)
		if err != nil {
			t.Fatal(err)
		}
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 10_007)
			if _, err := f.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := f.Finish(); err != nil {
			t.Fatal(err)
		}
		written += f.Size()
		for range 2 {
			got, err := io.ReadAll(f.Reader())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("compress %v: %d bytes back of %d: %v", compress, len(got), len(want), err)
			}
		}
		disk, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(disk)) != f.Size() || len(disk) == 0 {
			t.Fatalf("size on disk %d, Size says %d", len(disk), f.Size())
		}
		for _, plain := range []string{"Zhang San", "110101199003077777"} {
			if bytes.Contains(disk, []byte(plain)) {
				t.Fatalf("compress %v: %q in plaintext on disk", compress, plain)
			}
		}
		if compress && len(disk) > len(want)/10 {
			t.Errorf("compressed: %d bytes on disk for %d", len(disk), len(want))
		}
		// A byte changed, then the file cut short: both fail.
		disk[len(disk)/2] ^= 1
		os.WriteFile(f.Name(), disk, 0o600)
		if _, err := io.ReadAll(f.Reader()); err == nil {
			t.Fatalf("compress %v: a changed byte went unnoticed", compress)
		}
		disk[len(disk)/2] ^= 1
		os.WriteFile(f.Name(), disk[:len(disk)-100], 0o600)
		if _, err := io.ReadAll(f.Reader()); err == nil {
			t.Fatalf("compress %v: a file cut short went unnoticed", compress)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("%d files left after Close", len(left))
		}
	}
	if seal.Written() != written || written == 0 {
		t.Fatalf("the sealer counts %d bytes written, its files %d", seal.Written(), written)
	}
}
