package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/schedule"
)

// TestDiagnosticsJobs: a policy with a diagnostics block gets the daily
// and monthly runs as job kinds, run at once when never run; each is in
// the job log and its snapshot in the catalog; a priority <= 50 finding
// raises one alert, and clearing it sends "resolved".
func TestDiagnosticsJobs(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS diag_daemon WITH (FORCE)")
	pg.Exec(t, "postgres", "CREATE DATABASE diag_daemon")
	pg.Exec(t, "diag_daemon", "CREATE TABLE seats (id int PRIMARY KEY); INSERT INTO seats VALUES (1)")
	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")

	// An idle transaction: a priority 30/40 finding under the 1 s thresholds.
	ctx := context.Background()
	tx, err := pgx.Connect(ctx, pg.DSN("diag_daemon"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close(ctx)
	if _, err := tx.Exec(ctx, "BEGIN; UPDATE seats SET id = 2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)

	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "weekly"
  verify       = "none"
  diagnostics {
    long_transaction    = "1s"
    idle_in_transaction = "1s"
    # The harness trusts its superuser, which has no password.
    suppress "hba-trust" {
      reason = "test harness"
      until  = "2099-01-01"
    }
    suppress "role-no-password" {
      reason = "test harness"
      until  = "2099-01-01"
    }
  }
}
database "hall" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["diagnosis_finding"]
}
`, pg.DSN("diag_daemon"), hook.URL)
	})
	a := start(t, daemon.Options{
		ConfigPath: s.policy, Logger: s.logger(), Version: "test",
		SweepInterval: 500 * time.Millisecond, FailureCooldown: time.Second, StaleAfter: time.Hour,
		Notify:       notify.Options{RetryWait: 100 * time.Millisecond, Host: "ops-test"},
		DrainTimeout: 30 * time.Second,
	})
	cat := a.Catalog()
	done := func(kind string, n int) func() bool {
		return func() bool {
			c := 0
			for _, j := range jobs(t, cat, "hall") {
				if j.Kind == kind && j.Status == catalog.StatusOK {
					c++
				}
			}
			return c >= n
		}
	}
	eventually(t, 60*time.Second, "the daily inspection", done(daemon.KindDiagnoseDaily, 1))
	eventually(t, 60*time.Second, "the monthly diagnosis", done(daemon.KindDiagnoseMonthly, 1))
	events := hook.Wait(t, 1, 30*time.Second)
	e := events[0]
	if e.Type != config.EventDiagnosisFinding || e.State != notify.StateFiring || e.Database != "hall" ||
		!strings.Contains(e.Error, "idle-in-transaction") {
		t.Fatalf("alert: %+v", e)
	}
	if strings.Contains(e.Error, "hba-trust") {
		t.Errorf("a suppressed finding was alerted: %s", e.Error)
	}
	for _, j := range jobs(t, cat, "hall") {
		if j.Kind == daemon.KindDiagnoseDaily && (j.Details["ran"] == nil || j.Trigger != schedule.TriggerCatchUp) {
			t.Errorf("job log: %+v", j)
		}
	}

	// The transaction ends and the backup exists: the next run clears it.
	tx.Exec(ctx, "ROLLBACK")
	eventually(t, 60*time.Second, "the first full", done("backup", 1))
	if _, err := a.Scheduler().Enqueue(schedule.Request{Kind: daemon.KindDiagnoseDaily, Database: "hall"}); err != nil {
		t.Fatal(err)
	}
	events = hook.Wait(t, 2, 60*time.Second)
	if e := events[len(events)-1]; e.State != notify.StateResolved || e.Type != config.EventDiagnosisFinding {
		t.Errorf("after the fix: %+v (all: %+v)", e, events)
	}
	docs, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: "hall", WithoutBody: true})
	if err != nil || len(docs) < 3 {
		t.Errorf("%d snapshots in the catalog (%v), want 3", len(docs), err)
	}
}
