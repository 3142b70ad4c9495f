package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
)

// backupAt writes a backup of db whose id (and so generation date) is at.
func backupAt(t *testing.T, r *Repo, db string, at time.Time, typ string, base *Manifest, seed uint64) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := r.NewBackup(ctx, BackupOptions{ID: NewBackupID(at), Database: db, Engine: "postgres", Type: typ, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "t", Kind: engines.KindTable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(data(seed, 600<<10)); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noManifests stores everything but manifests: a backup through it dies
// just before its completion marker.
type noManifests struct {
	storage.Storage
}

func (n noManifests) Put(ctx context.Context, key string, rd io.Reader, size int64, o storage.PutOptions) error {
	if strings.HasPrefix(key, "manifests/") {
		return errors.New("killed before writing the manifest")
	}
	return n.Storage.Put(ctx, key, rd, size, o)
}

// abortedBackup stores every chunk of a backup that never commits, as a
// backup killed before its manifest leaves them.
func abortedBackup(t *testing.T, r *Repo, db, typ string, base *Manifest, seed uint64) *Writer {
	t.Helper()
	return abortedBackupUntil(t, r, db, typ, base, seed, time.Time{})
}

func abortedBackupUntil(t *testing.T, r *Repo, db, typ string, base *Manifest, seed uint64, retain time.Time) *Writer {
	t.Helper()
	ctx := context.Background()
	dying := *r
	dying.st = noManifests{r.st}
	w, err := dying.NewBackup(ctx, BackupOptions{Database: db, Type: typ, Base: base, RetainUntil: retain})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	if _, err := pw.Write(data(seed, 900<<10)); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, &engines.Snapshot{}); err == nil {
		t.Fatal("the manifest was written")
	}
	return w
}

// storedChunks lists the chunk files of db/gen on disk.
func storedChunks(t *testing.T, dir, db, gen string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, "data", db, gen)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func outcome(t *testing.T, res *PruneResult, db, gen string) GenerationOutcome {
	t.Helper()
	for _, d := range res.Databases {
		if d.Database != db {
			continue
		}
		for _, g := range d.Generations {
			if g.ID == gen {
				return g
			}
		}
	}
	t.Fatalf("no outcome for generation %s of %s in %+v", gen, db, res)
	return GenerationOutcome{}
}

func TestPruneGenerations(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC)
	var fulls []*Manifest
	for i := range 6 {
		full := backupAt(t, r, "queue", time.Date(2026, time.Month(i+1), 3, 1, 0, 0, 0, time.UTC), Full, nil, uint64(100+i))
		backupAt(t, r, "queue", time.Date(2026, time.Month(i+1), 17, 1, 0, 0, 0, time.UTC), Differential, full, uint64(200+i))
		fulls = append(fulls, full)
	}
	// A database the policy does not name stays whatever its age.
	stranger := backupAt(t, r, "retired", time.Date(2020, 1, 3, 1, 0, 0, 0, time.UTC), Full, nil, 300)

	opts := PruneOptions{
		Policies: map[string]RetentionPolicy{"queue": {Generations: 2}},
		Verified: map[string]bool{fulls[1].ID: true},
		Now:      now, Location: time.UTC, Grace: DefaultPruneGrace,
	}
	expired := []*Manifest{fulls[0], fulls[2], fulls[3]}
	kept := map[string]string{fulls[1].ID: "newest verified full", fulls[4].ID: "newest 2 generations", fulls[5].ID: "newest 2 generations"}

	dry := opts
	dry.DryRun = true
	res, err := r.Prune(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range expired {
		o := outcome(t, res, "queue", m.ID)
		if o.Status != PruneWouldDelete || o.Objects == 0 || len(o.Backups) != 2 {
			t.Errorf("dry run, generation %s: %+v", m.ID, o)
		}
	}
	if refs, _ := r.ListManifests(ctx, ""); len(refs) != 13 || res.DeletedObjects != 0 {
		t.Fatalf("the dry run deleted something: %d manifests left, %d objects deleted", len(refs), res.DeletedObjects)
	}

	res, err = r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range expired {
		o := outcome(t, res, "queue", m.ID)
		if o.Status != PruneDeleted || !strings.HasPrefix(o.Reasons[0], "expired") {
			t.Errorf("generation %s: %+v", m.ID, o)
		}
		if left := storedChunks(t, dir, "queue", m.ID); len(left) != 0 {
			t.Errorf("generation %s: %d chunks left", m.ID, len(left))
		}
	}
	for id, why := range kept {
		o := outcome(t, res, "queue", id)
		if o.Status != PruneKept || !slices.ContainsFunc(o.Reasons, func(s string) bool { return strings.Contains(s, why) }) {
			t.Errorf("generation %s: %+v, want kept because %q", id, o, why)
		}
	}
	if res.DeletedBackups != 6 {
		t.Errorf("deleted %d backups, want 6", res.DeletedBackups)
	}
	if d := res.Databases[len(res.Databases)-1]; d.Database != "retired" || d.Skipped == "" {
		t.Errorf("database outside the policy: %+v", d)
	}
	refs, err := r.ListManifests(ctx, "")
	if err != nil || len(refs) != 7 {
		t.Fatalf("%d manifests left (%v), want 7", len(refs), err)
	}
	if _, err := r.FindBackup(ctx, "retired", stranger.ID); err != nil {
		t.Fatalf("backup of a database outside the policy: %v", err)
	}
	check, err := r.Check(ctx, CheckOptions{ReadData: true})
	if err != nil || !check.OK() {
		t.Fatalf("check after prune: %+v %v", check, err)
	}
	// Pruning again changes nothing.
	res, err = r.Prune(ctx, opts)
	if err != nil || res.DeletedObjects != 0 {
		t.Fatalf("second prune deleted %d objects (%v)", res.DeletedObjects, err)
	}
}

func TestPruneOrphans(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	full := backupAt(t, r, "queue", time.Now().Add(-time.Hour), Full, nil, 1)
	referenced := len(storedChunks(t, dir, "queue", full.Generation))
	// A differential that crashed inside the generation, and a full that
	// crashed before its first manifest (a generation of orphans only).
	abortedBackup(t, r, "queue", Differential, full, 2)
	crashedFull := abortedBackup(t, r, "queue", Full, nil, 3)
	if n := len(storedChunks(t, dir, "queue", full.Generation)); n <= referenced {
		t.Fatalf("the aborted differential left no chunks (%d)", n)
	}
	opts := PruneOptions{Policies: map[string]RetentionPolicy{"queue": {Generations: 1}}, Grace: DefaultPruneGrace}

	// Within the grace period, orphans stay.
	res, err := r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedObjects != 0 || len(res.Databases[0].Orphans) != 2 || res.Databases[0].Orphans[0].Young == 0 {
		t.Fatalf("young orphans: %+v", res.Databases[0].Orphans)
	}

	// A running backup (live lock on the generation) keeps its chunks,
	// whatever the grace.
	lock, err := r.AcquireLock(ctx, "queue", fastLock)
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.SetBackup(ctx, "x", full.Generation); err != nil {
		t.Fatal(err)
	}
	opts.Grace = 0
	res, err = r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Databases[0].Orphans {
		switch o.Generation {
		case full.Generation:
			if o.Status != PruneProtected || o.Deleted != 0 || !strings.Contains(o.Detail, "backup running") {
				t.Errorf("orphans of the locked generation: %+v", o)
			}
		case crashedFull.Generation():
			if o.Status != PruneDeleted || o.Deleted == 0 {
				t.Errorf("orphans of the crashed full: %+v", o)
			}
		}
	}
	if left := storedChunks(t, dir, "queue", crashedFull.Generation()); len(left) != 0 {
		t.Fatalf("%d chunks of the crashed full left", len(left))
	}
	if n := len(storedChunks(t, dir, "queue", full.Generation)); n <= referenced {
		t.Fatal("chunks of the generation a running backup writes into were deleted")
	}
	// A lock whose generation is not known yet protects the whole database.
	lock.Release(ctx)
	lock, err = r.AcquireLock(ctx, "queue", fastLock)
	if err != nil {
		t.Fatal(err)
	}
	res, err = r.Prune(ctx, opts)
	if err != nil || res.DeletedObjects != 0 {
		t.Fatalf("prune during a starting backup deleted %d objects (%v)", res.DeletedObjects, err)
	}
	lock.Release(ctx)

	res, err = r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(storedChunks(t, dir, "queue", full.Generation)); n != referenced {
		t.Fatalf("%d chunks left in the generation, %d referenced: %+v", n, referenced, res.Databases[0].Orphans)
	}
	if check, err := r.Check(ctx, CheckOptions{ReadData: true}); err != nil || !check.OK() {
		t.Fatalf("check after removing orphans: %+v %v", check, err)
	}
}

// failingDeletes refuses to delete data objects: a storage that fails in the
// middle of a prune.
type failingDeletes struct {
	storage.Storage
}

func (f failingDeletes) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, "data/") {
		return fmt.Errorf("deleting %q: connection reset", key)
	}
	return f.Storage.Delete(ctx, key)
}

// TestPruneInterrupted: a prune that loses its storage after deleting a
// generation's manifests leaves nothing listed half-deleted, and the next
// prune finishes the job.
func TestPruneInterrupted(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	old := backupAt(t, r, "queue", time.Now().AddDate(0, -2, 0), Full, nil, 1)
	backupAt(t, r, "queue", time.Now().AddDate(0, -1, 0), Full, nil, 2)
	opts := PruneOptions{Policies: map[string]RetentionPolicy{"queue": {Generations: 1}}, Grace: DefaultPruneGrace}

	st, _ := local.New(dir)
	broken, err := Open(ctx, failingDeletes{st}, pass)
	if err != nil {
		t.Fatal(err)
	}
	res, err := broken.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(t, res, "queue", old.ID); o.Status != PruneFailed || !strings.Contains(o.Error, "connection reset") || !res.Failed() {
		t.Fatalf("interrupted prune: %+v", o)
	}
	if _, err := r.FindBackup(ctx, "queue", old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a generation whose data is half deleted is still listed: %v", err)
	}
	if len(storedChunks(t, dir, "queue", old.ID)) == 0 {
		t.Fatal("the failing storage deleted data")
	}
	// Its chunks are orphans now, as old as the backup that wrote them.
	oldTime := time.Now().Add(-48 * time.Hour)
	for _, p := range storedChunks(t, dir, "queue", old.ID) {
		os.Chtimes(p, oldTime, oldTime)
	}
	res, err = r.Prune(ctx, opts)
	if err != nil || res.Failed() {
		t.Fatalf("second prune: %+v %v", res, err)
	}
	if left := storedChunks(t, dir, "queue", old.ID); len(left) != 0 {
		t.Fatalf("%d chunks of the pruned generation left", len(left))
	}
}
