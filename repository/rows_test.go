package repository

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository/rowset"
	"github.com/dbopsd/dbopsd/storage/local"
)

// rowLines returns n distinct rows of about 130 bytes that compress to
// about 90, wide enough for a full to store their fingerprints.
func rowLines(seed uint64, from, n int) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	rng := rand.New(rand.NewPCG(seed, uint64(from)))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, "%d\t", from+i)
		for range 120 {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		b.WriteString("\t\\N")
		out[i] = b.String()
	}
	return out
}

func joinLines(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// writeRowParts writes parts of rows (Shape set) through the Writer in
// odd-sized pieces, the way an engine does.
func writeRowParts(t *testing.T, r *Repo, typ string, base *Manifest, tmp string, shapes map[string]string, parts map[string][]byte) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{Database: "hall", Engine: "postgres", Type: typ, Base: base, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		b := parts[name]
		pw, err := w.CreatePart(ctx, engines.PartInfo{Name: name, Kind: engines.KindTable,
			Table: &engines.TableRef{Schema: "public", Name: name}, Format: "copy-text", Shape: shapes[name]})
		if err != nil {
			t.Fatal(err)
		}
		for rest := b; len(rest) > 0; {
			n := min(len(rest), 7_001)
			if _, err := pw.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameRows fails unless got and want hold the same lines, as multisets.
func sameRows(t *testing.T, what string, got []byte, want []string) {
	t.Helper()
	g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(got) == 0 {
		g = nil
	}
	if len(got) > 0 && got[len(got)-1] != '\n' {
		t.Fatalf("%s: does not end with a newline", what)
	}
	w := slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: %d rows back, want %d (first differences hidden)", what, len(g), len(w))
	}
}

// TestRowDifferential: scattered updates, deletes, inserts, duplicate rows
// and NULL against empty string in one table go as rows and come back
// exactly; an appended table, a rewritten one, one whose columns changed
// and one new since the full each say how they went; the repository is
// of the current format and checks clean; the temporary directory is left
// empty.
func TestRowDifferential(t *testing.T) {
	r, _ := testRepo(t)
	tmp := t.TempDir()
	shapes := map[string]string{"tickets": "3:a", "log": "3:a", "rewritten": "3:a", "altered": "3:a", "fresh": "3:a"}
	tickets := rowLines(1, 0, 40_000)
	tickets = append(tickets, "dup\t\t\\N", "dup\t\t\\N", "dup\t\t\\N", "nulls\t\\N\t", "nulls\t\t")
	logRows := rowLines(2, 0, 40_000)
	rewritten := rowLines(3, 0, 5_000)
	altered := rowLines(4, 0, 5_000)
	full := writeRowParts(t, r, Full, nil, tmp, shapes, map[string][]byte{
		"tickets": joinLines(tickets), "log": joinLines(logRows), "rewritten": joinLines(rewritten), "altered": joinLines(altered)})
	if r.cfg.Version != FormatVersion {
		t.Fatalf("repository format %d after a full with row fingerprints, want %d", r.cfg.Version, FormatVersion)
	}
	if _, ok := full.Part("rowfp/tickets"); !ok {
		t.Fatal("the full has no fingerprint part for tickets")
	}
	for _, p := range r.Source(full).Parts() {
		if p.Kind == KindRowFingerprints {
			t.Fatalf("Source.Parts lists %s", p.Name)
		}
	}

	// 1 % updated at random, 0.5 % deleted, 1 % inserted, one duplicate
	// gone and one added, the NULL row became the empty one.
	rng := rand.New(rand.NewPCG(9, 9))
	next := slices.Clone(tickets[:40_000])
	for range 400 {
		i := rng.IntN(len(next))
		next[i] = next[i] + "x"
	}
	for range 200 {
		i := rng.IntN(len(next))
		next = slices.Delete(next, i, i+1)
	}
	next = append(next, rowLines(5, 100_000, 400)...)
	next = append(next, "dup\t\t\\N", "dup\t\t\\N", "nulls\t\t", "nulls\t\t", "nulls\t\t")
	slices.Reverse(next) // row order is not preserved and need not be
	grownLog := append(slices.Clone(logRows), rowLines(6, 50_000, 800)...)
	newRewritten := rowLines(7, 0, 5_000)
	alteredRows := make([]string, len(altered))
	for i, l := range altered {
		alteredRows[i] = l + "\tnew column"
	}
	fresh := rowLines(8, 0, 100)
	shapes["altered"] = "4:b"
	diff := writeRowParts(t, r, Differential, full, tmp, shapes, map[string][]byte{
		"tickets": joinLines(next), "log": joinLines(grownLog), "rewritten": joinLines(newRewritten),
		"altered": joinLines(alteredRows), "fresh": joinLines(fresh)})

	for name, want := range map[string]struct {
		method, reason string
		rows           []string
	}{
		"tickets":   {MethodRows, "rows store less", next},
		"log":       {"", "", grownLog},
		"rewritten": {MethodChunks, "chunks store less", newRewritten},
		"altered":   {MethodChunks, "columns changed", alteredRows},
		"fresh":     {MethodChunks, "no such part", fresh},
	} {
		p, _ := diff.Part(name)
		t.Logf("%s: %s: %s", name, p.Method, p.MethodReason)
		if want.method != "" && (p.Method != want.method || !strings.Contains(p.MethodReason, want.reason)) {
			t.Errorf("%s stored as %s (%s), want %s (%s)", name, p.Method, p.MethodReason, want.method, want.reason)
		}
		got, err := readPart(t, r, diff, name)
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		sameRows(t, name, got, want.rows)
	}
	tp, _ := diff.Part("tickets")
	added, removed := multisetDiff(next, tickets), multisetDiff(tickets, next)
	if tp.Rows == nil || tp.Rows.Added != added || tp.Rows.Removed != removed {
		t.Errorf("tickets as rows: %+v, want %d added and %d removed", tp.Rows, added, removed)
	}
	// The full still reads as it was.
	got, err := readPart(t, r, full, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "tickets in the full", got, tickets)
	fullPart, _ := full.Part("tickets")
	if share := float64(diff.Stats.StoredBytes) / float64(full.Stats.StoredBytes); share > 0.25 {
		t.Errorf("differential stored %.0f%% of its full (rows: %d bytes of %d)", share*100, diff.Stats.StoredBytes, fullPart.Size)
	}
	if res, err := r.Check(context.Background(), CheckOptions{ReadData: true}); err != nil || !res.OK() {
		t.Fatalf("check --read-data: %+v %v", res, err)
	}
	if left, _ := os.ReadDir(filepath.Join(tmp, "dbopsd-rows", r.ID())); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestRowFingerprintCollision: with 4-bit fingerprints every table has
// colliding rows; the differential notices and stores chunks, and no row is
// lost or doubled.
func TestRowFingerprintCollision(t *testing.T) {
	defer SetFingerprintBitsForTest(4)()
	r, _ := testRepo(t)
	tmp := t.TempDir()
	shapes := map[string]string{"tickets": "3:a"}
	rows := rowLines(1, 0, 3_000)
	full := writeRowParts(t, r, Full, nil, tmp, shapes, map[string][]byte{"tickets": joinLines(rows)})
	next := slices.Clone(rows)
	next[17] += "changed"
	next = append(next[:100], next[101:]...)
	diff := writeRowParts(t, r, Differential, full, tmp, shapes, map[string][]byte{"tickets": joinLines(next)})
	p, _ := diff.Part("tickets")
	if p.Method != MethodChunks || !strings.Contains(p.MethodReason, "share a fingerprint") {
		t.Errorf("stored as %s (%s), want chunks for a collision", p.Method, p.MethodReason)
	}
	got, err := readPart(t, r, diff, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "tickets", got, next)
}

// TestRowsReaderCollisionSafe: a part stored as rows whose removals share
// fingerprints (but not check bits) with rows that stay drops only the
// right ones: the check bits decide.
func TestRowsReaderCollisionSafe(t *testing.T) {
	r, _ := testRepo(t)
	tmp := t.TempDir()
	undo := SetFingerprintBitsForTest(8)
	shapes := map[string]string{"tickets": "3:a"}
	rows := rowLines(1, 0, 20_000)
	full := writeRowParts(t, r, Full, nil, tmp, shapes, map[string][]byte{"tickets": joinLines(rows)})
	undo()
	// Build a part stored as rows by hand: remove rows 5 and 6, add one.
	w, err := r.NewBackup(context.Background(), BackupOptions{Database: "hall", Engine: "postgres", Type: Differential, Base: full, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := full.Part("rowfp/tickets")
	h := r.newLineHasher(fp.FPBits)
	var body []byte
	body = append(body, magicRows...)
	body = append(body, 0, 0, 0, 0, 0, 0, 0, 2)
	type e struct {
		fp    uint64
		check uint32
	}
	var rm []e
	for _, i := range []int{5, 6} {
		h.write([]byte(rows[i]))
		f, c, _ := h.line()
		rm = append(rm, e{f, c})
	}
	slices.SortFunc(rm, func(a, b e) int {
		if a.fp != b.fp {
			return cmp.Compare(a.fp, b.fp)
		}
		return int(int64(a.check) - int64(b.check))
	})
	var prev uint64
	for _, x := range rm {
		body = binary.AppendUvarint(body, x.fp-prev)
		body = append(body, byte(x.check>>8), byte(x.check))
		prev = x.fp
	}
	body = append(body, "added\t\t\\N\n"...)
	pw, err := w.createPart(engines.PartInfo{Name: "tickets", Kind: engines.KindTable, Table: &engines.TableRef{Schema: "public", Name: "tickets"}, Format: "copy-text", Shape: "3:a"})
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(body)
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	base, _ := full.Part("tickets")
	pw.p.Rows = &RowsInfo{BaseChunks: len(base.Chunks), BaseSize: base.Size, Added: 1, Removed: 2}
	pw.p.FPBits = fp.FPBits
	pw.p.Method = MethodRows
	pw.p.Chunks = append(slices.Clone(base.Chunks), pw.p.Chunks...)
	diff, err := w.Commit(context.Background(), &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readPart(t, r, diff, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Concat(rows[:5], rows[7:]), "added\t\t\\N")
	sameRows(t, "tickets", got, want)
}

// TestFormat2MovesTo3And4: a format 2 repository keeps working, becomes
// format 3 with its first full that stores fingerprints, which a format 2
// dbopsd then refuses, and format 4 with its first differential that
// stores a part as rows, which a format 3 dbopsd then refuses.
func TestFormat2MovesTo3And4(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := initVersion(ctx, st, pass, 2); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.Version != 2 {
		t.Fatalf("opened as format %d", r.cfg.Version)
	}
	// A backup without parts of rows writes nothing format 3.
	plain := backupParts(t, r, Full, nil, map[string][]byte{"blob": data(1, 1<<20)})
	if r.cfg.Version != 2 || rowsFormatOf(plain) != 0 {
		t.Fatalf("format %d after a backup without rows", r.cfg.Version)
	}
	rows := rowLines(1, 0, 20_000)
	full := writeRowParts(t, r, Full, nil, t.TempDir(), map[string]string{"t": "1:a"}, map[string][]byte{"t": joinLines(rows)})
	r2, err := Open(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	if r2.cfg.Version != 3 {
		t.Fatalf("format %d after a full with row fingerprints, want 3", r2.cfg.Version)
	}
	// What a format 2 dbopsd says of it.
	if _, err := readConfigAs(ctx, st, 2); err == nil || !strings.Contains(err.Error(), "upgrade dbopsd") {
		t.Fatalf("a format 2 reader: %v, want upgrade dbopsd", err)
	}
	// A format 3 dbopsd still reads it.
	if _, err := readConfigAs(ctx, st, 3); err != nil {
		t.Fatalf("a format 3 reader of a format 3 repository: %v", err)
	}

	// Scattered updates: the differential stores the part as rows.
	next := slices.Clone(rows)
	for i := 0; i < len(next); i += 97 {
		next[i] += "x"
	}
	diff := writeRowParts(t, r2, Differential, full, t.TempDir(), map[string]string{"t": "1:a"}, map[string][]byte{"t": joinLines(next)})
	if p, _ := diff.Part("t"); p.Method != MethodRows {
		t.Fatalf("the differential stored t as %q (%s), want rows", p.Method, p.MethodReason)
	}
	r3, err := Open(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	if r3.cfg.Version != 4 {
		t.Fatalf("format %d after a differential stored as rows, want 4", r3.cfg.Version)
	}
	if _, err := readConfigAs(ctx, st, 3); err == nil || !strings.Contains(err.Error(), "upgrade dbopsd") {
		t.Fatalf("a format 3 reader: %v, want upgrade dbopsd", err)
	}
}

// TestTempLeftoversRemoved: what a killed backup left in the temporary
// directory is gone when the next backup of the database starts.
func TestTempLeftoversRemoved(t *testing.T) {
	r, _ := testRepo(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "dbopsd-rows", r.ID(), "hall")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-123"), []byte("rows of a killed backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := r.NewBackup(context.Background(), BackupOptions{Database: "hall", Engine: "postgres", Type: Full, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "part-123")); !os.IsNotExist(err) {
		t.Fatalf("leftover still there: %v", err)
	}
	w.Abort(nil)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the backup's temporary directory outlived it: %v", err)
	}
}

// multisetDiff counts the lines of a that b does not hold (as multisets).
func multisetDiff(a, b []string) int64 {
	have := map[string]int{}
	for _, l := range b {
		have[l]++
	}
	var n int64
	for _, l := range a {
		if have[l] > 0 {
			have[l]--
		} else {
			n++
		}
	}
	return n
}

// TestRowDifferentialRecomputes: rows so compressible that their
// fingerprints would cost more than an eighth of the part are not
// fingerprinted in the full; the differential reads the full's part back,
// fingerprints it, and still stores the scattered updates as rows.
func TestRowDifferentialRecomputes(t *testing.T) {
	r, _ := testRepo(t)
	tmp := t.TempDir()
	shapes := map[string]string{"accounts": "4:p"}
	accounts := make([]string, 140_000) // past the 64 Ki rows where a full gives fingerprints up
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%d\t1\t0\t%84s", i+1, "")
	}
	full := writeRowParts(t, r, Full, nil, tmp, shapes, map[string][]byte{"accounts": joinLines(accounts)})
	if _, ok := full.Part("rowfp/accounts"); ok {
		t.Fatal("the full stored fingerprints of rows that compress to a few bytes")
	}
	next := slices.Clone(accounts)
	rng := rand.New(rand.NewPCG(3, 3))
	for range 600 {
		i := rng.IntN(len(next))
		next[i] = fmt.Sprintf("%d\t1\t%d\t%84s", i+1, rng.IntN(1000)+1, "")
	}
	next = slices.Delete(next, 100, 400)             // deleted
	next = append(next, next[7], next[7], "dup\t\t") // duplicates, and a new row
	diff := writeRowParts(t, r, Differential, full, tmp, shapes, map[string][]byte{"accounts": joinLines(next)})
	p, _ := diff.Part("accounts")
	if p.Method != MethodRows || p.Rows == nil || !p.Rows.ByPosition {
		t.Fatalf("stored as %s (%s, %+v), want rows removed by position", p.Method, p.MethodReason, p.Rows)
	}
	got, err := readPart(t, r, diff, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "accounts", got, next)
	if share := float64(diff.Stats.StoredBytes) / float64(full.Stats.StoredBytes); share > 0.5 {
		t.Errorf("differential stored %.0f%% of its full", share*100)
	}
	t.Logf("full %d bytes, differential %d", full.Stats.StoredBytes, diff.Stats.StoredBytes)
}

// TestRowDifferentialNoFinalNewline: a differential's part that does not
// end with a newline, against a full without fingerprints, goes as chunks,
// says why, and reads back byte for byte; the reading back of the full's
// part started beside the dump is stopped, not waited for (here it waits
// for its turn, held by the test, so Close would never return), and no
// temporary file is left.
func TestRowDifferentialNoFinalNewline(t *testing.T) {
	r, _ := testRepo(t)
	tmp := t.TempDir()
	ctx := context.Background()
	accounts := make([]string, 20_000)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%d\t1\t0\t%84s", i+1, "")
	}
	full := writeRowParts(t, r, Full, nil, tmp, map[string]string{"accounts": "4:p"}, map[string][]byte{"accounts": joinLines(accounts)})
	if _, ok := full.Part("rowfp/accounts"); ok {
		t.Fatal("the full stored fingerprints of rows that compress to a few bytes: the differential would not read its part back")
	}
	w, err := r.NewBackup(ctx, BackupOptions{Database: "hall", Engine: "postgres", Type: Differential, Base: full, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	w.recomputeSlot <- struct{}{} // another part's turn, never over
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "accounts", Kind: engines.KindTable,
		Table: &engines.TableRef{Schema: "public", Name: "accounts"}, Format: "copy-text", Shape: "4:p"})
	if err != nil {
		t.Fatal(err)
	}
	cut := append(joinLines(accounts), "20001\t1\t0\tno newline"...)
	if _, err := pw.Write(cut); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- pw.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for the full's part to be read back, which the part does not need")
	}
	if w.TempBytes() == 0 {
		t.Error("TempBytes: 0, though the part was spooled")
	}
	diff, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := diff.Part("accounts")
	if p.Method != MethodChunks || !strings.Contains(p.MethodReason, "newline") {
		t.Errorf("stored as %s (%s), want chunks for a part without a final newline", p.Method, p.MethodReason)
	}
	got, err := readPart(t, r, diff, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, cut) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(cut))
	}
	if left, _ := os.ReadDir(filepath.Join(tmp, "dbopsd-rows", r.ID())); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestLineHasherPieces: a line fingerprinted in pieces (as writes split it)
// and whole (as a restore reads it) gets the same fingerprint.
func TestLineHasherPieces(t *testing.T) {
	r, _ := testRepo(t)
	h := r.newLineHasher(64)
	for _, line := range []string{"", "a", "1\t2\t\\N", strings.Repeat("长的值", 5000)} {
		fp, check, n := h.whole([]byte(line))
		for cut := 0; cut <= len(line); cut += 1 + len(line)/7 {
			h.write([]byte(line[:cut]))
			h.write([]byte(line[cut:]))
			fp2, check2, n2 := h.line()
			if fp2 != fp || check2 != check || n2 != n {
				t.Fatalf("%d-byte line cut at %d: %x/%x/%d in pieces, %x/%x/%d whole", len(line), cut, fp2, check2, n2, fp, check, n)
			}
		}
	}
}

// TestRowSpillSealed: everything a differential spills (the part, the sort
// runs, the removed rows) is sealed: no row value is on disk in plaintext
// while the part is merged; and added lines sorted in many small runs still
// restore exactly, keyed (leading integers delta-coded) or not, whatever
// their first field looks like.
func TestRowSpillSealed(t *testing.T) {
	defer func(n int) { rowset.RunEntries = n }(rowset.RunEntries)
	rowset.RunEntries = 1000 // several runs per sorter
	defer SetAddedRunBytesForTest(2000)()
	r, _ := testRepo(t)
	tmp := t.TempDir()
	shapes := map[string]string{"people": "3:a"}
	const marker = "110101199003077777"
	people := rowLines(1, 0, 20_000)
	for i := range people {
		people[i] += "\t" + marker
	}
	full := writeRowParts(t, r, Full, nil, tmp, shapes, map[string][]byte{"people": joinLines(people)})
	next := slices.Clone(people)
	rng := rand.New(rand.NewPCG(4, 4))
	for range 300 {
		i := rng.IntN(len(next))
		next[i] = fmt.Sprintf("%d\tchanged %d\t%s", i, rng.IntN(1000), marker)
	}
	next = append(next, rowLines(9, 50_000, 200)...)
	for i := range 100 { // lines without an integer key, and keys written unusually
		next = append(next, fmt.Sprintf("name %d\t%s", i, marker))
	}
	next = append(next, "007\tleading zeros", "0\tzero", "0\tzero", "-5\tnegative", "123456789012345678\t18 digits",
		"1234567890123456789\t19 digits", "18446744073709551616\tpast 64 bits", "42", "42\t", "\t", "", "9\t\\N")
	rng.Shuffle(len(next), func(i, j int) { next[i], next[j] = next[j], next[i] })
	files := 0
	defer SetSpillHookForTest(func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Errorf("temporary file %s is empty", e.Name())
			}
			for _, plain := range []string{marker, next[0], "changed "} {
				if strings.Contains(string(b), plain) {
					t.Errorf("temporary file %s holds %.20q in plaintext", e.Name(), plain)
				}
			}
			files++
		}
	})()
	diff := writeRowParts(t, r, Differential, full, tmp, shapes, map[string][]byte{"people": joinLines(next)})
	if files < 3 {
		t.Fatalf("%d temporary files seen during the merge, want the spool, its sort runs and the removals", files)
	}
	p, _ := diff.Part("people")
	if p.Method != MethodRows {
		t.Fatalf("stored as %s (%s), want rows", p.Method, p.MethodReason)
	}
	got, err := readPart(t, r, diff, "people")
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "people", got, next)
	// The added lines come last, sorted within runs of about 2000 bytes
	// (a keyed block, then a plain one): neither in their order of arrival
	// nor sorted as a whole.
	inOrder := func(a, b string) bool {
		ka, na, oka := leadingKey([]byte(a + "\n"))
		kb, nb, okb := leadingKey([]byte(b + "\n"))
		switch {
		case oka && okb:
			return ka < kb || ka == kb && a[na:] <= b[nb:]
		case !oka && !okb:
			return a <= b
		}
		return false
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	added := lines[len(lines)-int(p.Rows.Added):]
	descents, size := 0, 0
	for i, l := range added {
		size += len(l) + 1
		if i > 0 && !inOrder(added[i-1], l) {
			descents++
		}
	}
	t.Logf("%d temporary files sealed; %d added lines, %d descents", files, len(added), descents)
	if runs := size/(2000-200) + 1; descents == 0 || descents >= 2*runs {
		t.Errorf("%d added lines (%d bytes) with %d descents, want between 1 and %d (two blocks a run at most)", len(added), size, descents, 2*runs-1)
	}
	if left, _ := os.ReadDir(filepath.Join(tmp, "dbopsd-rows", r.ID())); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestAddedBlocks: added lines written in keyed and plain blocks read back
// as the same multiset; a part cut before its end mark, or with bytes after
// it, is damaged.
func TestAddedBlocks(t *testing.T) {
	defer SetAddedRunBytesForTest(300)()
	lines := []string{"10\ta\n", "9\tb\n", "007\tc\n", "x\td\n", "0\te\n", "18446744073709551616\tf\n", "\n", "5\t\n", "5\t\n"}
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("%d\trow\n", 1_000_000-i*37))
	}
	var buf strings.Builder
	bw := bufio.NewWriter(&buf)
	run := newAddedRun(bw)
	for _, l := range lines {
		run.add([]byte(l))
	}
	run.flush()
	run.end()
	bw.Flush()
	read := func(b string) ([]string, error) {
		d := &addedReader{lr: newLineReader(strings.NewReader(b))}
		var out []string
		for {
			l, err := d.next()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, string(l))
		}
	}
	got, err := read(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := slices.Clone(lines)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d lines back, want %d: %q", len(got), len(want), got[:min(5, len(got))])
	}
	for name, b := range map[string]string{"cut": buf.String()[:buf.Len()-1], "trailing": buf.String() + "x"} {
		if _, err := read(b); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v, want damaged", name, err)
		}
	}
}

// TestRowsReaderFormats: the head of a part stored as rows, in each of its
// four forms (by fingerprint or by position; added lines as they are,
// version 1, or in blocks, version 2), rebuilds the full's lines less the
// removed ones plus the added ones; a head that is damaged (magic, count,
// order, cut short) fails with ErrDamaged.
func TestRowsReaderFormats(t *testing.T) {
	r, _ := testRepo(t)
	const bits = 64
	h := r.newLineHasher(bits)
	base := []string{"1\ta", "2\tb", "3\tc", "3\tc", "4\td"}
	want := []string{"1\ta", "3\tc", "4\td", "5\te", "x\tf"}
	head := func(magic string, count uint64, rest []byte) []byte {
		b := binary.BigEndian.AppendUint64([]byte(magic), count)
		return append(b, rest...)
	}
	// By position: lines 1 and 2 of the full (delta-coded); by
	// fingerprint: "2\tb" and one "3\tc", sorted and delta-coded.
	at := binary.AppendUvarint(binary.AppendUvarint(nil, 1), 1)
	var byFP []byte
	var fps [][2]uint64
	for _, l := range []string{"2\tb", "3\tc"} {
		fp, check, _ := h.whole([]byte(l))
		fps = append(fps, [2]uint64{fp, uint64(check)})
	}
	slices.SortFunc(fps, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	var prev uint64
	for _, e := range fps {
		byFP = append(binary.AppendUvarint(byFP, e[0]-prev), byte(e[1]>>8), byte(e[1]))
		prev = e[0]
	}
	v1 := []byte("5\te\nx\tf\n")
	var v2 strings.Builder
	bw := bufio.NewWriter(&v2)
	run := newAddedRun(bw)
	run.add([]byte("x\tf\n"))
	run.add([]byte("5\te\n"))
	run.flush()
	run.end()
	bw.Flush()
	body := func(b ...[]byte) []byte { return slices.Concat(b...) }
	for _, c := range []struct {
		name       string
		byPosition bool
		removed    int64
		part       []byte
		damaged    bool
	}{
		{"v1 by position", true, 2, body(head(magicRowsAt, 2, at), v1), false},
		{"v2 by position", true, 2, body(head(magicRowsAt2, 2, at), []byte(v2.String())), false},
		{"v1 by fingerprint", false, 2, body(head(magicRows, 2, byFP), v1), false},
		{"v2 by fingerprint", false, 2, body(head(magicRows2, 2, byFP), []byte(v2.String())), false},
		{"magic of the other kind", false, 2, body(head(magicRowsAt, 2, at), v1), true},
		{"count not the manifest's", true, 3, body(head(magicRowsAt, 2, at), v1), true},
		{"position twice", true, 2, body(head(magicRowsAt, 2, binary.AppendUvarint(binary.AppendUvarint(nil, 1), 0)), v1), true},
		{"fingerprints out of order", false, 2, body(head(magicRows, 2, []byte{5, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0})), true},
		{"cut short", false, 2, head(magicRows, 2, byFP[:3]), true},
		{"empty", false, 0, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Part{PartInfo: engines.PartInfo{Name: "t"}, Rows: &RowsInfo{ByPosition: c.byPosition, Removed: c.removed}}
			rr := &rowsReader{part: p, added: bufio.NewReader(bytes.NewReader(c.part)), inBase: true,
				base: io.NopCloser(strings.NewReader(strings.Join(base, "\n") + "\n")), diff: io.NopCloser(nil)}
			err := rr.readRemovals()
			if c.damaged {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("%v, want damaged", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.byPosition {
				rr.hasher = r.newLineHasher(bits)
			}
			rr.lines = newLineReader(rr.base)
			got, err := io.ReadAll(rr)
			if err != nil {
				t.Fatal(err)
			}
			sameRows(t, c.name, got, want)
		})
	}
}
