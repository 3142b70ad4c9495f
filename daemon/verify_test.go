package daemon_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/schedule"
)

// TestAgentVerifyTargetDown: the agent's verification of a new full, with
// the scratch target down, did not run: after its retries it raises
// verify_not_run (never verify_failed), the job log records every attempt
// as not run with the cause, and the backup's verification state stays
// empty. With the target back (a reload), the verification runs, passes
// and resolves the alert.
func TestAgentVerifyTargetDown(t *testing.T) {
	pg := harness.NewPostgres(t)
	name := fmt.Sprintf("vdown_%08x", rand.Uint32())
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	pg.Exec(t, name, `CREATE TABLE tickets (id serial PRIMARY KEY, window_no int);
		INSERT INTO tickets (window_no) SELECT g % 12 FROM generate_series(1, 500) g`)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()

	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	policy := func(dir string, targetPort int) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full          = "monthly"
  differential  = "weekly"
  verify_target = "scratch"
}
database "hall" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
restore_target "scratch" {
  engine  = "postgres"
  dsn     = "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
  scratch = true
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["backup_failed", "verify_failed", "verify_not_run"]
}
`, pg.DSN(name), targetPort, hook.URL)
	}
	var dir string
	s := newSite(t, func(d string) string { dir = d; return policy(d, closed) })
	a := start(t, daemon.Options{
		ConfigPath: s.policy, Logger: s.logger(), Version: "test",
		SweepInterval: 300 * time.Millisecond, FailureCooldown: time.Second, StaleAfter: time.Hour,
		Retry:        schedule.RetryPolicy{MaxAttempts: 2, Base: 200 * time.Millisecond, Max: 300 * time.Millisecond},
		Notify:       notify.Options{RetryWait: 100 * time.Millisecond, Host: "ops-test"},
		DrainTimeout: 30 * time.Second,
	})
	cat := a.Catalog()

	events := hook.Wait(t, 1, 90*time.Second)
	if e := events[0]; e.Type != config.EventVerifyNotRun || e.State != notify.StateFiring || e.Database != "hall" ||
		!strings.Contains(e.Error, "did not run") || !strings.Contains(e.Error, fmt.Sprint(closed)) || !strings.Contains(e.Summary, "could not run") {
		t.Errorf("alert: %+v", e)
	}
	notRun := 0
	for _, j := range jobs(t, cat, "hall") {
		switch {
		case j.Kind == "backup" && j.Status != catalog.StatusOK:
			t.Errorf("backup job %s: %s", j.Status, j.Error)
		case j.Kind == "verify" && j.Status == catalog.StatusNotRun && strings.Contains(j.Error, fmt.Sprint(closed)):
			notRun++
		case j.Kind == "verify":
			t.Errorf("verify job %s: %q", j.Status, j.Error)
		}
	}
	if notRun < 2 {
		t.Errorf("%d verifications recorded as not run, want the attempt and its retry", notRun)
	}
	bs, err := cat.Backups(t.Context(), "hall")
	if err != nil || len(bs) != 1 || bs[0].VerifyStatus != "" {
		t.Fatalf("backups after verifications that did not run: %+v %v", bs, err)
	}

	// The target is back: the verification runs and resolves the alert.
	s.write(t, policy(dir, pg.Port))
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	events = hook.Wait(t, 2, 90*time.Second)
	if e := events[1]; e.Type != config.EventVerifyNotRun || e.State != notify.StateResolved {
		t.Errorf("resolution: %+v", e)
	}
	for _, e := range hook.Received() {
		if e.Type == config.EventVerifyFailed {
			t.Errorf("verify_failed raised for a target that was down: %+v", e)
		}
	}
	eventually(t, 30*time.Second, "the backup verified", func() bool {
		bs, err := cat.Backups(t.Context(), "hall")
		return err == nil && len(bs) == 1 && bs[0].VerifyStatus == catalog.StatusOK
	})
}
