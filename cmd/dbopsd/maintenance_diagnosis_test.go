package main

import (
	"encoding/json"
	"strings"
	"testing"

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
