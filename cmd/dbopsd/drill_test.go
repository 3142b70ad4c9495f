package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/site"
)

// TestDrillReportAndList runs a drill as the daemon would (drills start
// only from a request the daemon accepts; here drill.Run is called
// directly), then reads its report back through the CLI.
func TestDrillReportAndList(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	if out := s.ok("drill", "list"); !strings.Contains(out, "no drill reports") {
		t.Errorf("drill list before any drill: %q", out)
	}

	cfg, diags := config.Load(s.config)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	repo, err := site.OpenRepository(t.Context(), cfg, "", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	db, tg := cfg.Databases["hall"], cfg.RestoreTargets["scratch"]
	eng, err := site.Engine(db.Engine)
	if err != nil {
		t.Fatal(err)
	}
	as := fmt.Sprintf("e2e_drill_%d", dbSeq.Add(1))
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+as+" WITH (FORCE)") })
	rep, err := drill.Run(t.Context(), drill.Spec{Database: "hall", Engine: eng, Repo: repo, Catalog: cat, As: as,
		Target: site.RestoreTarget(cfg, tg), SourceServer: db.Server(), StateDir: cfg.Daemon.StateDir, Trigger: "test"})
	if err != nil {
		t.Fatalf("drill: %v", err)
	}

	out := s.ok("drill", "list")
	if !strings.Contains(out, rep.ID) || !strings.Contains(out, "redirected") || !strings.Contains(out, "pass") {
		t.Errorf("drill list: %q", out)
	}
	out = s.ok("drill", "report", rep.ID)
	for _, want := range []string{"PASSED", "redirected", "statistics", "integrity", as, ".html"} {
		if !strings.Contains(out, want) {
			t.Errorf("drill report does not say %q:\n%s", want, out)
		}
	}
	var got drill.Report
	if err := json.Unmarshal([]byte(s.ok("drill", "report", rep.ID, "--json")), &got); err != nil || got.ID != rep.ID || !got.Passed() {
		t.Errorf("drill report --json: %+v %v", got, err)
	}
	page := filepath.Join(s.dir, "drill.html")
	s.ok("drill", "report", rep.ID, "--html", page, "--lang", "en")
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "Disaster recovery drill report") {
		t.Errorf("drill report --html: %v", err)
	}
	if out := s.ok("drill", "report", rep.ID, "--html", "-"); !strings.Contains(out, "灾难恢复演练报告") {
		t.Errorf("drill report --html - is not the Chinese page")
	}
	if msg := s.fails("drill", "report", "R20990101-000000-000000"); !strings.Contains(msg, "drill list") {
		t.Errorf("drill report of a missing id: %q", msg)
	}
	assertNoSecrets(t, s)
}
