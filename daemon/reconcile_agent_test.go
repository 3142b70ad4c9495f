package daemon_test

import (
	"fmt"
	"math/rand/v2"
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

// TestAgentReconciles: the agent plans a reconcile block, runs it (never
// run before: at once), records the result, and raises
// reconcile_differences for the rows that differ, with a summary that says
// what was found.
func TestAgentReconciles(t *testing.T) {
	pg, my := harness.SourcePostgres(t), harness.SourceMariaDB(t)
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	pgdb, mydb := "rc_agent_pg_"+suffix, "rc_agent_my_"+suffix
	pg.Exec(t, "postgres", "CREATE DATABASE "+pgdb)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+pgdb+" WITH (FORCE)") })
	my.Exec(t, "", "CREATE DATABASE "+mydb)
	t.Cleanup(func() { my.Exec(t, "", "DROP DATABASE IF EXISTS "+mydb) })
	pg.Exec(t, pgdb, `CREATE TABLE persons (id int PRIMARY KEY, name text);
		INSERT INTO persons SELECT i, '市民 ' || i FROM generate_series(1, 200) AS i;`)
	my.Exec(t, mydb, `CREATE TABLE persons (id int PRIMARY KEY, name varchar(40)) CHARACTER SET utf8mb4;
		INSERT INTO persons SELECT seq, CONCAT('市民 ', seq) FROM seq_1_to_200;
		UPDATE persons SET name = '市民 零' WHERE id = 12; DELETE FROM persons WHERE id = 13;`)

	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {}
database "local" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
database "source" {
  engine = "mariadb"
  dsn    = %q
  policy = "p"
}
reconcile "persons" {
  left     = { database = "local", table = "public.persons" }
  right    = { database = "source", table = "persons" }
  key      = ["id"]
  schedule = "0 3 1 1 *"
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["reconcile_differences"]
}
`, pg.DSN(pgdb), my.DSN(mydb), hook.URL)
	})
	a := start(t, daemon.Options{
		ConfigPath: s.policy, Logger: s.logger(), Version: "test",
		SweepInterval: 300 * time.Millisecond, FailureCooldown: time.Hour, StaleAfter: time.Hour,
		Retry:        schedule.RetryPolicy{MaxAttempts: 2, Base: 200 * time.Millisecond, Max: 300 * time.Millisecond},
		Notify:       notify.Options{RetryWait: 100 * time.Millisecond, Host: "ops-test"},
		DrainTimeout: 30 * time.Second,
	})
	if e := a.Scheduler().Plan().Entry(schedule.Key{Kind: "reconcile", Database: "persons"}); e == nil {
		t.Fatal("no plan entry for the reconcile block")
	}
	events := hook.Wait(t, 1, 90*time.Second)
	if e := events[0]; e.Type != config.EventReconcileDifferences || e.State != notify.StateFiring || e.Database != "persons" ||
		e.Summary != "Reconciliation persons: 0 rows missing on the left, 1 missing on the right, 1 different." ||
		!strings.Contains(e.Error, "more than the previous run (0)") {
		t.Errorf("alert: %+v", e)
	}
	runs, err := a.Catalog().Reconciliations(t.Context(), "persons", 0)
	if err != nil || len(runs) != 1 || runs[0].MissingRight != 1 || runs[0].Different != 1 {
		t.Fatalf("stored runs: %+v, %v", runs, err)
	}
	js := jobs(t, a.Catalog(), "persons")
	if len(js) != 1 || js[0].Kind != "reconcile" || js[0].Status != catalog.StatusFailed || js[0].Attempt != 1 {
		t.Errorf("jobs: %+v", js)
	}
}
