package repository

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
)

var pass = secret.New("correct horse battery staple")

func testRepo(t testing.TB) (*Repo, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Init(context.Background(), st, pass)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// data returns n pseudo-random but compressible bytes (rows of text).
func data(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("row\t")
		for range 40 {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
		b.WriteString("\t市民\n")
	}
	return b.Bytes()[:n]
}

// backupParts writes parts through the Writer the way an engine does.
func backupParts(t *testing.T, r *Repo, typ string, base *Manifest, parts map[string][]byte) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{Database: "queue", Engine: "postgres", Type: typ, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	var tables []engines.TableStats
	for name, b := range parts {
		pw, err := w.CreatePart(ctx, engines.PartInfo{Name: name, Kind: engines.KindTable, Table: &engines.TableRef{Schema: "public", Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		// Write in odd-sized pieces, as a COPY stream arrives.
		for rest := b; len(rest) > 0; {
			n := min(len(rest), 70_001)
			if _, err := pw.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, engines.TableStats{Table: engines.TableRef{Schema: "public", Name: name}, Rows: 1})
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres", Tables: tables})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readPart(t *testing.T, r *Repo, m *Manifest, name string) ([]byte, error) {
	t.Helper()
	rc, err := r.Source(m).Open(context.Background(), name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestRoundTripAndDifferential(t *testing.T) {
	r, _ := testRepo(t)
	ctx := context.Background()
	tickets := data(1, 32<<20)
	staff := data(2, 300<<10)
	empty := []byte{}
	full := backupParts(t, r, Full, nil, map[string][]byte{"tickets": tickets, "staff": staff, "empty": empty})
	if full.Generation != full.ID || full.Stats.StoredBytes == 0 || full.Stats.RawBytes != int64(len(tickets)+len(staff)) {
		t.Fatalf("full manifest: generation %s id %s stats %+v", full.Generation, full.ID, full.Stats)
	}
	if full.Stats.StoredBytes >= full.Stats.RawBytes {
		t.Errorf("nothing was compressed: stored %d of raw %d", full.Stats.StoredBytes, full.Stats.RawBytes)
	}
	for name, want := range map[string][]byte{"tickets": tickets, "staff": staff, "empty": empty} {
		got, err := readPart(t, r, full, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("part %s: %d bytes read (want %d), err %v", name, len(got), len(want), err)
		}
	}

	// Append 2%: a differential stores a small fraction of the full.
	grown := append(append([]byte{}, tickets...), data(3, len(tickets)/50)...)
	diff := backupParts(t, r, Differential, full, map[string][]byte{"tickets": grown, "staff": staff, "empty": empty})
	if diff.Type != Differential || diff.Generation != full.ID || diff.Base != full.ID {
		t.Fatalf("differential manifest: %+v", diff)
	}
	ratio := float64(diff.Stats.StoredBytes) / float64(full.Stats.StoredBytes)
	t.Logf("full stored %d bytes, +2%% differential stored %d (%.1f%%)", full.Stats.StoredBytes, diff.Stats.StoredBytes, 100*ratio)
	if ratio > 0.20 {
		t.Errorf("differential after +2%% stored %.0f%% of the full", 100*ratio)
	}
	if got, err := readPart(t, r, diff, "tickets"); err != nil || !bytes.Equal(got, grown) {
		t.Fatalf("differential's tickets: %d bytes, err %v", len(got), err)
	}
	// A second differential is cumulative: relative to the full, and it can
	// reuse chunks the first differential wrote.
	diff2 := backupParts(t, r, Differential, full, map[string][]byte{"tickets": grown, "staff": staff, "empty": empty})
	if diff2.Stats.NewChunks != 0 {
		t.Errorf("unchanged second differential wrote %d new chunks", diff2.Stats.NewChunks)
	}

	refs, err := r.ListManifests(ctx, "queue")
	if err != nil || len(refs) != 3 {
		t.Fatalf("ListManifests: %v, %v", refs, err)
	}
	latest, err := r.FindBackup(ctx, "queue", "")
	if err != nil || latest.ID != diff2.ID {
		t.Fatalf("FindBackup newest: %v %v", latest, err)
	}
	res, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil || !res.OK() {
		t.Fatalf("check of a good repository: %+v %v", res, err)
	}
}

func TestFullsShareNoChunks(t *testing.T) {
	r, dir := testRepo(t)
	b := data(4, 2<<20)
	f1 := backupParts(t, r, Full, nil, map[string][]byte{"t": b})
	f2 := backupParts(t, r, Full, nil, map[string][]byte{"t": b})
	if f2.Stats.StoredBytes == 0 || f2.Stats.NewChunks != f1.Stats.NewChunks {
		t.Fatalf("second full reused chunks of another generation: %+v", f2.Stats)
	}
	for _, m := range []*Manifest{f1, f2} {
		if _, err := os.Stat(filepath.Join(dir, "data", "queue", m.Generation)); err != nil {
			t.Fatalf("generation %s has no data directory: %v", m.Generation, err)
		}
	}
}

func TestPassphrase(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	m := backupParts(t, r, Full, nil, map[string][]byte{"t": data(5, 100_000)})
	st, _ := local.New(dir)

	if _, err := Open(ctx, st, secret.New("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: got %v", err)
	}
	if _, err := Init(ctx, st, pass); !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("init over an existing repository: got %v", err)
	}
	empty, _ := local.New(t.TempDir())
	if _, err := Open(ctx, empty, pass); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("open of an empty storage: got %v", err)
	}

	newPass := secret.New("a new passphrase")
	if err := r.Rekey(ctx, newPass); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after rekey: got %v", err)
	}
	r2, err := Open(ctx, st, newPass)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readPart(t, r2, m, "t")
	if err != nil || !bytes.Equal(got, data(5, 100_000)) {
		t.Fatalf("data after rekey: %v", err)
	}
}

// TestDamage flips, truncates and deletes stored objects: every case is
// detected by check (attributed to the right backup) and by a read.
func TestDamage(t *testing.T) {
	cases := []struct {
		name      string
		damage    func(path string) error
		structure bool // found without --read-data
	}{
		{"flip a byte", func(p string) error { return flip(p, 0.5) }, false},
		{"flip the last byte", func(p string) error { return flip(p, 1) }, false},
		{"truncate", func(p string) error { return os.Truncate(p, 10) }, true},
		{"delete", os.Remove, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := testRepo(t)
			ctx := context.Background()
			m := backupParts(t, r, Full, nil, map[string][]byte{"t": data(6, 8<<20)})
			other := backupParts(t, r, Full, nil, map[string][]byte{"t": data(7, 100_000)})
			chunk := m.Parts[0].Chunks[len(m.Parts[0].Chunks)/2]
			path := filepath.Join(dir, filepath.FromSlash(chunkKey("queue", m.Generation, chunk.ID)))
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			res, err := r.Check(ctx, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.structure != !res.OK() {
				t.Errorf("structure check found %d problems, want found=%v", len(res.Problems), tc.structure)
			}
			res, err = r.Check(ctx, CheckOptions{ReadData: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() || len(res.Damaged) != 1 || res.Damaged[0] != m.ID {
				t.Fatalf("read-data check: damaged %v, want [%s]; problems %+v", res.Damaged, m.ID, res.Problems)
			}
			if _, err := readPart(t, r, m, "t"); !errors.Is(err, ErrDamaged) {
				t.Fatalf("reading the damaged part: got %v, want ErrDamaged", err)
			}
			if _, err := readPart(t, r, other, "t"); err != nil {
				t.Fatalf("an undamaged backup became unreadable: %v", err)
			}
		})
	}
}

func TestDamagedManifest(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	m := backupParts(t, r, Full, nil, map[string][]byte{"t": data(8, 10_000)})
	path := filepath.Join(dir, filepath.FromSlash(m.Key()))
	for _, damage := range []func(string) error{func(p string) error { return flip(p, 0.3) }, func(p string) error { return os.Truncate(p, 5) }} {
		if err := damage(path); err != nil {
			t.Fatal(err)
		}
		if _, err := r.FindBackup(ctx, "queue", m.ID); err == nil || !strings.Contains(err.Error(), m.ID) {
			t.Fatalf("loading a damaged manifest: %v", err)
		}
		res, err := r.Check(ctx, CheckOptions{})
		if err != nil || res.OK() || res.Damaged[0] != m.ID {
			t.Fatalf("check of a damaged manifest: %+v %v", res, err)
		}
	}
}

// TestAbortListsNothing: a backup that fails before Commit leaves no
// manifest, whatever it stored.
func TestAbortListsNothing(t *testing.T) {
	r, _ := testRepo(t)
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{Database: "queue", Type: Full})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	if _, err := pw.Write(data(9, 5<<20)); err != nil {
		t.Fatal(err)
	}
	// The engine fails without closing its part.
	w.Abort(errors.New("engine failed"))
	if _, err := pw.Write([]byte("more")); err == nil {
		t.Error("writing after abort succeeded")
	}
	refs, err := r.ListManifests(ctx, "")
	if err != nil || len(refs) != 0 {
		t.Fatalf("aborted backup is listed: %v %v", refs, err)
	}
	if _, err := w.Commit(ctx, &engines.Snapshot{}); err == nil {
		t.Fatal("commit after abort succeeded")
	}
}

// failingStorage fails every Put after the first n: a storage that goes
// away mid-backup. It wraps a real local store.
type failingStorage struct {
	storage.Storage
	left int
}

func (f *failingStorage) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) error {
	if strings.HasPrefix(key, "data/") {
		if f.left <= 0 {
			return errors.New("connection refused")
		}
		f.left--
	}
	return f.Storage.Put(ctx, key, r, size, o)
}

func TestStorageFailureMidBackup(t *testing.T) {
	dir := t.TempDir()
	st, _ := local.New(dir)
	ctx := context.Background()
	if _, err := Init(ctx, st, pass); err != nil {
		t.Fatal(err)
	}
	fs := &failingStorage{Storage: st, left: 2}
	r, err := Open(ctx, fs, pass)
	if err != nil {
		t.Fatal(err)
	}
	r.st = fs
	w, err := r.NewBackup(ctx, BackupOptions{Database: "queue", Type: Full, Uploads: 1})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	_, werr := pw.Write(data(10, 12<<20))
	cerr := pw.Close()
	if werr == nil && cerr == nil {
		_, cerr = w.Commit(ctx, &engines.Snapshot{})
	}
	if werr == nil && cerr == nil {
		t.Fatal("backup succeeded with a failing storage")
	}
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("writer's error does not name the storage failure: %v", err)
	}
	w.Abort(w.Err())
	refs, _ := r.ListManifests(ctx, "")
	if len(refs) != 0 {
		t.Fatal("a failed backup is listed")
	}
}

func flip(path string, at float64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := min(int(float64(len(b))*at), len(b)-1)
	b[i] ^= 0xff
	return os.WriteFile(path, b, 0o600)
}

func TestFindBackupByPrefix(t *testing.T) {
	r, _ := testRepo(t)
	ctx := context.Background()
	a := backupParts(t, r, Full, nil, map[string][]byte{"t": data(11, 1000)})
	b := backupParts(t, r, Full, nil, map[string][]byte{"t": data(12, 1000)})
	if m, err := r.FindBackup(ctx, "queue", ""); err != nil || m.ID != b.ID {
		t.Fatalf("newest: %v %v", m, err)
	}
	if m, err := r.FindBackup(ctx, "queue", a.ID); err != nil || m.ID != a.ID {
		t.Fatalf("exact: %v %v", m, err)
	}
	if m, err := r.FindBackup(ctx, "queue", a.ID[:len(a.ID)-2]); err != nil || m.ID != a.ID {
		t.Fatalf("unique prefix: %v %v", m, err)
	}
	// Both ids start with today's date: ambiguous, and said so.
	if _, err := r.FindBackup(ctx, "queue", a.ID[:8]); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if _, err := r.FindBackup(ctx, "queue", "20000101T000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}
