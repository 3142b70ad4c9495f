package register

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
)

var t0 = time.Date(2026, 3, 1, 2, 15, 0, 0, time.UTC)

// newRegister opens a register whose clock advances a second per entry.
func newRegister(t *testing.T) *Register {
	t.Helper()
	r, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	clock := t0
	var mu sync.Mutex
	r.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	return r
}

func mustAppend(t *testing.T, r *Register, e Entry) Entry {
	t.Helper()
	e, err := r.Append(e)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fill appends n entries of a request's life.
func fill(t *testing.T, r *Register, n int) {
	t.Helper()
	for i := range n {
		mustAppend(t, r, Entry{Kind: Received, Request: fmt.Sprintf("R%d", i), Action: "restore", Database: "queue",
			Target: "standby-pg", As: fmt.Sprintf("queue_%d", i), Requester: "zhang.wei", Reason: "误删数据"})
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")[:bytes.Count(b, []byte("\n"))]
}

func verifyLines(t *testing.T, lines []string, anchors []Anchor) *Report {
	t.Helper()
	rep, err := Verify(strings.NewReader(strings.Join(lines, "")), anchors)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAppendChainsAndSurvivesReopen(t *testing.T) {
	r := newRegister(t)
	fill(t, r, 3)
	if fi, err := os.Stat(r.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("register file mode: %v %v", fi.Mode(), err)
	}
	r.Close()
	r2, err := OpenFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	e := mustAppend(t, r2, Entry{Kind: Refused, Ref: 1, Refusal: "expired"})
	if e.Seq != 4 {
		t.Fatalf("seq after reopen: %d", e.Seq)
	}
	lines := readLines(t, r.Path())
	first, _ := decode([]byte(strings.TrimSpace(lines[0])))
	third, _ := decode([]byte(strings.TrimSpace(lines[2])))
	if first.Prev != GenesisPrev || e.Prev != third.Hash {
		t.Fatal("entries do not chain")
	}
	rep, err := VerifyFile(r.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Head.Seq != 4 || rep.Head.Hash != e.Hash || rep.Lines != 4 {
		t.Fatalf("verify: %+v", rep)
	}
}

// TestTampering changes a good register in every way a person with write
// access might, and checks that Verify names the first bad line.
func TestTampering(t *testing.T) {
	r := newRegister(t)
	fill(t, r, 8)
	good := readLines(t, r.Path())
	entry := func(i int) Entry {
		e, err := decode([]byte(strings.TrimSuffix(good[i], "\n")))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	lineOf := func(e Entry) string { return string(e.line()) + "\n" }
	rehash := func(e Entry) string { e.Hash = e.ComputeHash(); return lineOf(e) }
	without := func(i int) []string { return append(append([]string{}, good[:i]...), good[i+1:]...) }
	insert := func(i int, l string) []string {
		return append(append(append([]string{}, good[:i]...), l), good[i:]...)
	}
	with := func(i int, l string) []string {
		out := append([]string{}, good...)
		out[i] = l
		return out
	}

	cases := []struct {
		name     string
		lines    []string
		anchors  []Anchor
		wantLine int
		wantKind string
	}{
		{"edited a value", with(2, strings.Replace(good[2], "queue_2", "queue_X", 1)), nil, 3, ProblemEdited},
		{"edited the reason in Chinese", with(4, strings.Replace(good[4], "误删数据", "例行演练", 1)), nil, 5, ProblemEdited},
		{"edited whitespace only", with(2, strings.Replace(good[2], `,"kind"`, `, "kind"`, 1)), nil, 3, ProblemEdited},
		{"added an unknown field", with(2, strings.Replace(good[2], `{"seq"`, `{"x":1,"seq"`, 1)), nil, 3, ProblemMalformed},
		{"edited and re-hashed", with(2, rehash(func() Entry { e := entry(2); e.Requester = "li.na"; return e }())), nil, 4, ProblemChain},
		{"deleted a middle entry", without(3), nil, 4, ProblemDeleted},
		{"deleted the first entry", without(0), nil, 1, ProblemDeleted},
		{"deleted two entries", append(append([]string{}, good[:3]...), good[5:]...), nil, 4, ProblemDeleted},
		{"inserted a copy", insert(5, good[1]), nil, 6, ProblemInserted},
		{"inserted a forged entry with a taken seq", insert(3, rehash(func() Entry { e := entry(3); e.As = "forged"; return e }())), nil, 4, ProblemInserted},
		{"inserted a forged entry with a new seq", insert(3, rehash(func() Entry { e := entry(3); e.Seq = 99; return e }())), nil, 4, ProblemInserted},
		{"inserted a garbage line", insert(3, "hello\n"), nil, 4, ProblemMalformed},
		{"swapped two entries", append(append(append([]string{}, good[:2]...), good[3], good[2]), good[4:]...), nil, 3, ProblemReordered},
		{"moved an entry to the end", append(without(1), good[1]), nil, 8, ProblemReordered},
		{"moved an entry to the front", append([]string{good[5]}, without(5)...), nil, 1, ProblemReordered},
		{"cut the last line short", append(append([]string{}, good[:7]...), good[7][:40]), nil, 8, ProblemIncomplete},
		{"truncated, no anchor", good[:5], nil, 0, ""},
		{"truncated after an anchor", good[:5], []Anchor{{Key: "register/anchors/x", Seq: 7, Hash: entry(6).Hash, Time: t0}}, 6, ProblemTruncated},
		{"rewrote the whole tail after an anchor", rewriteFrom(t, good, 3), []Anchor{{Key: "register/anchors/x", Seq: 6, Hash: entry(5).Hash, Time: t0}}, 6, ProblemAnchor},
		{"intact with anchors", good, []Anchor{{Seq: 3, Hash: entry(2).Hash}, {Seq: 8, Hash: entry(7).Hash}}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyLines(t, c.lines, c.anchors)
			if c.wantKind == "" {
				if !rep.OK() {
					t.Fatalf("want no problem, got %v", rep.Problems)
				}
				return
			}
			if rep.OK() {
				t.Fatal("tampering not detected")
			}
			p := rep.Problems[0]
			if p.Line != c.wantLine || p.Kind != c.wantKind {
				t.Fatalf("first problem %v, want line %d %s (all: %v)", p, c.wantLine, c.wantKind, rep.Problems)
			}
			t.Logf("%v (%d problems)", p, len(rep.Problems))
		})
	}
}

// rewriteFrom recomputes every entry from index i with a changed value, as
// an attacker who knows the format would: the chain is consistent again.
func rewriteFrom(t *testing.T, good []string, i int) []string {
	out := append([]string{}, good[:i]...)
	prev, _ := decode([]byte(strings.TrimSuffix(good[i-1], "\n")))
	for _, l := range good[i:] {
		e, err := decode([]byte(strings.TrimSuffix(l, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		e.Reason = "rewritten"
		e.Prev = prev.Hash
		e.Hash = e.ComputeHash()
		out = append(out, string(e.line())+"\n")
		prev = e
	}
	if rep := verifyLines(t, out, nil); !rep.OK() {
		t.Fatalf("the rewrite should be consistent without anchors: %v", rep.Problems)
	}
	return out
}

func TestIncompleteLineRepairedOnOpen(t *testing.T) {
	r := newRegister(t)
	fill(t, r, 2)
	r.Close()
	f, err := os.OpenFile(r.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":3,"time":"2026-03`)
	f.Close()
	if rep, _ := VerifyFile(r.Path(), nil); rep.OK() || rep.Problems[0].Kind != ProblemIncomplete || rep.Problems[0].Line != 3 {
		t.Fatalf("want an incomplete line 3, got %+v", rep.Problems)
	}
	r2, err := OpenFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	rep, _ := VerifyFile(r.Path(), nil)
	if !rep.OK() || rep.Head.Seq != 3 {
		t.Fatalf("after repair: %+v", rep)
	}
	es, _ := ReadFile(r.Path())
	if es[2].Kind != Repaired || es[2].Size != int64(len(`{"seq":3,"time":"2026-03`)) {
		t.Fatalf("repair not recorded: %+v", es[2])
	}
}

func TestAppendRefusesDamagedTail(t *testing.T) {
	r := newRegister(t)
	fill(t, r, 2)
	lines := readLines(t, r.Path())
	lines[1] = strings.Replace(lines[1], "queue_1", "queue_9", 1)
	if err := os.WriteFile(r.Path(), []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(Entry{Kind: Received}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("append after a damaged tail: %v", err)
	}
}

// TestConcurrentAppend appends from goroutines through two handles on the
// same file, as the daemon and a second process would.
func TestConcurrentAppend(t *testing.T) {
	r := newRegister(t)
	r2, err := OpenFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			h := r
			if i%2 == 1 {
				h = r2
			}
			if _, err := h.Append(Entry{Kind: Received, Request: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rep, _ := VerifyFile(r.Path(), nil)
	if !rep.OK() || rep.Head.Seq != 40 {
		t.Fatalf("%+v", rep)
	}
}

func TestAnchors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegister(t)
	anchor := func() (Anchor, error) {
		head, err := r.Head()
		if err != nil {
			t.Fatal(err)
		}
		return WriteAnchor(ctx, st, AnchorPrefix, head, r.Now(), storage.PutOptions{})
	}
	if _, err := anchor(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("anchoring an empty register: %v", err)
	}
	fill(t, r, 5)
	a1, err := anchor()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a1.Key, "register/anchors/20260301T") || a1.Seq != 5 {
		t.Fatalf("anchor %+v", a1)
	}
	fill(t, r, 2)
	if _, err := anchor(); err != nil {
		t.Fatal(err)
	}
	// Same instant: the object exists and is not overwritten.
	r.Now = func() time.Time { return a1.Time }
	if _, err := anchor(); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("overwriting an anchor: %v", err)
	}
	anchors, err := ListAnchors(ctx, st, AnchorPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(anchors) != 2 || anchors[0].Seq != 5 || anchors[1].Seq != 7 {
		t.Fatalf("anchors %+v", anchors)
	}
	if rep, _ := VerifyFile(r.Path(), anchors); !rep.OK() || rep.Anchors != 2 {
		t.Fatalf("intact register against anchors: %+v", rep)
	}
	// Cut the last three entries: only the anchors notice.
	lines := readLines(t, r.Path())
	if rep := verifyLines(t, lines[:4], nil); !rep.OK() {
		t.Fatalf("truncation without anchors: %+v", rep)
	}
	rep := verifyLines(t, lines[:4], anchors)
	if rep.OK() || rep.Problems[0].Kind != ProblemTruncated || rep.Problems[0].Line != 5 {
		t.Fatalf("truncation against anchors: %+v", rep.Problems)
	}
	// A damaged anchor object is an error, not a silent skip.
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(anchors[0].Key)), []byte("{}"), 0o600); err == nil {
		if _, err := ListAnchors(ctx, st, AnchorPrefix); err == nil {
			t.Fatal("a damaged anchor was accepted")
		}
	}
}

func TestKeepAnchored(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := newRegister(t)
	fill(t, r, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		KeepAnchored(ctx, st, AnchorPrefix, r, 20*time.Millisecond, nil, func(err error) { t.Error(err) })
		close(done)
	}()
	time.Sleep(100 * time.Millisecond) // several ticks, one head
	fill(t, r, 1)
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	anchors, err := ListAnchors(context.Background(), st, AnchorPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(anchors) != 2 || anchors[0].Seq != 1 || anchors[1].Seq != 2 {
		t.Fatalf("want one anchor per head, got %+v", anchors)
	}
}

// TestAnchorOnExit: what was recorded since the last anchor is anchored
// when KeepAnchored stops, without waiting for the next tick.
func TestAnchorOnExit(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := newRegister(t)
	fill(t, r, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		KeepAnchored(ctx, st, AnchorPrefix, r, time.Hour, nil, func(err error) { t.Error(err) })
		close(done)
	}()
	for {
		if a, _ := ListAnchors(context.Background(), st, AnchorPrefix); len(a) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fill(t, r, 2) // recorded long before the next tick
	cancel()
	<-done
	anchors, err := ListAnchors(context.Background(), st, AnchorPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(anchors) != 2 || anchors[1].Seq != 3 {
		t.Fatalf("want the head anchored on the way out, got %+v", anchors)
	}
}
