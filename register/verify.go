package register

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
)

// Problem kinds.
const (
	ProblemMalformed  = "malformed"  // the line is not an entry
	ProblemIncomplete = "incomplete" // the last line has no newline: an interrupted write
	ProblemEdited     = "edited"     // the entry does not match its own hash, or is not in canonical form
	ProblemDeleted    = "deleted"    // entries are missing: a gap in the sequence
	ProblemInserted   = "inserted"   // an entry that does not belong to the chain
	ProblemReordered  = "reordered"  // an entry out of sequence order
	ProblemChain      = "chain"      // the entry does not follow the one before it
	ProblemTruncated  = "truncated"  // entries an anchor records are gone from the end
	ProblemAnchor     = "anchor"     // an anchored entry was rewritten
)

// Problem is one sign of tampering or damage.
type Problem struct {
	Line   int    `json:"line"` // 1-based; for a truncation, the line after the last
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s: %s", p.Line, p.Kind, p.Detail) }

// Report is the outcome of Verify.
type Report struct {
	Lines    int       `json:"lines"`
	Head     Head      `json:"head"`
	Anchors  int       `json:"anchors_checked"`
	Problems []Problem `json:"problems"` // by line; the first names the first bad line
}

// OK reports whether the register is intact.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// VerifyFile verifies the register at path; see Verify.
func VerifyFile(path string, anchors []Anchor) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifying restore register: %w", err)
	}
	defer f.Close()
	rep, err := Verify(f, anchors)
	if err != nil {
		return nil, fmt.Errorf("verifying restore register %s: %w", path, err)
	}
	return rep, nil
}

type line struct {
	n        int
	raw      []byte
	e        Entry
	err      error // from decoding
	complete bool
}

// Verify checks a register: every line an entry in canonical form that
// matches its hash; sequence numbers 1, 2, 3... in file order, without gaps
// or repeats; each entry's Prev the hash of the entry before it; every
// anchor's entry present and unchanged. The error is for I/O only: damage
// and tampering are Problems.
//
// Out-of-order entries are found as those outside the longest run of
// sequence numbers that increases through the file, so that one moved line
// is reported once, not as a cascade.
func Verify(rd io.Reader, anchors []Anchor) (*Report, error) {
	var lines []line
	err := scanLines(rd, func(n int, raw []byte, complete bool) error {
		l := line{n: n, raw: raw, complete: complete}
		l.e, l.err = decode(raw)
		if l.err == nil && l.e.Seq <= 0 {
			l.err = fmt.Errorf("seq %d is not positive", l.e.Seq)
		}
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return check(lines, anchors), nil
}

func check(lines []line, anchors []Anchor) *Report {
	rep := &Report{Lines: len(lines), Head: Head{Hash: GenesisPrev}}
	add := func(n int, kind, format string, a ...any) {
		rep.Problems = append(rep.Problems, Problem{Line: n, Kind: kind, Detail: fmt.Sprintf(format, a...)})
	}

	// The usable lines, and where each sequence number is.
	bySeq := map[int64][]int{}
	for i, l := range lines {
		switch {
		case !l.complete:
			add(l.n, ProblemIncomplete, "the last line has no newline: a write was interrupted (opening the register removes it and records the repair)")
		case l.err != nil:
			add(l.n, ProblemMalformed, "not a register entry: %v", l.err)
		default:
			bySeq[l.e.Seq] = append(bySeq[l.e.Seq], i)
		}
	}
	// Of several lines with one sequence number, the genuine one is the one
	// the next entry chains from (else the first); the others were inserted.
	genuine := map[int64]int{}
	for seq, idx := range bySeq {
		genuine[seq] = idx[0]
		if len(idx) < 2 {
			continue
		}
		if next := bySeq[seq+1]; len(next) > 0 {
			for _, i := range idx {
				if lines[i].e.Hash == lines[next[0]].e.Prev {
					genuine[seq] = i
					break
				}
			}
		}
	}
	hashOf := func(seq int64) (hash string, lineNo int, ok bool) {
		if seq == 0 {
			return GenesisPrev, 0, true
		}
		i, ok := genuine[seq]
		if !ok {
			return "", 0, false
		}
		return lines[i].e.Hash, lines[i].n, true
	}

	var candidates []int // indexes of genuine lines, in file order
	for i, l := range lines {
		if !l.complete || l.err != nil {
			continue
		}
		e := l.e
		if !bytes.Equal(e.line(), l.raw) {
			add(l.n, ProblemEdited, "entry seq %d is not in the exact form the register writes: it was changed by hand", e.Seq)
		} else if e.ComputeHash() != e.Hash {
			add(l.n, ProblemEdited, "entry seq %d does not match its hash: it was changed after it was written", e.Seq)
		}
		if g := genuine[e.Seq]; g != i {
			add(l.n, ProblemInserted, "seq %d is also at line %d, and this copy is not the one the chain continues from", e.Seq, lines[g].n)
			continue
		}
		candidates = append(candidates, i)
	}

	inOrder := increasingRun(lines, candidates)
	var prevSeq int64
	for _, i := range candidates {
		l := lines[i]
		e := l.e
		if !inOrder[i] {
			kind, how := ProblemReordered, "moved"
			if h, _, ok := hashOf(e.Seq - 1); !ok || h != e.Prev {
				kind, how = ProblemInserted, "inserted"
			}
			after := "at the start"
			if prevSeq > 0 {
				after = fmt.Sprintf("after seq %d", prevSeq)
			}
			add(l.n, kind, "entry seq %d is out of sequence order (%s): it was %s", e.Seq, after, how)
			continue
		}
		if e.Seq > prevSeq+1 {
			var missing []int64
			for s := prevSeq + 1; s < e.Seq; s++ {
				if _, present := genuine[s]; !present {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				add(l.n, ProblemDeleted, "%s missing before entry seq %d: deleted", seqRange(missing), e.Seq)
			}
		}
		if h, prevLine, ok := hashOf(e.Seq - 1); ok && h != e.Prev {
			where := "the first entry"
			if e.Seq > 1 {
				where = fmt.Sprintf("entry seq %d (line %d)", e.Seq-1, prevLine)
			}
			add(l.n, ProblemChain, "entry seq %d does not follow %s: that entry was rewritten with a new hash, or this one was forged", e.Seq, where)
		}
		prevSeq = e.Seq
		rep.Head = Head{Seq: e.Seq, Hash: e.Hash}
	}

	for _, a := range anchors {
		rep.Anchors++
		h, n, ok := hashOf(a.Seq)
		switch {
		case a.Seq > rep.Head.Seq:
			add(len(lines)+1, ProblemTruncated, "the register ends at seq %d, but the anchor %s (written %s) records seq %d: entries were removed from the end",
				rep.Head.Seq, a.Key, a.Time.UTC().Format("2006-01-02 15:04:05Z"), a.Seq)
		case !ok:
			// Reported above as deleted.
		case h != a.Hash:
			add(n, ProblemAnchor, "entry seq %d does not match the anchor %s (written %s): the register was rewritten from here or earlier",
				a.Seq, a.Key, a.Time.UTC().Format("2006-01-02 15:04:05Z"))
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Line < rep.Problems[j].Line })
	return rep
}

// increasingRun marks the candidates on a longest strictly increasing run of
// sequence numbers (patience sorting). Where two lines were swapped it keeps
// the later one, so the first bad line reported is the first one moved.
func increasingRun(lines []line, candidates []int) map[int]bool {
	var tails []int // tails[k]: candidate index ending the best run of length k+1
	pred := make(map[int]int, len(candidates))
	for _, i := range candidates {
		seq := lines[i].e.Seq
		k := sort.Search(len(tails), func(k int) bool { return lines[tails[k]].e.Seq >= seq })
		if k > 0 {
			pred[i] = tails[k-1]
		} else {
			pred[i] = -1
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	in := make(map[int]bool, len(tails))
	if len(tails) == 0 {
		return in
	}
	for i := tails[len(tails)-1]; i >= 0; i = pred[i] {
		in[i] = true
	}
	return in
}

func seqRange(s []int64) string {
	if len(s) == 1 {
		return fmt.Sprintf("entry seq %d is", s[0])
	}
	if s[len(s)-1]-s[0] == int64(len(s)-1) {
		return fmt.Sprintf("entries seq %d to %d are", s[0], s[len(s)-1])
	}
	return fmt.Sprintf("%d entries (seq %d ...) are", len(s), s[0])
}
