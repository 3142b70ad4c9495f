package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/storage/s3"
)

func TestPruneCommand(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"hall"}, generations: 2, fill: fillRows(5000)})
	s.ok("repo", "init")
	for range 3 {
		s.ok("backup", "--database", "hall", "--type", "full")
	}
	s.ok("backup", "--database", "hall", "--type", "differential")
	s.ok("backup", "--database", "hall", "--type", "full")
	l := s.list()
	if len(l.Backups) != 5 {
		t.Fatalf("list: %+v", l)
	}
	oldest, second := l.Backups[0].ID, l.Backups[1].ID
	// The oldest full passed a restore verification: it stays.
	cat, err := catalog.Open(s.stateDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetVerified(context.Background(), oldest, "ok", time.Now()); err != nil {
		t.Fatal(err)
	}
	cat.Close()

	out := s.ok("prune", "--dry-run")
	t.Logf("prune --dry-run:\n%s", out)
	for _, want := range []string{"would delete generation " + second, "newest verified full", "newest 2 generations (#1)", "dry run: nothing was deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune --dry-run does not say %q:\n%s", want, out)
		}
	}
	if l := s.list(); len(l.Backups) != 5 {
		t.Fatalf("the dry run deleted backups: %+v", l)
	}

	var res repository.PruneResult
	s.okJSON(&res, "prune")
	if res.DeletedBackups != 1 || len(res.Databases) != 1 {
		t.Fatalf("prune --json: %+v", res)
	}
	kept := 0
	for _, g := range res.Databases[0].Generations {
		switch {
		case g.ID == second && g.Status != repository.PruneDeleted:
			t.Errorf("generation %s: %+v", g.ID, g)
		case g.Status == repository.PruneKept:
			kept++
		}
	}
	if kept != 3 {
		t.Errorf("%d generations kept, want 3: %+v", kept, res.Databases[0].Generations)
	}
	// The catalog follows: list shows what is left.
	l = s.list()
	if len(l.Backups) != 4 || slices.ContainsFunc(l.Backups, func(b opsBackup) bool { return b.Generation == second }) {
		t.Fatalf("list after prune: %+v", l)
	}
	s.ok("check", "--read-data")
	var log struct {
		Jobs []struct{ Kind, Status string } `json:"jobs"`
	}
	s.okJSON(&log, "log")
	if !slices.ContainsFunc(log.Jobs, func(j struct{ Kind, Status string }) bool { return j.Kind == "prune" && j.Status == "ok" }) {
		t.Errorf("no prune job in the log: %+v", log.Jobs)
	}
	if _, errs, code := s.run("prune", "--database", "nope"); code != 1 || !strings.Contains(errs, `"nope"`) {
		t.Errorf("prune of an unknown database: exit %d %s", code, errs)
	}
}

// TestPruneObjectLockCommand: with object_lock = true, every object of a
// backup is written with a retain-until date; prune reports the expired
// generation as retained until that date and deletes nothing.
func TestPruneObjectLockCommand(t *testing.T) {
	srv := harness.SharedMinIO(t)
	bucket := srv.BucketWithLock(t)
	t.Setenv("OPS_S3_ACCESS", srv.AccessKey)
	t.Setenv("OPS_S3_SECRET_REPO", srv.SecretKey)
	s := newOpsSite(t, opsConfig{storages: s3Block("repo", srv, bucket, true), databases: []string{"hall"}, generations: 1, fill: fillRows(5000)})
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	s.ok("backup", "--database", "hall", "--type", "full")
	old := s.list().Backups[0]

	var res repository.PruneResult
	s.okJSON(&res, "prune", "--grace", "0")
	g := res.Databases[0].Generations[1]
	// policy "p" is monthly with 1 generation: one month of retention.
	if g.ID != old.ID || g.Status != repository.PruneRetained || g.RetainUntil.Before(time.Now().AddDate(0, 1, -1)) || res.DeletedObjects != 0 {
		t.Fatalf("prune under object lock: %+v", g)
	}
	out := s.ok("prune")
	if !strings.Contains(out, "retained     generation "+old.ID) || !strings.Contains(out, "retained until "+g.RetainUntil.Local().Format("2006-01-02")) {
		t.Errorf("prune output under object lock:\n%s", out)
	}
	// The storage itself refuses: the retention is real.
	st, err := s3.New(context.Background(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "chenggong", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(context.Background(), "manifests/hall/"+old.ID+"/"+old.ID); err == nil {
		t.Fatal("a locked manifest was deleted")
	}
	if l := s.list(); len(l.Backups) != 2 {
		t.Fatalf("backups after the refused prune: %+v", l)
	}
	s.ok("check", "--read-data")
}
