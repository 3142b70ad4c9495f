package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/mirror"
)

func s3Block(name string, srv *harness.MinIO, bucket string, objectLock bool) string {
	return fmt.Sprintf(`storage %q {
  type        = "s3"
  endpoint    = %q
  bucket      = %q
  prefix      = "chenggong"
  access_key  = env("OPS_S3_ACCESS")
  secret_key  = env("OPS_S3_SECRET_%s")
  object_lock = %v
}
`, name, srv.Endpoint, bucket, strings.ToUpper(name), objectLock)
}

// TestMirrorCommand: `dbopsd mirror` copies the repository from one MinIO
// to another; with the primary MinIO stopped, list, restore and catalog
// rebuild work from the mirror with --storage.
func TestMirrorCommand(t *testing.T) {
	primary, offsite := harness.NewMinIO(t), harness.NewMinIO(t)
	t.Setenv("OPS_S3_ACCESS", primary.AccessKey) // both servers use the harness's access key
	t.Setenv("OPS_S3_SECRET_REPO", primary.SecretKey)
	t.Setenv("OPS_S3_SECRET_OFFSITE", offsite.SecretKey)
	s := newOpsSite(t, opsConfig{
		storages:  s3Block("repo", primary, primary.Bucket(t), false) + s3Block("offsite", offsite, offsite.Bucket(t), false),
		mirrors:   []string{"offsite"},
		databases: []string{"hall"},
		fill:      fillRows(200000),
	})
	pgdb := s.dbs["hall"]
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	s.src.Exec(t, pgdb, "INSERT INTO tickets SELECT g, 1, '新市民', 'n' FROM generate_series(200001, 200500) g")
	if out := s.ok("backup", "--database", "hall", "--type", "differential"); !strings.Contains(out, ": differential, ") {
		t.Fatalf("the second backup is not a differential: %s", out)
	}
	want := fingerprint(t, s.src, pgdb, "tickets")

	var res struct{ Mirrors []mirror.Result }
	s.okJSON(&res, "mirror")
	if len(res.Mirrors) != 1 || res.Mirrors[0].Backups != 2 || res.Mirrors[0].Copied["manifest"].Objects != 2 || !res.Mirrors[0].OK() {
		t.Fatalf("mirror --json: %+v", res)
	}
	out := s.ok("mirror")
	if !strings.Contains(out, "mirror offsite") || !strings.Contains(out, "copied 0 objects") || !strings.Contains(out, "2 backups on the mirror") {
		t.Errorf("second mirror run: %q", out)
	}
	var log struct {
		Jobs []struct{ Kind, Status, Target string } `json:"jobs"`
	}
	s.okJSON(&log, "log")
	mirrorJobs := 0
	for _, j := range log.Jobs {
		if j.Kind == "mirror" && j.Status == "ok" && j.Target == "offsite" {
			mirrorJobs++
		}
	}
	if mirrorJobs != 2 {
		t.Errorf("%d mirror jobs in the log: %+v", mirrorJobs, log.Jobs)
	}

	// The primary goes down.
	primary.Stop(t)
	if l := s.list("--storage", "offsite"); len(l.Backups) != 2 || l.Backups[1].Type != "differential" {
		t.Fatalf("list --storage offsite: %+v", l)
	}
	s.ok("restore", "--database", "hall", "--storage", "offsite", "--target", "scratch", "--as", "ops_from_mirror")
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS ops_from_mirror WITH (FORCE)") })
	if got := fingerprint(t, s.dst, "ops_from_mirror", "tickets"); got != want {
		t.Errorf("restore from the mirror: %s, want %s", got, want)
	}
	// A fresh catalog, from the mirror alone.
	var rb struct {
		Backups int `json:"backups"`
	}
	s.okJSON(&rb, "catalog", "rebuild", "--storage", "offsite", "--state-dir", t.TempDir())
	if rb.Backups != 2 {
		t.Errorf("catalog rebuild from the mirror: %+v", rb)
	}
	s.ok("check", "--storage", "offsite", "--read-data")
	// With the primary down, mirror fails clearly.
	if _, errs, code := s.run("mirror"); code != 1 || !strings.Contains(errs, primary.Endpoint) {
		t.Errorf("mirror with the primary down: exit %d: %s", code, errs)
	}
}
