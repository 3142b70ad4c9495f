package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

// TestRequestsAcrossStartAndReload: at start the agent drops the scratch
// databases a crashed run left (only those the ledger records) and closes
// the requests it left open in the register; a reload rebuilds the gate
// (the new approvals count, the same nonces); an accepted drill with no
// backup to restore ends as failed, with its start and outcome recorded.
func TestRequestsAcrossStartAndReload(t *testing.T) {
	src, dst := harness.SourcePostgres(t), harness.TargetPostgres(t)
	src.Exec(t, "postgres", "DROP DATABASE IF EXISTS req_src")
	src.Exec(t, "postgres", "DROP DATABASE IF EXISTS req_src WITH (FORCE)") // repeatable with -count
	src.Exec(t, "postgres", "CREATE DATABASE req_src")
	stale, foreign := "dbopsd_verify_req_src_crashed", "req_not_dbopsds"
	for _, db := range []string{stale, foreign} {
		dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+db)
		dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		dst.Exec(t, "postgres", "CREATE DATABASE "+db)
		t.Cleanup(func() { dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	}
	keyDir := t.TempDir()
	dba, approver := sshtest.NewKey(t, keyDir, "ed25519", "zhang.wei"), sshtest.NewKey(t, keyDir, "ecdsa", "wang.fang")
	// A window that is never now keeps the catch-up backup queued.
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	policy := func(dir string, drillApprovals int) string {
		return daemonBlock(dir, src.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  window       = %q
  verify       = "none"
}
database "req_src" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
restore_target "scratch" {
  engine  = "postgres"
  dsn     = %q
  scratch = true
}
signer "zhang.wei" {
  public_key = %q
  roles      = ["dba"]
}
signer "wang.fang" {
  public_key = %q
  roles      = ["approver"]
}
approvals {
  drill = %d
}
`, window, src.DSN("req_src"), dst.DSN("postgres"), dba.Line, approver.Line, drillApprovals)
	}
	s := newSite(t, func(dir string) string { return policy(dir, 1) })
	stateDir := filepath.Join(s.dir, "state")

	// What a crashed run left: a scratch database in the ledger, and two
	// requests in the register, one accepted and one still being checked.
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	target := config.RestoreTarget{Engine: "postgres", DSN: dst.DSN("postgres")}
	if _, err := cat.RecordScratch(context.Background(), catalog.Scratch{Target: "scratch", Server: target.Server(), Engine: "postgres",
		Name: stale, Purpose: "verify", Database: "req_src", CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	reg, err := register.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"R20260101-000000-aaaaaa", "R20260101-000000-bbbbbb"} {
		rcv, err := reg.Append(register.Entry{Kind: register.Received, Request: id, Action: "drill", Database: "req_src", Target: "scratch", As: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(id, "a") {
			if _, err := reg.Append(register.Entry{Kind: register.Accepted, Ref: rcv.Seq, Request: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	reg.Close()

	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), Version: "test", SweepInterval: time.Second})
	exists := func(db string) bool {
		return dst.QueryString(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_database WHERE datname = '%s'", db)) == "1"
	}
	if exists(stale) || !exists(foreign) {
		t.Errorf("after the start: %s exists %v (want dropped), %s exists %v (want kept)", stale, exists(stale), foreign, exists(foreign))
	}
	c := api.NewClient(a.SocketPath())
	ctx := context.Background()
	for id, want := range map[string]string{"R20260101-000000-aaaaaa": api.RequestFailed, "R20260101-000000-bbbbbb": api.RequestRefused} {
		rs, err := c.Request(ctx, id)
		if err != nil || rs.State != want || !strings.Contains(rs.Error+rs.Refusal, "interrupted: the daemon stopped") {
			t.Errorf("request %s left open by a crash: %+v, %v", id, rs, err)
		}
	}
	if _, err := c.Request(ctx, "R20990101-000000-cccccc"); err == nil {
		t.Error("an unknown request was found")
	}

	// A drill request with one approval.
	r, err := request.New(request.Draft{Action: request.ActionDrill, Requester: "zhang.wei", Reason: "季度演练",
		Parameters: request.Parameters{Database: "req_src", Target: "scratch", As: "req_src_drill"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []sshtest.Key{dba, approver} {
		signer, err := request.LoadKey(k.Private, nil)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.Fields(k.Line)[2], "@test")
		if err := r.Sign(signer, name); err != nil {
			t.Fatal(err)
		}
	}
	// The policy now asks two approvals for a drill: refused, and the nonce
	// stays unspent.
	s.write(t, policy(s.dir, 2))
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = c.SubmitRequest(ctx, r.Marshal())
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != 403 || !strings.Contains(ae.Refusal, "a drill needs 2 approval(s)") {
		t.Fatalf("submit under approvals { drill = 2 }: %v", err)
	}
	// Back to one: the same file is accepted, and runs; with no backup to
	// restore, it fails, and says so.
	s.write(t, policy(s.dir, 1))
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	ra, err := c.SubmitRequest(ctx, r.Marshal())
	if err != nil || ra.ID != r.ID || ra.Task.Kind != "drill" || ra.Task.Ref != r.ID || ra.Task.Trigger != "request" {
		t.Fatalf("submit: %+v, %v", ra, err)
	}
	var rs api.RequestStatus
	eventually(t, 30*time.Second, "the drill to end", func() bool {
		rs, err = c.Request(ctx, r.ID)
		return err == nil && rs.Finished()
	})
	if rs.State != api.RequestFailed || rs.Error == "" || rs.Submissions != 2 || rs.Task == nil || rs.Task.State != "failed" {
		t.Errorf("drill without a backup: %+v", rs)
	}
	var kinds []string
	es, err := register.ReadFile(filepath.Join(stateDir, register.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Request == r.ID {
			kinds = append(kinds, string(e.Kind))
		}
	}
	if got := strings.Join(kinds, " "); got != "received refused received approved accepted started finished" {
		t.Errorf("register entries of %s: %s", r.ID, got)
	}
	found := false
	for _, j := range jobs(t, a.Catalog(), "req_src") {
		found = found || (j.Kind == "drill" && j.Status == catalog.StatusFailed && j.Trigger == "request")
	}
	if !found {
		t.Errorf("the failed drill is not in the job log: %+v", jobs(t, a.Catalog(), "req_src"))
	}
	// A replay, after the reload, is refused.
	if _, err := c.SubmitRequest(ctx, r.Marshal()); !errors.As(err, &ae) || !strings.Contains(ae.Refusal, "replayed request") {
		t.Errorf("replay after a reload: %v", err)
	}
}
