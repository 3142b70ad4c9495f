package repository

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/s3"
)

func TestMain(m *testing.M) { harness.Main(m) }

// TestPruneObjectLock runs backups into a MinIO bucket with object lock:
// nothing of a backup can be deleted before its retain-until date, prune
// reports that and moves on with the data intact, and after the date the
// same prune deletes the generation.
func TestPruneObjectLock(t *testing.T) {
	srv := harness.SharedMinIO(t)
	ctx := context.Background()
	st, err := s3.New(ctx, s3.Options{Endpoint: srv.Endpoint, Bucket: srv.BucketWithLock(t),
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Init(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	// The retention is a few seconds, so that the test sees it expire.
	retain := time.Now().Add(8 * time.Second).Truncate(time.Second)
	write := func(typ string, base *Manifest, seed uint64) *Manifest {
		w, err := r.NewBackup(ctx, BackupOptions{Database: "queue", Type: typ, Base: base, RetainUntil: retain})
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
		if _, err := pw.Write(data(seed, 700<<10)); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx, &engines.Snapshot{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	old := write(Full, nil, 1)
	write(Differential, old, 2)
	if !old.RetainUntil.Equal(retain) {
		t.Fatalf("manifest records retain-until %s, want %s", old.RetainUntil, retain)
	}
	time.Sleep(10 * time.Millisecond) // a later backup id
	write(Full, nil, 3)
	crashed := abortedBackupUntil(t, r, "queue", Full, nil, 4, retain)
	// The lock objects of backups must stay deletable under object lock.
	l, err := r.AcquireLock(ctx, "queue", fastLock)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatalf("releasing a lock in a locked bucket: %v", err)
	}

	// Every object of the old generation refuses deletion.
	chunk := chunkKey("queue", old.Generation, old.Parts[0].Chunks[0].ID)
	for _, key := range []string{chunk, old.Key()} {
		err := st.Delete(ctx, key)
		if !errors.Is(err, storage.ErrRetained) {
			t.Fatalf("deleting %s before its retain-until date: %v", key, err)
		}
		if re, ok := errors.AsType[*storage.RetentionError](err); !ok || !re.Until.Equal(retain) {
			t.Fatalf("deleting %s: the storage does not say until when: %#v", key, err)
		}
	}

	opts := PruneOptions{Policies: map[string]RetentionPolicy{"queue": {Generations: 1}}, Grace: 0}
	res, err := r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	o := outcome(t, res, "queue", old.ID)
	if o.Status != PruneRetained || !strings.Contains(o.Error, "retained until") || res.Failed() || res.DeletedObjects != 0 {
		t.Fatalf("prune before expiry: %+v (deleted %d)", o, res.DeletedObjects)
	}
	orphans := func(res *PruneResult) OrphanOutcome {
		for _, o := range res.Databases[0].Orphans {
			if o.Generation == crashed.Generation() {
				return o
			}
		}
		t.Fatalf("no orphan outcome for the crashed full: %+v", res.Databases[0].Orphans)
		return OrphanOutcome{}
	}
	if o := orphans(res); o.Status != PruneRetained || o.Objects == 0 || o.Deleted != 0 {
		t.Fatalf("orphans under retention: %+v", o)
	}
	// A prune that does not know the date (a manifest from before the date
	// was recorded) tries, is refused by the storage, and reports it.
	late := opts
	late.Now = retain.Add(time.Hour)
	res, err = r.Prune(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(t, res, "queue", old.ID); o.Status != PruneRetained || res.Failed() || !o.RetainUntil.Equal(retain) ||
		!strings.Contains(o.Error, "the storage refused the delete") {
		t.Fatalf("prune refused by the storage: %+v", o)
	}
	if check, err := r.Check(ctx, CheckOptions{ReadData: true}); err != nil || !check.OK() || check.Backups != 3 {
		t.Fatalf("data after the refused prunes: %+v %v", check, err)
	}
	if got, err := readPart(t, r, old, "t"); err != nil || !bytes.Equal(got, data(1, 700<<10)) {
		t.Fatalf("reading the old full after the refused prunes: %v", err)
	}

	time.Sleep(time.Until(retain) + 1500*time.Millisecond)
	res, err = r.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(t, res, "queue", old.ID); o.Status != PruneDeleted || res.Failed() {
		t.Fatalf("prune after expiry: %+v", o)
	}
	if o := orphans(res); o.Status != PruneDeleted || o.Deleted != o.Objects {
		t.Fatalf("orphans after expiry: %+v", o)
	}
	refs, err := r.ListManifests(ctx, "queue")
	if err != nil || len(refs) != 1 {
		t.Fatalf("after prune: %v %v", refs, err)
	}
	n, _, err := r.countPrefix(ctx, generationDataPrefix("queue", old.Generation))
	if err != nil || n != 0 {
		t.Fatalf("%d objects of the pruned generation left (%v)", n, err)
	}
}
