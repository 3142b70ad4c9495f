package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
	"github.com/dbopsd/dbopsd/storage/s3"
)

func TestMain(m *testing.M) { harness.Main(m) }

var pass = secret.New("mirror test passphrase")

// rows returns n bytes of table-like text, different per seed.
func rows(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "%d\t%x\t窗口%d\n", rng.IntN(1e9), rng.Uint64(), rng.IntN(40))
	}
	return b.Bytes()[:n]
}

// backup writes one backup of db with one part "t" holding content.
func backup(t *testing.T, r *repository.Repo, db, typ string, base *repository.Manifest, content []byte) *repository.Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := r.NewBackup(ctx, repository.BackupOptions{Database: db, Engine: "postgres", Type: typ, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "t", Kind: engines.KindTable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(content); err != nil {
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

func readPart(t *testing.T, r *repository.Repo, m *repository.Manifest) []byte {
	t.Helper()
	rc, err := r.Source(m).Open(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading backup %s: %v", m.ID, err)
	}
	return b
}

func s3Store(t *testing.T, srv *harness.MinIO, bucket string) storage.Storage {
	t.Helper()
	st, err := s3.New(context.Background(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "site1",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func localStore(t *testing.T) storage.Storage {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func count(t *testing.T, st storage.Storage, prefix string) int {
	t.Helper()
	n := 0
	if err := st.List(context.Background(), prefix, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMirrorTwoMinIO mirrors a repository between two MinIO servers, then
// stops the primary and rebuilds the catalog and reads every backup from
// the mirror alone.
func TestMirrorTwoMinIO(t *testing.T) {
	ctx := context.Background()
	primarySrv, mirrorSrv := harness.NewMinIO(t), harness.NewMinIO(t)
	pst := s3Store(t, primarySrv, primarySrv.Bucket(t))
	mst := s3Store(t, mirrorSrv, mirrorSrv.Bucket(t))
	primary, err := repository.Init(ctx, pst, pass)
	if err != nil {
		t.Fatal(err)
	}
	queue := rows(1, 3<<20)
	staff := rows(2, 1<<20)
	full := backup(t, primary, "queue", repository.Full, nil, queue)
	grown := append(append([]byte{}, queue...), rows(3, 100<<10)...)
	diff := backup(t, primary, "queue", repository.Differential, full, grown)
	other := backup(t, primary, "staff", repository.Full, nil, staff)
	// A backup still running: its chunks are there, its manifest is not.
	running, err := primary.NewBackup(ctx, repository.BackupOptions{Database: "staff", Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := running.CreatePart(ctx, engines.PartInfo{Name: "t"})
	pw.Write(rows(4, 1<<20))
	pw.Close()
	lock, err := primary.AcquireLock(ctx, "staff", repository.LockOptions{VerifyDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(ctx)

	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	opts := Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass, Catalog: cat, Trigger: "cli"}
	var progressed int64
	var pmu sync.Mutex
	opts.Progress = func(done, total int64) {
		pmu.Lock()
		progressed = max(progressed, done)
		pmu.Unlock()
	}
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for _, m := range []*repository.Manifest{full, diff, other} {
		for k := range m.ChunkKeys() {
			referenced[k] = true
		}
	}
	if res.Copied[repository.ObjectManifest].Objects != 3 || res.Copied[repository.ObjectChunk].Objects != len(referenced) ||
		res.Copied[repository.ObjectKey].Objects != 1 || res.Copied[repository.ObjectConfig].Objects != 1 || res.Backups != 3 || !res.OK() {
		t.Fatalf("first run: %+v", res)
	}
	if progressed != res.Copied[repository.ObjectChunk].Bytes {
		t.Errorf("progress reached %d bytes of %d", progressed, res.Copied[repository.ObjectChunk].Bytes)
	}
	// Neither the running backup's chunks nor the lock were copied.
	if n := count(t, mst, repository.DataPrefix); n != len(referenced) {
		t.Errorf("the mirror holds %d chunks, the manifests name %d", n, len(referenced))
	}
	if n := count(t, mst, repository.LocksPrefix); n != 0 {
		t.Errorf("a lock was copied")
	}
	state, err := ReadState(ctx, mst, primary.ID())
	if err != nil || state.Backups != 3 || state.Newest["queue"] != diff.ID || state.Finished.IsZero() || state.Mirror != "offsite" {
		t.Fatalf("state on the mirror: %+v %v", state, err)
	}
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Kind: "mirror"})
	if err != nil || len(jobs) != 1 || jobs[0].Status != catalog.StatusOK || jobs[0].Target != "offsite" || jobs[0].Bytes == 0 {
		t.Fatalf("catalog job: %+v %v", jobs, err)
	}

	// A second run copies nothing; a new backup brings only its own.
	res, err = Run(ctx, opts)
	if err != nil || res.total().Objects != 0 {
		t.Fatalf("second run copied %+v (%v)", res.Copied, err)
	}
	diff2 := backup(t, primary, "queue", repository.Differential, full, append(grown, rows(5, 50<<10)...))
	res, err = Run(ctx, opts)
	if err != nil || res.Copied[repository.ObjectManifest].Objects != 1 || res.Copied[repository.ObjectChunk].Objects == 0 ||
		res.Copied[repository.ObjectChunk].Objects > 3 || res.Newest["queue"] != diff2.ID {
		t.Fatalf("run after a differential: %+v (%v)", res, err)
	}

	// The primary goes down: everything is read from the mirror.
	primarySrv.Stop(t)
	mirrorRepo, err := repository.Open(ctx, mst, pass)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	rb, err := fresh.Rebuild(ctx, mirrorRepo)
	if err != nil || rb.Backups != 4 || len(rb.Damaged) != 0 {
		t.Fatalf("catalog rebuild from the mirror: %+v %v", rb, err)
	}
	bs, err := fresh.Backups(ctx, "queue")
	if err != nil || len(bs) != 3 || bs[2].ID != diff2.ID || bs[2].Base != full.ID {
		t.Fatalf("rebuilt catalog: %+v %v", bs, err)
	}
	for m, want := range map[*repository.Manifest][]byte{full: queue, diff: grown, other: staff} {
		got, err := mirrorRepo.FindBackup(ctx, m.Database, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readPart(t, mirrorRepo, got), want) {
			t.Fatalf("backup %s read from the mirror differs", m.ID)
		}
	}
	check, err := mirrorRepo.Check(ctx, repository.CheckOptions{ReadData: true})
	if err != nil || !check.OK() {
		t.Fatalf("check of the mirror: %+v %v", check, err)
	}
	// With the primary down, a mirror run fails and says so.
	if _, err := Run(ctx, opts); err == nil {
		t.Fatal("mirror run with the primary down succeeded")
	}
}

// recording records the order of Puts and fails those of chosen keys.
type recording struct {
	storage.Storage
	mu   sync.Mutex
	puts []string
	fail func(key string) bool
}

func (r *recording) Put(ctx context.Context, key string, rd io.Reader, size int64, o storage.PutOptions) error {
	if r.fail != nil && r.fail(key) {
		return fmt.Errorf("storing %q: disk full", key)
	}
	if err := r.Storage.Put(ctx, key, rd, size, o); err != nil {
		return err
	}
	r.mu.Lock()
	r.puts = append(r.puts, key)
	r.mu.Unlock()
	return nil
}

// TestMirrorOrderAndFailures: keys before the config before chunks before
// manifests, a manifest only after its chunks, and a chunk that cannot be
// copied keeps its backups off the mirror until a later run.
func TestMirrorOrderAndFailures(t *testing.T) {
	ctx := context.Background()
	primary, err := repository.Init(ctx, localStore(t), pass)
	if err != nil {
		t.Fatal(err)
	}
	full := backup(t, primary, "queue", repository.Full, nil, rows(1, 2<<20))
	other := backup(t, primary, "staff", repository.Full, nil, rows(2, 1<<20))
	var victim string
	for k := range full.ChunkKeys() {
		victim = k
		break
	}
	mst := &recording{Storage: localStore(t), fail: func(key string) bool { return key == victim }}
	opts := Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass}
	res, err := Run(ctx, opts)
	if !errors.Is(err, ErrIncomplete) || res == nil {
		t.Fatalf("run with a failing chunk: %v", err)
	}
	if len(res.Missing) != 1 || !strings.Contains(res.Missing[0], full.ID) || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "disk full") {
		t.Fatalf("missing %q, problems %q", res.Missing, res.Problems)
	}
	mirrorRepo, err := repository.Open(ctx, mst, pass)
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := mirrorRepo.ListManifests(ctx, "")
	if len(refs) != 1 || refs[0].ID != other.ID {
		t.Fatalf("the mirror lists %v, want only %s", refs, other.ID)
	}
	rank := map[string]int{repository.ObjectKey: 0, repository.ObjectConfig: 1, repository.ObjectChunk: 2, repository.ObjectManifest: 3, repository.ObjectOther: 4}
	for i := 1; i < len(mst.puts); i++ {
		if rank[repository.ObjectKind(mst.puts[i])] < rank[repository.ObjectKind(mst.puts[i-1])] {
			t.Fatalf("%s was copied after %s", mst.puts[i], mst.puts[i-1])
		}
	}

	mst.fail = nil
	res, err = Run(ctx, opts)
	if err != nil || res.Backups != 2 || res.Copied[repository.ObjectChunk].Objects != 1 {
		t.Fatalf("run after the failure: %+v %v", res, err)
	}
	if got := readPart(t, mirrorRepo, full); !bytes.Equal(got, rows(1, 2<<20)) {
		t.Fatal("the backup completed by the second run reads wrong")
	}
}

func TestMirrorRefusesAnotherRepository(t *testing.T) {
	ctx := context.Background()
	primary, err := repository.Init(ctx, localStore(t), pass)
	if err != nil {
		t.Fatal(err)
	}
	mst := localStore(t)
	if _, err := repository.Init(ctx, mst, pass); err != nil {
		t.Fatal(err)
	}
	_, err = Run(ctx, Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass})
	if err == nil || !strings.Contains(err.Error(), "holds another repository") {
		t.Fatalf("mirroring onto another repository: %v", err)
	}
}

// TestMirrorRekey: after `repo rekey` on the primary, the mirror opens with
// the new passphrase and no longer with the old one.
func TestMirrorRekey(t *testing.T) {
	ctx := context.Background()
	primary, err := repository.Init(ctx, localStore(t), pass)
	if err != nil {
		t.Fatal(err)
	}
	backup(t, primary, "queue", repository.Full, nil, rows(1, 300<<10))
	mst := localStore(t)
	if _, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	newPass := secret.New("the new passphrase")
	if err := primary.Rekey(ctx, newPass); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: newPass})
	if err != nil || len(res.RemovedKeys) != 1 {
		t.Fatalf("run after rekey: %+v %v", res, err)
	}
	if _, err := repository.Open(ctx, mst, pass); !errors.Is(err, repository.ErrWrongPassphrase) {
		t.Fatalf("old passphrase on the mirror: %v", err)
	}
	if _, err := repository.Open(ctx, mst, newPass); err != nil {
		t.Fatalf("new passphrase on the mirror: %v", err)
	}
}

// TestMirrorObjectLock: onto a locked bucket, copies carry the retain-until
// dates of their backups.
func TestMirrorObjectLock(t *testing.T) {
	ctx := context.Background()
	srv := harness.SharedMinIO(t)
	primary, err := repository.Init(ctx, localStore(t), pass)
	if err != nil {
		t.Fatal(err)
	}
	retain := time.Now().Add(time.Hour)
	w, err := primary.NewBackup(ctx, repository.BackupOptions{Database: "queue", Type: repository.Full, RetainUntil: retain})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	pw.Write(rows(1, 500<<10))
	pw.Close()
	m, err := w.Commit(ctx, &engines.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	mst := s3Store(t, srv, srv.BucketWithLock(t))
	if _, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "vault", Passphrase: pass, ObjectLock: true}); err != nil {
		t.Fatal(err)
	}
	var chunk string
	for k := range m.ChunkKeys() {
		chunk = k
	}
	for _, key := range []string{chunk, m.Key()} {
		if err := mst.Delete(ctx, key); err == nil {
			t.Fatalf("%s on the locked mirror was deleted before its retain-until date", key)
		}
	}
	// The state object is rewritten by every run, so it carries no lock.
	if _, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "vault", Passphrase: pass, ObjectLock: true}); err != nil {
		t.Fatalf("second run onto the locked mirror: %v", err)
	}
}

// TestMirrorKeepsWhatThePrimaryDeleted: a mirror run never replays the
// primary's deletions, by prune or by hand: the off-site copy loses
// backups only to its own prune (prune.Run), by retention.
func TestMirrorKeepsWhatThePrimaryDeleted(t *testing.T) {
	ctx := context.Background()
	primary, err := repository.Init(ctx, localStore(t), pass)
	if err != nil {
		t.Fatal(err)
	}
	var fulls []*repository.Manifest
	for i := range 3 {
		fulls = append(fulls, backup(t, primary, "queue", repository.Full, nil, rows(uint64(10+i), 400<<10)))
	}
	mst := localStore(t)
	opts := Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass}
	if res, err := Run(ctx, opts); err != nil || res.Backups != 3 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	chunks := count(t, mst, repository.DataPrefix)

	// The primary prunes two generations, and loses the third's manifest.
	pr, err := primary.Prune(ctx, repository.PruneOptions{Policies: map[string]repository.RetentionPolicy{"queue": {Generations: 1}}})
	if err != nil || pr.DeletedBackups != 2 {
		t.Fatalf("prune of the primary: %+v %v", pr, err)
	}
	if err := primary.Storage().Delete(ctx, fulls[2].Key()); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, opts)
	if err != nil || res.Backups != 3 || res.total().Objects != 0 {
		t.Fatalf("run after the primary lost everything: %+v %v", res, err)
	}
	if n := count(t, mst, repository.DataPrefix); n != chunks {
		t.Fatalf("the mirror holds %d chunks, %d before", n, chunks)
	}
	mirrorRepo, err := repository.Open(ctx, mst, pass)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range fulls {
		if got := readPart(t, mirrorRepo, m); !bytes.Equal(got, rows(uint64(10+i), 400<<10)) {
			t.Fatalf("backup %s on the mirror reads wrong", m.ID)
		}
	}
}
