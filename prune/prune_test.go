package prune_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/minio/minio-go/v7"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/mirror"
	"github.com/dbopsd/dbopsd/prune"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage"
)

func TestMain(m *testing.M) { harness.Main(m) }

const passphrase = "site prune test passphrase"

// pruneSite is a policy with a local primary and a mirror "offsite" on
// MinIO, keeping the newest two generations of database "queue".
type pruneSite struct {
	t   *testing.T
	dir string
	cfg *config.Config
	cat *catalog.Catalog
	// primary and offsite are the repository on each storage.
	primary, offsite *repository.Repo
}

func newPruneSite(t *testing.T, srv *harness.MinIO, bucket string, objectLock bool) *pruneSite {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SITE_TEST_PASS", passphrase)
	t.Setenv("SITE_TEST_ACCESS", srv.AccessKey)
	t.Setenv("SITE_TEST_SECRET", srv.SecretKey)
	src := fmt.Sprintf(`daemon {
  state_dir = %q
  timezone  = "UTC"
}
storage "repo" {
  type = "local"
  path = %q
}
storage "offsite" {
  type        = "s3"
  endpoint    = %q
  bucket      = %q
  prefix      = "site1"
  access_key  = env("SITE_TEST_ACCESS")
  secret_key  = env("SITE_TEST_SECRET")
  object_lock = %v
}
repository {
  storage    = "repo"
  mirrors    = ["offsite"]
  passphrase = env("SITE_TEST_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  retention {
    generations = 2
  }
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://postgres@127.0.0.1:1/queue?sslmode=disable"
  policy = "p"
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), srv.Endpoint, bucket, objectLock)
	path := filepath.Join(dir, "dbopsd.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("test policy: %v", diags)
	}
	ctx := context.Background()
	primary, err := site.InitRepository(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &pruneSite{t: t, dir: dir, cfg: cfg, cat: cat, primary: primary}
}

// generation writes a full of queue started at, and a differential on it
// two weeks later, into the primary. It returns the generation id.
func (s *pruneSite) generation(at time.Time) string {
	s.t.Helper()
	full := s.backup(at, repository.Full, nil)
	s.backup(at.AddDate(0, 0, 14), repository.Differential, full)
	return full.Generation
}

func (s *pruneSite) backup(at time.Time, typ string, base *repository.Manifest) *repository.Manifest {
	s.t.Helper()
	ctx := context.Background()
	w, err := s.primary.NewBackup(ctx, repository.BackupOptions{ID: repository.NewBackupID(at), Database: "queue", Engine: "postgres", Type: typ, Base: base})
	if err != nil {
		s.t.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "t", Kind: engines.KindTable})
	if err != nil {
		s.t.Fatal(err)
	}
	b := make([]byte, 300<<10)
	rand.NewChaCha8([32]byte{byte(at.Month()), byte(at.Day())}).Read(b)
	if _, err := pw.Write(b); err != nil {
		s.t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		s.t.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// mirror copies the primary to offsite, as `dbopsd mirror` does.
func (s *pruneSite) mirror() *mirror.Result {
	s.t.Helper()
	ctx := context.Background()
	st, err := site.OpenStorage(ctx, s.cfg, "offsite", hclog.NewNullLogger())
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := mirror.Run(ctx, mirror.Options{Primary: s.primary, Mirror: st, Name: "offsite", Passphrase: s.cfg.Repository.Passphrase,
		ObjectLock: s.cfg.Storages["offsite"].ObjectLock, Catalog: s.cat, Trigger: "test"})
	if err != nil {
		s.t.Fatalf("mirror: %v", err)
	}
	if s.offsite == nil {
		if s.offsite, err = repository.Open(ctx, st, s.cfg.Repository.Passphrase); err != nil {
			s.t.Fatal(err)
		}
	}
	return res
}

// generations lists the generations of queue in r, oldest first.
func generations(t *testing.T, r *repository.Repo) []string {
	t.Helper()
	refs, err := r.ListManifests(context.Background(), "queue")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ref := range refs {
		if !slices.Contains(out, ref.Generation) {
			out = append(out, ref.Generation)
		}
	}
	slices.Sort(out)
	return out
}

// deleteByHand removes a generation from r's storage behind dbopsd's back,
// manifests and data, as an operator's rm or an attacker would.
func deleteByHand(t *testing.T, r *repository.Repo, gen string) {
	t.Helper()
	ctx := context.Background()
	for _, prefix := range []string{repository.ManifestsPrefix + "queue/" + gen + "/", repository.DataPrefix + "queue/" + gen + "/"} {
		var keys []string
		if err := r.Storage().List(ctx, prefix, func(oi storage.ObjectInfo) error { keys = append(keys, oi.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if err := r.Storage().Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func storageOutcome(t *testing.T, res *prune.Result, name string) *prune.StorageResult {
	t.Helper()
	for _, sp := range res.Storages {
		if sp.Storage == name {
			return sp
		}
	}
	t.Fatalf("no outcome for storage %s in %+v", name, res.Storages)
	return nil
}

func statuses(sp *prune.StorageResult) map[string]string {
	out := map[string]string{}
	if sp.Result == nil {
		return out
	}
	for _, d := range sp.Result.Databases {
		for _, g := range d.Generations {
			out[g.ID] = g.Status
		}
	}
	return out
}

func pruneJobs(t *testing.T, cat *catalog.Catalog) []catalog.Job {
	t.Helper()
	jobs, err := cat.Jobs(context.Background(), catalog.JobFilter{Kind: "prune"})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// TestPruneMirrors: a mirror is pruned by the same retention applied to its
// own backups, never by copying the primary's deletions; verification
// results reach it by backup id, from the job log once the primary has lost
// the backup; and a mirror that cannot be reached fails alone.
func TestPruneMirrors(t *testing.T) {
	ctx := context.Background()
	srv := harness.NewMinIO(t)
	s := newPruneSite(t, srv, srv.Bucket(t), false)
	month := func(m int) time.Time { return time.Date(2026, time.Month(m), 3, 1, 0, 0, 0, time.UTC) }
	var g [8]string // g[m] started in month m
	for m := 1; m <= 5; m++ {
		g[m] = s.generation(month(m))
	}
	// March's full passed a restore verification, recorded as restore.Verify
	// records it: the job log and the backups table.
	if _, err := s.cat.Sync(ctx, s.primary, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cat.RecordJob(ctx, catalog.Job{Kind: "verify", Database: "queue", BackupID: g[3], Target: "scratch"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.cat.SetVerified(ctx, g[3], catalog.StatusOK, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Before any mirror run, the mirror holds nothing to prune: not an
	// error.
	res, err := site.Prune(ctx, s.cfg, s.cat, prune.Options{PruneOptions: repository.PruneOptions{DryRun: true}})
	if err != nil || len(res.Storages) != 2 || res.Storages[1].Skipped == "" || res.Storages[1].Result != nil {
		t.Fatalf("prune before the first mirror run: %+v %v", res, err)
	}
	if res := s.mirror(); res.Backups != 10 {
		t.Fatalf("mirror: %+v", res)
	}

	// A dry run says the same for both storages and deletes nothing.
	res, err = site.Prune(ctx, s.cfg, s.cat, prune.Options{PruneOptions: repository.PruneOptions{DryRun: true}, Trigger: "test"})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(res.Storages) != 2 || res.Storages[0].Storage != "repo" || res.Storages[0].Role != prune.RolePrimary ||
		res.Storages[1].Storage != "offsite" || res.Storages[1].Role != prune.RoleMirror {
		t.Fatalf("dry run storages: %+v", res.Storages)
	}
	for _, sp := range res.Storages {
		if st := statuses(sp); st[g[1]] != repository.PruneWouldDelete || st[g[2]] != repository.PruneWouldDelete || st[g[3]] != repository.PruneKept {
			t.Errorf("dry run on %s: %v", sp.Storage, st)
		}
	}
	if n := len(generations(t, s.offsite)); n != 5 || len(pruneJobs(t, s.cat)) != 0 {
		t.Fatalf("the dry run deleted (%d generations on the mirror) or recorded a job", n)
	}

	// Both keep the newest two and the verified one.
	res, err = site.Prune(ctx, s.cfg, s.cat, prune.Options{Trigger: "test", OSUser: "dba"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{g[3], g[4], g[5]}
	for _, r := range []*repository.Repo{s.primary, s.offsite} {
		if got := generations(t, r); !slices.Equal(got, want) {
			t.Fatalf("%s after prune: %v, want %v", r.Storage(), got, want)
		}
	}
	off := storageOutcome(t, res, "offsite")
	if off.Result.DeletedBackups != 4 || off.Err() != nil || !strings.HasPrefix(off.URL, "s3://") {
		t.Fatalf("mirror outcome: %+v", off)
	}
	if check, err := s.offsite.Check(ctx, repository.CheckOptions{ReadData: true}); err != nil || !check.OK() {
		t.Fatalf("check of the pruned mirror: %+v %v", check, err)
	}
	jobs := pruneJobs(t, s.cat)
	if len(jobs) != 2 || jobs[0].Target != "repo" || jobs[1].Target != "offsite" || jobs[1].Status != catalog.StatusOK ||
		jobs[1].Details["role"] != prune.RoleMirror || jobs[1].Details["deleted_backups"] != float64(4) || jobs[1].Bytes == 0 || jobs[1].OSUser != "dba" {
		t.Fatalf("prune jobs: %+v", jobs)
	}

	// The primary loses its verified and its newest generation (deleted by
	// hand); a list syncs the catalog, which forgets them. A new backup
	// arrives and is mirrored.
	deleteByHand(t, s.primary, g[3])
	deleteByHand(t, s.primary, g[5])
	if _, err := s.cat.Sync(ctx, s.primary, ""); err != nil {
		t.Fatal(err)
	}
	g[6] = s.generation(month(6))
	s.mirror()
	if got := generations(t, s.offsite); !slices.Equal(got, []string{g[3], g[4], g[5], g[6]}) {
		t.Fatalf("mirror after the loss on the primary: %v", got)
	}
	res, err = site.Prune(ctx, s.cfg, s.cat, prune.Options{Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The primary holds two generations: nothing to do. The mirror keeps
	// its own newest two (May's, which the primary lost, among them) and
	// the verified March the primary lost too; April goes by the mirror's
	// own retention.
	if got := generations(t, s.primary); !slices.Equal(got, []string{g[4], g[6]}) {
		t.Fatalf("primary: %v", got)
	}
	if got := generations(t, s.offsite); !slices.Equal(got, []string{g[3], g[5], g[6]}) {
		t.Fatalf("mirror after the second prune: %v, want %v", got, []string{g[3], g[5], g[6]})
	}
	for _, r := range storageOutcome(t, res, "offsite").Result.Databases[0].Generations {
		if r.ID == g[3] && !slices.Contains(r.Reasons, "newest verified full") {
			t.Errorf("March on the mirror is kept for %q", r.Reasons)
		}
	}

	// The mirror goes down: the primary is pruned, the mirror's prune fails
	// on its own and says where.
	g[7] = s.generation(month(7))
	srv.Stop(t)
	res, err = site.Prune(ctx, s.cfg, s.cat, prune.Options{Trigger: "test"})
	if err == nil || errors.Is(err, prune.ErrIncomplete) {
		t.Fatalf("prune with the mirror down: %v", err)
	}
	prim, off := storageOutcome(t, res, "repo"), storageOutcome(t, res, "offsite")
	if prim.Err() != nil || prim.Result.DeletedBackups != 2 || statuses(prim)[g[4]] != repository.PruneDeleted {
		t.Fatalf("primary with the mirror down: %+v", prim)
	}
	if off.Err() == nil || off.Result != nil || !strings.Contains(off.Error, "pruning mirror offsite") || !strings.Contains(off.Error, srv.Endpoint) ||
		!strings.Contains(err.Error(), "offsite") || strings.Contains(err.Error(), srv.SecretKey) {
		t.Fatalf("mirror down: %+v (%v)", off, err)
	}
	jobs = pruneJobs(t, s.cat)[2+2:]
	if len(jobs) != 2 || jobs[0].Target != "repo" || jobs[0].Status != catalog.StatusOK ||
		jobs[1].Target != "offsite" || jobs[1].Status != catalog.StatusFailed || !strings.Contains(jobs[1].Error, srv.Endpoint) {
		t.Fatalf("prune jobs with the mirror down: %+v", jobs)
	}
	t.Logf("mirror down: %v", err)

	// --storage: one storage only; a name that is neither is refused.
	srv.Start(t)
	res, err = site.Prune(ctx, s.cfg, s.cat, prune.Options{Storage: "offsite", Trigger: "test"})
	if err != nil || len(res.Storages) != 1 || res.Storages[0].Storage != "offsite" {
		t.Fatalf("prune of the mirror alone: %+v %v", res, err)
	}
	if _, err := site.Prune(ctx, s.cfg, s.cat, prune.Options{Storage: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("prune of an unknown storage: %v", err)
	}
}

// TestPruneMirrorObjectLock: a mirror bucket whose default retention locks
// every object refuses the prune's deletes; the prune reports the expired
// generation as retained, with the date the storage gives, keeps it whole,
// and does not fail, while the primary is pruned.
func TestPruneMirrorObjectLock(t *testing.T) {
	ctx := context.Background()
	srv := harness.SharedMinIO(t)
	bucket := srv.BucketWithLock(t)
	mode, days := minio.Governance, uint(1)
	if err := srv.Client(t).SetObjectLockConfig(ctx, bucket, &mode, &days, ptr(minio.Days)); err != nil {
		t.Fatal(err)
	}
	s := newPruneSite(t, srv, bucket, true)
	old := s.generation(time.Date(2026, 1, 3, 1, 0, 0, 0, time.UTC))
	for m := 2; m <= 3; m++ {
		s.generation(time.Date(2026, time.Month(m), 3, 1, 0, 0, 0, time.UTC))
	}
	s.mirror()

	res, err := site.Prune(ctx, s.cfg, s.cat, prune.Options{Trigger: "test"})
	if err != nil {
		t.Fatalf("prune with a locked mirror: %v", err)
	}
	if st := statuses(storageOutcome(t, res, "repo")); st[old] != repository.PruneDeleted {
		t.Fatalf("primary: %v", st)
	}
	off := storageOutcome(t, res, "offsite")
	var o repository.GenerationOutcome
	for _, g := range off.Result.Databases[0].Generations {
		if g.ID == old {
			o = g
		}
	}
	if o.Status != repository.PruneRetained || o.RetainUntil.Before(time.Now().Add(23*time.Hour)) || !strings.Contains(o.Error, "the storage refused") ||
		off.Err() != nil || off.Result.Failed() {
		t.Fatalf("expired generation on the locked mirror: %+v (%v)", o, off.Err())
	}
	if got := generations(t, s.offsite); len(got) != 3 || got[0] != old {
		t.Fatalf("mirror after the refused prune: %v", got)
	}
	if check, err := s.offsite.Check(ctx, repository.CheckOptions{ReadData: true}); err != nil || !check.OK() {
		t.Fatalf("check of the locked mirror: %+v %v", check, err)
	}
	jobs := pruneJobs(t, s.cat)
	if len(jobs) != 2 || jobs[1].Status != catalog.StatusOK || jobs[1].Details["retained_generations"] != float64(1) {
		t.Fatalf("prune jobs: %+v", jobs)
	}
}

func ptr[T any](v T) *T { return &v }
