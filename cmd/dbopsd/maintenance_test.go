package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/register"
)

// TestMaintenanceThroughDaemon: a bloated table is proposed for VACUUM
// FULL (maintenance propose, list), the proposal goes through request new,
// sign, approve and submit to the daemon, which runs it: the table shrinks,
// and the register and the job log keep the before and after. The same
// operation without its approval is refused and runs nothing.
func TestMaintenanceThroughDaemon(t *testing.T) {
	s := newSite(t, "")
	t.Setenv("SSH_AUTH_SOCK", "")
	dba, approver := writeRequestPolicy(t, s, "", "")
	policy, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	withApproval := strings.Replace(string(policy), "  restore = 1\n}", "  restore = 1\n  maintenance = 1\n}", 1)
	if withApproval == string(policy) {
		t.Fatal("could not add the maintenance approval to the policy")
	}
	if err := os.WriteFile(s.config, []byte(withApproval), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")

	s.src.Exec(t, s.srcDB, `CREATE TABLE public.bloated (id bigint PRIMARY KEY, note text) WITH (autovacuum_enabled = false);
		INSERT INTO public.bloated SELECT g, repeat('x', 200) FROM generate_series(1, 60000) g;
		DELETE FROM public.bloated WHERE id > 10000;`)
	size := func() int64 {
		n, err := strconv.ParseInt(s.src.QueryString(t, s.srcDB, "SELECT pg_total_relation_size('public.bloated')"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.src.QueryString(t, s.srcDB, "SELECT n_dead_tup >= 50000 FROM pg_stat_user_tables WHERE relname = 'bloated'") != "t" {
		if time.Now().After(deadline) {
			t.Fatal("the statistics never counted the dead rows")
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := size()

	s.ok("maintenance", "propose", "--database", "hall")
	var listed struct{ Sets []maintenance.Set }
	if err := json.Unmarshal([]byte(s.ok("maintenance", "list", "--database", "hall", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, set := range listed.Sets {
		for _, p := range set.Proposals {
			if p.Object == "public.bloated" && p.Operation.Op == "vacuum_full" {
				id = p.ID
			}
		}
	}
	if id == "" {
		t.Fatalf("no VACUUM FULL proposed for public.bloated: %+v", listed.Sets)
	}
	if out := s.ok("maintenance", "list", "--lang", "en"); !strings.Contains(out, id) || !strings.Contains(out, `VACUUM (FULL, ANALYZE) "public"."bloated"`) ||
		!strings.Contains(out, "ACCESS EXCLUSIVE") {
		t.Errorf("maintenance list:\n%s", out)
	}

	agent, logs, _ := startRequestAgent(t, s.config, 0)
	defer func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	file := func(name string) string { return filepath.Join(s.dir, name) }

	// Without its approval: refused, nothing runs.
	s.ok("request", "new", "maintenance", "--database", "hall", "--operation", "vacuum_full", "--table", "public.bloated", "-o", file("short.json"))
	s.ok("request", "sign", "--key", dba.Private, file("short.json"))
	if msg := s.fails("request", "submit", file("short.json")); !strings.Contains(msg, "a maintenance needs 1 approval(s)") {
		t.Errorf("submit without approval: %s", msg)
	}
	if got := size(); got != before {
		t.Fatalf("a refused request changed the table: %d bytes, was %d", got, before)
	}

	// The proposal, approved.
	s.ok("request", "new", "maintenance", "--database", "hall", "--proposal", id, "-o", file("m.json"))
	s.ok("request", "sign", "--key", dba.Private, file("m.json"))
	s.ok("request", "approve", "--key", approver.Private, file("m.json"))
	rid := strings.TrimSpace(s.ok("request", "submit", file("m.json")))
	out, errOut, code := s.run("request", "status", rid, "--follow", "--poll", "100ms", "--json")
	var rs api.RequestStatus
	if err := json.Unmarshal([]byte(out), &rs); err != nil || code != 0 || rs.State != api.RequestDone || rs.Outcome != register.Succeeded {
		t.Fatalf("request status: exit %d %v %+v\n%s", code, err, rs, errOut)
	}
	after := size()
	if after >= before/2 {
		t.Fatalf("the table did not shrink: %d bytes, was %d", after, before)
	}

	es, err := register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		if e.Request != rid {
			continue
		}
		kinds = append(kinds, string(e.Kind))
		if e.Kind == register.Received && !strings.Contains(e.Note, "vacuum_full public.bloated (proposal "+id+")") {
			t.Errorf("received entry note: %q", e.Note)
		}
		if e.Kind == register.Finished && (!strings.Contains(e.Note, formatSize(before)+", 50000 dead rows; after ") || !strings.Contains(e.Note, "succeeded")) {
			t.Errorf("finished entry note: %q", e.Note)
		}
	}
	if strings.Join(kinds, ",") != "received,approved,accepted,started,finished" {
		t.Errorf("register entries of %s: %s", rid, kinds)
	}
	var log struct{ Jobs []catalog.Job }
	if err := json.Unmarshal([]byte(s.ok("log", "--kind", "maintenance", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Jobs) != 1 || log.Jobs[0].Status != catalog.StatusOK || log.Jobs[0].Bytes != before-after || log.Jobs[0].Trigger != "request" {
		t.Fatalf("job log: %+v", log.Jobs)
	}

	// Outside the policy's maintenance_window an approved request is
	// accepted but runs nothing: it fails as not run, never started.
	now := time.Now()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	closed := strings.Replace(withApproval, "policy \"p\" {\n", "policy \"p\" {\n  maintenance_window = \""+window+"\"\n", 1)
	if err := os.WriteFile(s.config, []byte(closed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := agent.Reload(); err != nil {
		t.Fatal(err)
	}
	s.src.Exec(t, s.srcDB, "DELETE FROM public.bloated WHERE id > 5000")
	s.ok("request", "new", "maintenance", "--database", "hall", "--operation", "vacuum_full", "--table", "public.bloated", "-o", file("w.json"))
	s.ok("request", "sign", "--key", dba.Private, file("w.json"))
	s.ok("request", "approve", "--key", approver.Private, file("w.json"))
	wid := strings.TrimSpace(s.ok("request", "submit", file("w.json")))
	out, _, _ = s.run("request", "status", wid, "--follow", "--poll", "100ms", "--json")
	rs = api.RequestStatus{}
	if err := json.Unmarshal([]byte(out), &rs); err != nil || rs.State != api.RequestFailed ||
		!strings.Contains(rs.Error, "not run: outside the maintenance window") || !strings.Contains(rs.Error, window) {
		t.Fatalf("request outside the window: %v %+v", err, rs)
	}
	if got := size(); got != after {
		t.Fatalf("the table changed outside the window: %d bytes, was %d", got, after)
	}
	es, err = register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Request == wid && e.Kind == register.Started {
			t.Fatal("a request outside the window was recorded as started")
		}
	}
}

// formatSize is how the register's note gives a size: "(N bytes)".
func formatSize(n int64) string { return "(" + strconv.FormatInt(n, 10) + " bytes)" }
