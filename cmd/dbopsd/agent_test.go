package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/testlog"
)

// TestAgentStatusRun runs `dbopsd agent` in-process and drives it with
// `dbopsd status` and `dbopsd run`: the requested backup goes through the
// daemon's queue though the policy's window is closed, and the job log
// records it as triggered by the CLI with the caller's OS user.
func TestAgentStatusRun(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	src, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	policy := strings.Replace(string(src), "daemon {\n", "daemon {\n  http_listen = \"127.0.0.1:0\"\n", 1)
	policy = strings.Replace(policy, "  differential = \"biweekly\"\n", "  differential = \"biweekly\"\n  window       = \""+window+"\"\n", 1)
	if err := os.WriteFile(s.config, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}

	out := startAgent(t, s)
	for _, want := range []string{"dbopsd agent", "DATABASE", "hall", "full of hall (catch-up), waiting for window " + window} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out = s.ok("run", "--database", "hall", "--type", "full", "--wait", "--poll", "200ms")
	if !strings.Contains(out, "full of hall ok") {
		t.Errorf("run --wait: %s", out)
	}
	if msg := s.fails("run", "--database", "nope", "--type", "full"); !strings.Contains(msg, `database "nope": not in the plan`) {
		t.Errorf("run of an unknown database: %s", msg)
	}
	if _, _, code := s.run("run", "--database", "hall", "--type", "weekly"); code != 2 {
		t.Errorf("run --type weekly: exit %d, want 2", code)
	}

	var log struct{ Jobs []catalog.Job }
	if err := json.Unmarshal([]byte(s.ok("log", "--json", "--database", "hall")), &log); err != nil {
		t.Fatal(err)
	}
	me, _ := user.Current()
	found := false
	for _, j := range log.Jobs {
		if j.Kind == "backup" && j.Trigger == "cli" && j.OSUser == me.Username && j.Status == catalog.StatusOK {
			found = true
		}
	}
	if !found {
		t.Errorf("the job log has no CLI backup by %s: %+v", me.Username, log.Jobs)
	}

	var st api.Status
	if err := json.Unmarshal([]byte(s.ok("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Databases) != 1 || st.Databases[0].LastFull == nil || st.Databases[0].LastFull.Status != "ok" || st.Databases[0].LastFull.Trigger != "cli" {
		t.Errorf("status --json: %+v", st.Databases)
	}
}

// startAgent runs `dbopsd agent` in-process on s's policy until the test
// ends, and returns the first `dbopsd status` it answers.
func startAgent(t *testing.T, s *testSite) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var agentOut, agentErr testlog.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"agent", "--config", s.config, "--drain-timeout", "10s"}, &agentOut, &agentErr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("agent exited %d:\n%s", code, agentErr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("the agent did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, code := s.run("status")
		if code == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not answer:\n%s", agentErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAgentRunReconcile: `dbopsd run --type reconcile --database <block>`
// queues the reconcile block through the daemon though its window is
// closed, --wait reports its end, and the job log records it as the CLI's;
// a name that is no database and no reconcile block is refused.
func TestAgentRunReconcile(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	now := time.Now()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, `reconcile "ratings" {
  left   = { database = "hall", table = "hall.ratings" }
  right  = { database = "hall", table = "hall.ratings" }
  key    = ["id"]
  window = %q
}
`, window)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	startAgent(t, s)

	out := s.ok("run", "--database", "ratings", "--type", "reconcile", "--wait", "--poll", "200ms")
	if !strings.Contains(out, "job #") || !strings.Contains(out, "reconcile of ratings ok after 1 attempt(s)") {
		t.Errorf("run --wait: %s", out)
	}
	if msg := s.fails("run", "--database", "nope", "--type", "reconcile"); !strings.Contains(msg, `database "nope": not in the plan`) {
		t.Errorf("run of an unknown reconcile block: %s", msg)
	}
	if msg := s.fails("run", "--database", "hall", "--type", "reconcile"); !strings.Contains(msg, `job "reconcile" for database "hall": not in the plan`) {
		t.Errorf("reconcile of a database: %s", msg)
	}

	var log struct{ Jobs []catalog.Job }
	if err := json.Unmarshal([]byte(s.ok("log", "--json", "--database", "ratings")), &log); err != nil {
		t.Fatal(err)
	}
	me, _ := user.Current()
	if len(log.Jobs) != 1 || log.Jobs[0].Kind != "reconcile" || log.Jobs[0].Trigger != "cli" || log.Jobs[0].OSUser != me.Username ||
		log.Jobs[0].Status != catalog.StatusOK {
		t.Errorf("job log of ratings: %+v", log.Jobs)
	}
}
