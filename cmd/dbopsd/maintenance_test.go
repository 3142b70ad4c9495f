package main

import (
	"context"
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
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/notify/notifytest"
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
	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	dba, approver := writeRequestPolicy(t, s, "", fmt.Sprintf(`notify "dba" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["maintenance_done", "maintenance_failed"]
}
`, hook.URL))
	policy, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	// Long enough to watch the statement wait behind a lock the test holds.
	withLock := strings.Replace(string(policy), "policy \"p\" {\n", "policy \"p\" {\n  maintenance_lock_timeout = \"60s\"\n", 1)
	if withLock == string(policy) {
		t.Fatal("could not add the maintenance lock timeout to the policy")
	}
	if err := os.WriteFile(s.config, []byte(withLock), 0o600); err != nil {
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

	// The proposal, approved. A session of the test holds a share lock on
	// the table until told to let go, so that the statement waits at its
	// step while status and request status show it.
	s.src.Exec(t, s.srcDB, "CREATE TABLE public.maint_release (x int)")
	held := make(chan struct{})
	go func() {
		defer close(held)
		s.src.Exec(t, s.srcDB, `DO $$ BEGIN
			LOCK TABLE public.bloated IN ACCESS SHARE MODE;
			FOR i IN 1..900 LOOP
				EXIT WHEN EXISTS (SELECT FROM public.maint_release);
				PERFORM pg_sleep(0.1);
			END LOOP;
		END $$`)
	}()
	release := func() {
		s.src.Exec(t, s.srcDB, "INSERT INTO public.maint_release VALUES (1)")
		<-held
	}
	for s.src.QueryString(t, s.srcDB, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'bloated' AND l.granted") == "0" {
		time.Sleep(50 * time.Millisecond)
	}
	s.ok("request", "new", "maintenance", "--database", "hall", "--proposal", id, "-o", file("m.json"))
	s.ok("request", "sign", "--key", dba.Private, file("m.json"))
	s.ok("request", "approve", "--key", approver.Private, file("m.json"))
	rid := strings.TrimSpace(s.ok("request", "submit", file("m.json")))
	const step = "3/4 vacuum_full public.bloated: running the statement"
	var rs api.RequestStatus
	for deadline := time.Now().Add(60 * time.Second); ; {
		if err := json.Unmarshal([]byte(s.ok("request", "status", rid, "--json")), &rs); err != nil {
			t.Fatal(err)
		}
		if rs.Task != nil && strings.HasPrefix(rs.Task.Step, step) {
			break
		}
		if rs.Finished() || time.Now().After(deadline) {
			release()
			t.Fatalf("the maintenance never showed the step %q: %+v %+v", step, rs, rs.Task)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := s.ok("status"); !strings.Contains(out, "maintenance of hall (request, attempt 1) since ") || !strings.Contains(out, step) {
		t.Errorf("status while the maintenance waits:\n%s", out)
	}
	if out := s.ok("request", "status", rid); !strings.Contains(out, "running since ") || !strings.Contains(out, step) {
		t.Errorf("request status while the maintenance waits:\n%s", out)
	}
	// --follow (not quiet) prints each step it sees on stderr.
	var fout, ferr testlog.Buffer
	followed := make(chan int, 1)
	go func() {
		followed <- run(context.Background(), []string{"request", "status", rid, "--follow", "--poll", "100ms", "--config", s.config}, &fout, &ferr)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(ferr.String(), "request "+rid+": "+step); {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("request status --follow did not show the step:\n%s", ferr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	release()
	if code := <-followed; code != 0 || !strings.Contains(fout.String(), "request "+rid+": done") {
		t.Fatalf("request status --follow: exit %d\n%s%s", code, fout.String(), ferr.String())
	}
	if err := json.Unmarshal([]byte(s.ok("request", "status", rid, "--json")), &rs); err != nil || rs.State != api.RequestDone || rs.Outcome != register.Succeeded {
		t.Fatalf("request status: %v %+v", err, rs)
	}
	if ev := hook.Wait(t, 1, 30*time.Second)[0]; ev.Type != config.EventMaintenanceDone || ev.Database != "hall" ||
		!strings.Contains(ev.Summary, "vacuum_full public.bloated, succeeded after") || !strings.Contains(ev.Detail, "Result: ") {
		t.Errorf("maintenance_done event: %+v", ev)
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
	closed := strings.Replace(withLock, "policy \"p\" {\n", "policy \"p\" {\n  maintenance_window = \""+window+"\"\n", 1)
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
	out, _, _ := s.run("request", "status", wid, "--follow", "--poll", "100ms", "--json")
	rs = api.RequestStatus{}
	if err := json.Unmarshal([]byte(out), &rs); err != nil || rs.State != api.RequestFailed ||
		!strings.Contains(rs.Error, "not run: outside the maintenance window") || !strings.Contains(rs.Error, window) {
		t.Fatalf("request outside the window: %v %+v", err, rs)
	}
	if got := size(); got != after {
		t.Fatalf("the table changed outside the window: %d bytes, was %d", got, after)
	}
	if ev := hook.Wait(t, 2, 30*time.Second)[1]; ev.Type != config.EventMaintenanceFailed || !strings.Contains(ev.Summary, wid+"), vacuum_full public.bloated, failed") ||
		!strings.Contains(ev.Error, "not run: outside the maintenance window") {
		t.Errorf("maintenance_failed event: %+v", ev)
	}
	time.Sleep(time.Second)
	if evs := hook.Received(); len(evs) != 2 {
		t.Errorf("want one event per run, got %d: %+v", len(evs), evs)
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
