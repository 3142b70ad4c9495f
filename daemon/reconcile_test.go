package daemon

import (
	"github.com/dbopsd/dbopsd/when"

	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// reconcilePolicy is a policy with one reconcile block between a
// PostgreSQL and a MariaDB database.
func reconcilePolicy(t *testing.T, pgDSN, myDSN, window string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`daemon {
  state_dir = %q
  timezone  = "Asia/Shanghai"
}
storage "repo" {
  type = "local"
  path = %q
}
repository {
  storage    = "repo"
  passphrase = env("DBOPS_UNSET_PASSPHRASE")
}
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
reconcile "hall" {
  left     = { database = "local", table = "public.hall" }
  right    = { database = "source", table = "hall" }
  key      = ["id"]
  schedule = "biweekly"
  window   = %q
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), pgDSN, myDSN, window)
	cfg, diags := config.Parse([]byte(src), filepath.Join(dir, "dbopsd.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// TestReconcilePlan: a reconcile block is due inside its window only, once
// per fortnight counted from the newest run that compared the tables
// (whatever it found), which the history reads from the catalog.
func TestReconcilePlan(t *testing.T) {
	cfg := reconcilePolicy(t, "postgres://x@127.0.0.1:5432/a", "x@tcp(127.0.0.1:3306)/b", "19:00-07:00")
	plan, err := schedule.NewPlan(cfg, planReconciles)
	if err != nil {
		t.Fatal(err)
	}
	e := plan.Entry(schedule.Key{Kind: site.KindReconcile, Database: "hall"})
	if e == nil || e.Window.String() != "19:00-07:00" {
		t.Fatalf("entry = %+v", e)
	}
	loc := cfg.Daemon.Location
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	ctx := context.Background()
	facts := func() schedule.Facts {
		f, err := catalogHistory{cat}.Facts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	evening := time.Date(2026, 3, 2, 20, 0, 0, 0, loc)
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, loc)
	if d := e.Due(facts(), noon); d.Due {
		t.Errorf("due at noon, outside the window: %+v", d)
	}
	if d := e.Due(facts(), evening); !d.Due || d.Why != "never reconciled" {
		t.Errorf("never run, in the window: %+v", d)
	}
	record := func(at time.Time, status string) {
		if _, err := cat.RecordReconciliation(ctx, catalog.Reconciliation{Name: "hall", Started: at, Finished: at, Status: status, Result: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	record(evening.Add(-time.Hour), reconcile.StatusDifferent)
	if d := e.Due(facts(), evening); d.Due {
		t.Errorf("due an hour after a run that found differences: %+v", d)
	}
	if d := e.Due(facts(), evening.AddDate(0, 0, 15)); !d.Due {
		t.Errorf("not due a fortnight later: %+v", d)
	}
	record(evening.AddDate(0, 0, 15).Add(-time.Minute), reconcile.StatusFailed)
	if d := e.Due(facts(), evening.AddDate(0, 0, 15)); !d.Due {
		t.Errorf("a run that could not compare stopped the schedule: %+v", d)
	}
}

func TestWindowEnd(t *testing.T) {
	loc := time.UTC
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, loc) }
	for _, tc := range []struct {
		window string
		now    time.Time
		end    time.Time
		inside bool
	}{
		{"19:00-07:00", at(20, 0), time.Date(2026, 3, 3, 7, 0, 0, 0, loc), true},
		{"19:00-07:00", at(3, 0), at(7, 0), true},
		{"19:00-07:00", at(12, 0), time.Time{}, false},
		{"01:00-05:00", at(2, 30), at(5, 0), true},
		{"20:00-24:00", at(21, 0), time.Date(2026, 3, 3, 0, 0, 0, 0, loc), true},
	} {
		w, err := when.ParseWindow(tc.window)
		if err != nil {
			t.Fatal(err)
		}
		end, inside := windowEnd(w, tc.now)
		if !end.Equal(tc.end) || inside != tc.inside {
			t.Errorf("windowEnd(%s, %s) = %s, %v; want %s, %v", tc.window, tc.now.Format("15:04"), end, inside, tc.end, tc.inside)
		}
	}
}

// TestReconcileJob: the daemon's job kind runs a reconcile block against
// real servers, records the run and the job in the catalog, and fails with
// differences (permanent, so not retried: reconcile_differences is raised);
// a task outside its window does not run.
func TestReconcileJob(t *testing.T) {
	pg, my := harness.SourcePostgres(t), harness.SourceMariaDB(t)
	pgdb, mydb := "rc_daemon_pg", "rc_daemon_my"
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+pgdb+" WITH (FORCE)")
	pg.Exec(t, "postgres", "CREATE DATABASE "+pgdb)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+pgdb+" WITH (FORCE)") })
	my.Exec(t, "", "DROP DATABASE IF EXISTS "+mydb+"; CREATE DATABASE "+mydb)
	t.Cleanup(func() { my.Exec(t, "", "DROP DATABASE IF EXISTS "+mydb) })
	pg.Exec(t, pgdb, `CREATE TABLE hall (id int PRIMARY KEY, ticket text);
		INSERT INTO hall SELECT i, 'T' || i FROM generate_series(1, 100) AS i;`)
	my.Exec(t, mydb, `CREATE TABLE hall (id int PRIMARY KEY, ticket varchar(20));
		INSERT INTO hall SELECT seq, CONCAT('T', seq) FROM seq_1_to_100; UPDATE hall SET ticket = 'X' WHERE id = 42;`)

	// A window that is closed now, whenever the test runs.
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	closed := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+2)%24, (now.Hour()+3)%24)
	cfg := reconcilePolicy(t, pg.DSN(pgdb), my.DSN(mydb), closed)
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	reg := NewRegistry(func() *Env { return &Env{Config: cfg, Catalog: cat, Logger: hclog.NewNullLogger()} }, hclog.NewNullLogger())
	ctx := context.Background()

	err = reg.Run(ctx, &schedule.Task{Kind: site.KindReconcile, Database: "hall", Trigger: schedule.TriggerRetry, Attempt: 2})
	if err == nil || !strings.Contains(err.Error(), "outside its window") || fault.IsTransient(err) {
		t.Errorf("outside the window: %v", err)
	}
	if runs, _ := cat.Reconciliations(ctx, "hall", 0); len(runs) != 0 {
		t.Errorf("a reconciliation ran outside its window: %+v", runs)
	}

	err = reg.Run(ctx, &schedule.Task{Kind: site.KindReconcile, Database: "hall", Trigger: schedule.TriggerCLI, IgnoreWindow: true, Attempt: 1})
	var de *reconcile.DifferencesError
	if !errors.As(err, &de) || fault.IsTransient(err) || Transient(err) {
		t.Fatalf("with a difference: %v, want a permanent *DifferencesError", err)
	}
	runs, err := cat.Reconciliations(ctx, "hall", 0)
	if err != nil || len(runs) != 1 || runs[0].Different != 1 || runs[0].Status != reconcile.StatusDifferent {
		t.Fatalf("stored runs = %+v, %v", runs, err)
	}
	jobs, _ := cat.Jobs(ctx, catalog.JobFilter{})
	var found bool
	for _, j := range jobs {
		if j.Kind == site.KindReconcile && j.Database == "hall" && j.Status == catalog.StatusFailed && strings.Contains(j.Error, "1 different") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failed reconcile job in the catalog: %+v", jobs)
	}
	k, _ := reg.Kind(site.KindReconcile)
	if k.Alert != config.EventReconcileDifferences {
		t.Errorf("alert = %q", k.Alert)
	}
}
