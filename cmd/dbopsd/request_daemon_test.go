package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

// TestSignedRequestsThroughDaemon runs the agent in-process and drives it
// with the CLI as a DBA and an approver would: a drill and a restore go
// from request new through sign, approve and submit to done, with every
// step in the register; a replay, a request one approval short and a
// restore onto an existing database without a signed replace are refused
// with their reasons, and nothing runs for them.
func TestSignedRequestsThroughDaemon(t *testing.T) {
	s := newSite(t, "")
	t.Setenv("SSH_AUTH_SOCK", "")
	dba, approver := writeRequestPolicy(t, s, `  http_listen = "127.0.0.1:0"
`, fmt.Sprintf(`
restore_target "standby" {
  engine        = "postgres"
  dsn           = "postgres://dbops@127.0.0.1:%d/postgres?sslmode=disable"
  password      = env("E2E_DST_PASS")
  allow_restore = true
}
`, s.dst.Port))
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	_, logs, stop := startRequestAgent(t, s.config, 200*time.Millisecond)
	defer func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	file := func(name string) string { return filepath.Join(s.dir, name) }
	// signed makes a request with request new, signs it as the DBA and,
	// unless approvals is 0, approves it.
	signed := func(name string, approvals int, args ...string) string {
		t.Helper()
		s.ok(append([]string{"request", "new"}, append(args, "--reason", "演练/恢复核对", "-o", file(name))...)...)
		s.ok("request", "sign", "--key", dba.Private, file(name))
		if approvals > 0 {
			s.ok("request", "approve", "--key", approver.Private, file(name))
		}
		return file(name)
	}
	entries := func() []register.Entry {
		t.Helper()
		es, err := register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	count := func(kind register.Kind) int {
		n := 0
		for _, e := range entries() {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}
	// follow runs request status --follow and decodes its final state.
	follow := func(id string) api.RequestStatus {
		t.Helper()
		out, errOut, code := s.run("request", "status", id, "--follow", "--poll", "100ms", "--json")
		var rs api.RequestStatus
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatalf("request status %s --follow: exit %d: %v\n%s%s", id, code, err, out, errOut)
		}
		if (code == 0) != (rs.State == api.RequestDone) {
			t.Errorf("request status %s --follow: exit %d in state %s", id, code, rs.State)
		}
		return rs
	}

	// A drill: new, sign, approve, submit, follow to the end.
	drillReq := signed("drill.json", 1, "drill", "--database", "hall", "--target", "scratch")
	id := strings.TrimSpace(s.ok("request", "submit", drillReq))
	if !strings.HasPrefix(id, "R") {
		t.Fatalf("submit printed %q, want the request id", id)
	}
	rs := follow(id)
	if rs.State != api.RequestDone || rs.Outcome != register.Succeeded || rs.Report != id || rs.Requester != "zhang.wei" ||
		strings.Join(rs.Approvers, ",") != "wang.fang" || rs.Backup == "" || rs.Task == nil || rs.Task.Kind != "drill" {
		t.Fatalf("drill request: %+v", rs)
	}
	if out := s.ok("request", "status", id); !strings.Contains(out, "request "+id+": done") || !strings.Contains(out, "dbopsd drill report "+id) {
		t.Errorf("request status:\n%s", out)
	}
	var rep drill.Report
	if err := json.Unmarshal([]byte(s.ok("drill", "report", id, "--json")), &rep); err != nil || !rep.Passed() ||
		rep.Request == nil || rep.Request.ID != id || rep.BackupID() != rs.Backup {
		t.Fatalf("drill report: %v %+v", err, rep)
	}
	// The drill restored the whole backup and passed: it is verified.
	if l := s.list(); len(l.Backups) != 1 || l.Backups[0].VerifyStatus != "ok" {
		t.Errorf("the drilled backup is not recorded as verified: %+v", l.Backups)
	}
	var kinds []string
	for _, e := range entries() {
		if e.Request == id {
			kinds = append(kinds, string(e.Kind))
		}
	}
	if got := strings.Join(kinds, " "); got != "received approved accepted started finished" {
		t.Errorf("register entries of %s: %s", id, got)
	}

	// A restore onto an allow_restore target: the data matches.
	as := fmt.Sprintf("hall_restored_%d", dbSeq.Add(1))
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+as+" WITH (FORCE)") })
	restoreReq := signed("restore.json", 1, "restore", "--database", "hall", "--target", "standby", "--as", as)
	rid := strings.TrimSpace(s.ok("request", "submit", restoreReq))
	out, errOut, code := s.run("request", "status", rid, "--follow", "--poll", "100ms")
	if code != 0 || !strings.Contains(out, "request "+rid+": done") || !strings.Contains(out, "succeeded after") ||
		!strings.Contains(errOut, "request "+rid+": ") {
		t.Errorf("request status --follow: exit %d\n%s%s", code, out, errOut)
	}
	if rs := follow(rid); rs.State != api.RequestDone || rs.Task == nil || rs.Task.Trigger != "request" {
		t.Fatalf("restore request: %+v", rs)
	}
	for _, table := range []string{"hall.tickets", "hall.ratings"} {
		if want, got := fingerprint(t, s.src, s.srcDB, table), fingerprint(t, s.dst, as, table); want != got {
			t.Errorf("%s restored as %s: %s, source %s", table, as, got, want)
		}
	}

	// Refusals: each says why, is recorded, and nothing runs.
	started := count(register.Started)
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"replayed", drillReq, []string{"replayed request", "nonce was already used by request " + id}},
		{"one approval short", signed("short.json", 0, "restore", "--database", "hall", "--target", "standby", "--as", as+"_x"),
			[]string{"approvals: a restore needs 1 approval(s) (approvals { restore = 1 }), it has 0"}},
		{"existing database without replace", signed("exists.json", 1, "restore", "--database", "hall", "--target", "standby", "--as", as),
			[]string{"target database: database \"" + as + "\" already exists on standby and replace is not in the signed parameters"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refused := count(register.Refused)
			msg := s.fails("request", "submit", tt.file)
			for _, w := range append(tt.want, "refused") {
				if !strings.Contains(msg, w) {
					t.Errorf("submit: %q does not say %q", msg, w)
				}
			}
			if n := count(register.Refused); n != refused+1 {
				t.Errorf("refusals in the register: %d, want %d", n, refused+1)
			}
		})
	}
	if n := count(register.Started); n != started {
		t.Errorf("a refused request started: %d starts, want %d", n, started)
	}
	// The replayed id still shows its one run, and the refusals count.
	if rs := follow(id); rs.State != api.RequestDone || rs.Submissions != 2 {
		t.Errorf("status after the replay: %+v", rs)
	}

	// The register verifies, against the anchors the daemon wrote.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.ok("register", "verify")
		head := fmt.Sprintf("newest at seq %d,", len(entries()))
		if strings.Contains(out, "intact") && strings.Contains(out, head) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("register verify: no anchor of the head (%s):\n%s", head, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
}

// writeRequestPolicy rewrites the site's policy for signed requests:
// daemonLines go into the daemon block; two signers, zhang.wei (dba) and
// wang.fang (approver), with keys made for the test; one approval per drill,
// restore and maintenance; then blocks. It returns the two keys.
func writeRequestPolicy(t *testing.T, s *testSite, daemonLines, blocks string) (dba, approver sshtest.Key) {
	t.Helper()
	keyDir := filepath.Join(s.dir, "keys")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dba = sshtest.NewKey(t, keyDir, "ed25519", "zhang.wei")
	approver = sshtest.NewKey(t, keyDir, "ecdsa", "wang.fang")
	src, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	policy := strings.Replace(string(src), "daemon {\n", "daemon {\n"+daemonLines, 1) + blocks + fmt.Sprintf(`
signer "zhang.wei" {
  public_key = %q
  roles      = ["dba"]
}
signer "wang.fang" {
  public_key = %q
  roles      = ["approver"]
}
approvals {
  drill       = 1
  restore     = 1
  maintenance = 1
}
`, dba.Line, approver.Line)
	if err := os.WriteFile(s.config, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return dba, approver
}

// startRequestAgent runs the agent in-process (anchoring the register every
// anchorEvery, 0 for the default) until stop or the end of the test.
func startRequestAgent(t *testing.T, config string, anchorEvery time.Duration) (a *daemon.Agent, logs *testlog.Buffer, stop func()) {
	t.Helper()
	logs = &testlog.Buffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "dbopsd", Level: hclog.Debug, Output: io.MultiWriter(logs, testLog{})})
	ready := make(chan struct{})
	a, err := daemon.New(daemon.Options{ConfigPath: config, Logger: logger, Version: "test", DrainTimeout: 20 * time.Second,
		AnchorEvery: anchorEvery, Ready: func(*daemon.Agent) { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("agent: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Error("the agent did not stop")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the agent stopped: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not get ready:\n%s", logs.String())
	}
	return a, logs, stop
}

// testLog shows the agent's log with -v.
type testLog struct{}

func (testLog) Write(p []byte) (int, error) {
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return len(p), nil
}
