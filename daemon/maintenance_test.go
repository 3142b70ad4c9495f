package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/mirror"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

// TestMaintenancePrunesMirrors: the daemon's daily prune goes through
// prune.Run: the repository and then every mirror are pruned by the
// policy's retention, each recorded as a "prune" job of the schedule, and a
// mirror that cannot be reached fails the job without keeping the others
// from being pruned.
func TestMaintenancePrunesMirrors(t *testing.T) {
	ctx := context.Background()
	srv := harness.SharedMinIO(t)
	// A port nothing listens on: the "gone" mirror is unreachable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	t.Setenv("MAINT_TEST_PASS", "maintenance test passphrase")
	t.Setenv("MAINT_TEST_ACCESS", srv.AccessKey)
	t.Setenv("MAINT_TEST_SECRET", srv.SecretKey)
	s3 := func(name, endpoint, bucket string) string {
		return fmt.Sprintf(`storage %q {
  type       = "s3"
  endpoint   = %q
  bucket     = %q
  access_key = env("MAINT_TEST_ACCESS")
  secret_key = env("MAINT_TEST_SECRET")
}
`, name, endpoint, bucket)
	}
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
  timezone  = "UTC"
}
storage "local" {
  type = "local"
  path = %q
}
%s%s
repository {
  storage    = "local"
  mirrors    = ["offsite", "gone"]
  passphrase = env("MAINT_TEST_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "none"
  retention {
    generations = 1
  }
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://postgres@127.0.0.1:1/queue?sslmode=disable"
  policy = "p"
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), s3("offsite", srv.Endpoint, srv.Bucket(t)), s3("gone", gone, "backups"))
	path := filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("test policy: %v", diags)
	}
	primary, err := site.InitRepository(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for m := 1; m <= 3; m++ {
		w, err := primary.NewBackup(ctx, repository.BackupOptions{ID: repository.NewBackupID(time.Date(2026, time.Month(m), 3, 1, 0, 0, 0, time.UTC)),
			Database: "queue", Engine: "postgres", Type: repository.Full})
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t", Kind: engines.KindTable})
		pw.Write([]byte(strings.Repeat(fmt.Sprintf("row %d\n", m), 20000)))
		pw.Close()
		if _, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"}); err != nil {
			t.Fatal(err)
		}
	}
	mst, err := site.OpenStorage(ctx, cfg, "offsite", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mirror.Run(ctx, mirror.Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: cfg.Repository.Passphrase}); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()

	err = repoPrune{}.Prune(ctx, &Env{Config: cfg, Catalog: cat, Logger: hclog.NewNullLogger()}, "schedule", "")
	if err == nil || !strings.Contains(err.Error(), "pruning mirror gone") || strings.Contains(err.Error(), "offsite") || !Transient(err) {
		t.Fatalf("prune with one mirror unreachable = %v, want a transient error about that mirror alone", err)
	}
	offsite, err := repository.Open(ctx, mst, cfg.Repository.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*repository.Repo{primary, offsite} {
		if refs, err := r.ListManifests(ctx, ""); err != nil || len(refs) != 1 || !strings.HasPrefix(refs[0].ID, "20260303") {
			t.Fatalf("%s after the daemon's prune: %v %v", r.Storage(), refs, err)
		}
	}
	jobs, err := cat.Jobs(ctx, catalog.JobFilter{Kind: "prune"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ target, status string }{{"local", catalog.StatusOK}, {"offsite", catalog.StatusOK}, {"gone", catalog.StatusFailed}}
	if len(jobs) != len(want) {
		t.Fatalf("prune jobs: %+v", jobs)
	}
	for i, w := range want {
		if j := jobs[i]; j.Target != w.target || j.Status != w.status || j.Trigger != "schedule" {
			t.Errorf("prune job %d: %+v, want %s %s", i, j, w.target, w.status)
		}
	}
}
