// Package rowset sorts row fingerprints in bounded memory: the external
// sort behind row-level differentials (ARCHITECTURE.md, "Row-level
// differentials").
//
// A table of n rows gives n entries of EntrySize bytes. The sorter keeps at
// most RunEntries of them in memory, writes each full buffer sorted to a run
// file in its directory (sealed: sealed.go), and merges the runs when asked:
// the buffer is let go, and each run holds one block read (256 KiB
// decoded, its sealed form and a 64 KiB read buffer): 4 Mi entries, 16
// runs, allocated 7.6 MiB to start merging (measured). 10 million
// rows are 40 runs of 6 MiB: about 20 MiB of memory while they merge, and
// at most 240 MB of temporary disk.
package rowset

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Entry is one row: its fingerprint and check bits (the keyed hash of its
// whole line), its length and its position in the stream.
type Entry struct {
	FP    uint64
	Check uint32
	Len   uint32
	Idx   uint64
}

// Compare orders entries by fingerprint, then check bits, then position.
func Compare(a, b Entry) int {
	if c := cmp.Compare(a.FP, b.FP); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Check, b.Check); c != 0 {
		return c
	}
	return cmp.Compare(a.Idx, b.Idx)
}

// EntrySize is an entry's size in a run file.
const EntrySize = 24

// runsCompressed: the runs' blocks are compressed before they are sealed
// (the lengths, positions and check bits beside the random fingerprints).
const runsCompressed = true

// RunEntries is how many entries a sorter holds in memory (6 MiB): a
// differential runs two sorters per part and parts in parallel, and the Go
// heap may grow to twice what is live.
var RunEntries = 256 << 10

func put(b []byte, e Entry) {
	binary.BigEndian.PutUint64(b[0:], e.FP)
	binary.BigEndian.PutUint32(b[8:], e.Check)
	binary.BigEndian.PutUint32(b[12:], e.Len)
	binary.BigEndian.PutUint64(b[16:], e.Idx)
}

func get(b []byte) Entry {
	return Entry{FP: binary.BigEndian.Uint64(b[0:]), Check: binary.BigEndian.Uint32(b[8:]),
		Len: binary.BigEndian.Uint32(b[12:]), Idx: binary.BigEndian.Uint64(b[16:])}
}

// Sorter collects entries and returns them sorted. It is used by one
// goroutine.
type Sorter struct {
	dir  string
	seal *Sealer
	buf  []Entry
	runs []*File
	n    int64
	tmp  []Entry // the radix sort's second buffer
}

// NewSorter returns a sorter that spills its runs into dir, sealed by seal.
func NewSorter(dir string, seal *Sealer) *Sorter { return &Sorter{dir: dir, seal: seal} }

// Add adds one entry.
func (s *Sorter) Add(e Entry) error {
	if s.buf == nil {
		s.buf = make([]Entry, 0, min(RunEntries, 4096))
	}
	s.buf = append(s.buf, e)
	s.n++
	if len(s.buf) >= RunEntries {
		return s.flush()
	}
	return nil
}

// Len is the number of entries added.
func (s *Sorter) Len() int64 { return s.n }

func (s *Sorter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	s.sort()
	f, err := s.seal.Create(s.dir, "run-*", runsCompressed)
	if err != nil {
		return fmt.Errorf("spilling row fingerprints: %w", err)
	}
	// A crash leaves the file for the next backup's cleanup, a normal end
	// removes it in Close.
	s.runs = append(s.runs, f)
	var b [EntrySize]byte
	for _, e := range s.buf {
		put(b[:], e)
		if _, err = f.Write(b[:]); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Finish()
	}
	if err != nil {
		return fmt.Errorf("spilling row fingerprints to %s: %w", f.Name(), err)
	}
	s.buf = s.buf[:0]
	return nil
}

// Sorted returns an iterator over every entry added, in Compare order.
// Nothing may be added afterwards.
func (s *Sorter) Sorted() (*Iter, error) {
	if len(s.runs) == 0 {
		s.sort()
		return &Iter{mem: s.buf}, nil
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	s.buf, s.tmp = nil, nil // the runs hold everything now
	it := &Iter{}
	for _, f := range s.runs {
		r := &run{r: f.Reader()} // a File buffers a whole block: no bufio
		ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if ok {
			it.h = append(it.h, r)
		}
	}
	heap.Init(&it.h)
	return it, nil
}

// Close removes the run files.
func (s *Sorter) Close() error {
	var errs []error
	for _, f := range s.runs {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.runs, s.buf, s.tmp = nil, nil, nil
	return errors.Join(errs...)
}

// sort sorts the buffer in Compare order: a stable LSD radix sort on the
// check bits, then the fingerprint, of entries added in Idx order. It is
// three times as fast as a comparison sort here, and skips the bytes all
// entries share (narrow test fingerprints, check bits of 16).
func (s *Sorter) sort() {
	if len(s.buf) < 256 {
		slices.SortFunc(s.buf, Compare)
		return
	}
	if cap(s.tmp) < len(s.buf) {
		s.tmp = make([]Entry, len(s.buf))
	}
	src, dst := s.buf, s.tmp[:len(s.buf)]
	pass := func(key func(Entry) byte) {
		var count [256]int
		for _, e := range src {
			count[key(e)]++
		}
		for _, c := range count {
			if c == len(src) {
				return // every entry has this byte
			}
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, e := range src {
			k := key(e)
			dst[count[k]] = e
			count[k]++
		}
		src, dst = dst, src
	}
	for shift := 0; shift < 32; shift += 8 {
		pass(func(e Entry) byte { return byte(e.Check >> shift) })
	}
	for shift := 0; shift < 64; shift += 8 {
		pass(func(e Entry) byte { return byte(e.FP >> shift) })
	}
	if &src[0] != &s.buf[0] {
		copy(s.buf, src)
	}
}

type run struct {
	r   io.Reader
	cur Entry
	b   [EntrySize]byte
}

func (r *run) next() (bool, error) {
	if _, err := io.ReadFull(r.r, r.b[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("reading spilled row fingerprints: %w", err)
	}
	r.cur = get(r.b[:])
	return true, nil
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return Compare(h[i].cur, h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Iter yields sorted entries.
type Iter struct {
	mem []Entry
	h   runHeap
}

// Next returns the next entry; ok is false at the end.
func (it *Iter) Next() (e Entry, ok bool, err error) {
	if it.h == nil {
		if len(it.mem) == 0 {
			return Entry{}, false, nil
		}
		e, it.mem = it.mem[0], it.mem[1:]
		return e, true, nil
	}
	if len(it.h) == 0 {
		return Entry{}, false, nil
	}
	top := it.h[0]
	e = top.cur
	more, err := top.next()
	if err != nil {
		return Entry{}, false, err
	}
	if more {
		heap.Fix(&it.h, 0)
	} else {
		heap.Pop(&it.h)
	}
	return e, true, nil
}
