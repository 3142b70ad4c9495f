package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/maintenance"
)

// TestMaintenanceProposeFromDiagnosis: once the database has a saved
// monthly diagnosis, maintenance propose adds what its findings call for
// (here DROP INDEX CONCURRENTLY of an index duplicating the primary key),
// naming the finding; before it, only the statistics propose.
func TestMaintenanceProposeFromDiagnosis(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	s.src.Exec(t, s.srcDB, `CREATE TABLE public.dup_host (id bigint PRIMARY KEY, note text);
		INSERT INTO public.dup_host SELECT g, 'x' FROM generate_series(1, 1000) g;
		CREATE INDEX dup_host_id ON public.dup_host (id);`)
	proposals := func() []maintenance.Proposal {
		t.Helper()
		s.ok("maintenance", "propose", "--database", "hall")
		var listed struct{ Sets []maintenance.Set }
		if err := json.Unmarshal([]byte(s.ok("maintenance", "list", "--database", "hall", "--json")), &listed); err != nil || len(listed.Sets) != 1 {
			t.Fatalf("maintenance list: %v %+v", err, listed.Sets)
		}
		return listed.Sets[0].Proposals
	}
	for _, p := range proposals() {
		if p.Source != "statistics" {
			t.Errorf("without a diagnosis: %+v", p)
		}
	}
	s.ok("diagnose", "--database", "hall", "--level", "monthly", "--save", "--json")
	var drop *maintenance.Proposal
	for _, p := range proposals() {
		if p.Object == "public.dup_host_id" {
			drop = &p
		}
	}
	if drop == nil || drop.Source != "diagnosis" || drop.Statement != `DROP INDEX CONCURRENTLY "public"."dup_host_id"` ||
		!strings.Contains(drop.Finding, "/duplicate-index/public.dup_host_id") {
		t.Fatalf("no DROP INDEX naming the duplicate-index finding: %+v", drop)
	}
	if out := s.ok("maintenance", "list", "--lang", "en"); !strings.Contains(out, drop.ID) || !strings.Contains(out, "duplicates") {
		t.Errorf("maintenance list:\n%s", out)
	}
}

// TestMonthlyReportShowsDiagnosis: through site.ReportJob, the monthly
// report of a database with a saved monthly diagnosis lists its findings
// (the urgent ones with links to the check pages) and the CSV holds them.
func TestMonthlyReportShowsDiagnosis(t *testing.T) {
	s := newSite(t, "")
	policy, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.config, append(policy, "\nreport \"monthly\" {\n  schedule = \"monthly\"\n  language = \"en\"\n}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok("repo", "init")
	s.src.Exec(t, s.srcDB, `CREATE TABLE public.dup_host (id bigint PRIMARY KEY, note text);
		INSERT INTO public.dup_host SELECT g, 'x' FROM generate_series(1, 1000) g;
		CREATE INDEX dup_host_id ON public.dup_host (id);`)
	s.ok("diagnose", "--database", "hall", "--level", "monthly", "--save")
	out := filepath.Join(s.dir, "out")
	s.ok("report", "monthly", "--month", time.Now().Format("2006-01"), "--database", "hall", "--out", out, "--no-pdf")
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := os.ReadFile(filepath.Join(out, "report.txt"))
	if !strings.Contains(string(txt), "Check: backup-age") || !strings.Contains(string(txt), "hall: urgent") {
		t.Errorf("report.txt lacks the diagnosis's findings:\n%s", txt)
	}
	linked := false
	htmls, _ := filepath.Glob(filepath.Join(out, "*.html"))
	for _, h := range htmls {
		b, _ := os.ReadFile(h)
		linked = linked || strings.Contains(string(b), `href="docs/checks/backup-age.md"`)
	}
	if !linked {
		t.Errorf("no HTML of %v links the backup-age check page", htmls)
	}
	csvs, _ := filepath.Glob(filepath.Join(out, "*.csv"))
	if len(csvs) != 1 {
		t.Fatalf("findings CSV: %v", csvs)
	}
	csv, err := os.ReadFile(csvs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "duplicate-index,") || !strings.Contains(string(csv), "public.dup_host_id") {
		t.Errorf("the findings CSV lacks the duplicate index:\n%s", csv)
	}
	if strings.Contains(string(page), "No diagnosis data collected yet.") {
		t.Errorf("report.html says no diagnosis data")
	}
}
