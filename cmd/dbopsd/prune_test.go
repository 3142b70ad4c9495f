package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/prune"
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

	var out2 prune.Result
	s.okJSON(&out2, "prune")
	if len(out2.Storages) != 1 || out2.Storages[0].Storage != "repo" || out2.Storages[0].Role != prune.RolePrimary || out2.Storages[0].Result == nil {
		t.Fatalf("prune --json: %+v", out2)
	}
	res := out2.Storages[0].Result
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

	var out prune.Result
	s.okJSON(&out, "prune", "--grace", "0")
	res := out.Storages[0].Result
	g := res.Databases[0].Generations[1]
	// policy "p" is monthly with 1 generation: one month of retention.
	if g.ID != old.ID || g.Status != repository.PruneRetained || g.RetainUntil.Before(time.Now().AddDate(0, 1, -1)) || res.DeletedObjects != 0 {
		t.Fatalf("prune under object lock: %+v", g)
	}
	text := s.ok("prune")
	if !strings.Contains(text, "retained     generation "+old.ID) || !strings.Contains(text, "retained until "+g.RetainUntil.Local().Format("2006-01-02")) {
		t.Errorf("prune output under object lock:\n%s", text)
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

// TestPruneMirrorCommand: `dbopsd prune` prunes the repository and then the
// mirror, each on its own backups by the same retention, and reports each;
// backups the primary loses stay on the mirror; with the mirror down the
// primary is pruned and the mirror's failure is reported on its own.
func TestPruneMirrorCommand(t *testing.T) {
	offsite := harness.NewMinIO(t)
	t.Setenv("OPS_S3_ACCESS", offsite.AccessKey)
	t.Setenv("OPS_S3_SECRET_OFFSITE", offsite.SecretKey)
	repoDir := filepath.Join(t.TempDir(), "repo")
	s := newOpsSite(t, opsConfig{storages: fmt.Sprintf("storage \"repo\" {\n  type = \"local\"\n  path = %q\n}\n", repoDir) +
		s3Block("offsite", offsite, offsite.Bucket(t), false),
		mirrors: []string{"offsite"}, databases: []string{"hall"}, generations: 2, fill: fillRows(3000)})
	s.ok("repo", "init")
	for range 4 {
		s.ok("backup", "--database", "hall", "--type", "full")
	}
	s.ok("mirror")
	all := s.list().Backups

	var res prune.Result
	s.okJSON(&res, "prune")
	if len(res.Storages) != 2 {
		t.Fatalf("prune --json: %+v", res)
	}
	for i, want := range []struct{ name, role, url string }{{"repo", prune.RolePrimary, "file://"}, {"offsite", prune.RoleMirror, "s3://"}} {
		sp := res.Storages[i]
		if sp.Storage != want.name || sp.Role != want.role || !strings.HasPrefix(sp.URL, want.url) || sp.Error != "" ||
			sp.Result == nil || sp.Result.DeletedBackups != 2 || sp.JobID == 0 {
			t.Fatalf("storage %d: %+v", i, sp)
		}
	}
	ids := func(l opsList) []string {
		var out []string
		for _, b := range l.Backups {
			out = append(out, b.ID)
		}
		return out
	}
	kept := []string{all[2].ID, all[3].ID}
	if got := ids(s.list()); !slices.Equal(got, kept) {
		t.Fatalf("primary after prune: %v, want %v", got, kept)
	}
	if got := ids(s.list("--storage", "offsite")); !slices.Equal(got, kept) {
		t.Fatalf("mirror after prune: %v, want %v", got, kept)
	}
	s.ok("check", "--storage", "offsite", "--read-data")

	// The newest backup is deleted from the primary by hand: the mirror
	// keeps it, as its own retention does.
	for _, sub := range []string{"manifests", "data"} {
		if err := os.RemoveAll(filepath.Join(repoDir, sub, "hall", all[3].Generation)); err != nil {
			t.Fatal(err)
		}
	}
	text := s.ok("prune")
	t.Logf("prune:\n%s", text)
	for _, want := range []string{"storage repo (primary, file://", "storage offsite (mirror, s3://", "newest 2 generations (#2)"} {
		if !strings.Contains(text, want) {
			t.Errorf("prune output does not say %q:\n%s", want, text)
		}
	}
	if got := ids(s.list("--storage", "offsite")); !slices.Equal(got, kept) {
		t.Fatalf("mirror after the primary lost %s: %v, want %v", all[3].ID, got, kept)
	}

	// The mirror goes down: the primary is pruned (and recorded), the
	// mirror fails alone, said on stderr and in the JSON.
	offsite.Stop(t)
	out, errs, code := s.run("prune", "--json")
	if code != 1 || !strings.Contains(errs, "pruning mirror offsite") || !strings.Contains(errs, offsite.Endpoint) {
		t.Fatalf("prune with the mirror down: exit %d\n%s", code, errs)
	}
	t.Logf("prune with the mirror down: %s", errs)
	res = prune.Result{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("prune --json with the mirror down: %v\n%s", err, out)
	}
	if len(res.Storages) != 2 || res.Storages[0].Error != "" || res.Storages[0].Result == nil ||
		res.Storages[1].Result != nil || !strings.Contains(res.Storages[1].Error, offsite.Endpoint) {
		t.Fatalf("prune --json with the mirror down:\n%s", out)
	}
	var log struct {
		Jobs []struct{ Kind, Status, Target string } `json:"jobs"`
	}
	s.okJSON(&log, "log")
	last := log.Jobs[len(log.Jobs)-2:]
	if last[0].Kind != "prune" || last[0].Target != "repo" || last[0].Status != "ok" ||
		last[1].Kind != "prune" || last[1].Target != "offsite" || last[1].Status != "failed" {
		t.Errorf("job log after prune with the mirror down: %+v", last)
	}
	// --storage prunes one storage: the primary alone does not need the
	// mirror.
	if text := s.ok("prune", "--storage", "repo"); strings.Contains(text, "offsite") {
		t.Errorf("prune --storage repo touched the mirror:\n%s", text)
	}
	if _, errs, code := s.run("prune", "--storage", "nope"); code != 2 || !strings.Contains(errs, `"nope"`) {
		t.Errorf("prune --storage nope: exit %d %s", code, errs)
	}
}
