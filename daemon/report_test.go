package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/report/reporttest"
	"github.com/dbopsd/dbopsd/schedule"
)

// reportSite is a site with one database, backups kept outside their
// window (only reports run), three months of generated history up to the
// last complete month, a recent prune and check, a mail server, and the
// report blocks given (notify "bureau" mails them). It returns the site,
// its state directory, the mail server and the last complete month.
func reportSite(t *testing.T, reports string) (*testSite, string, *notifytest.MailServer, time.Time) {
	t.Helper()
	pg := harness.SourcePostgres(t)
	mail := notifytest.StartMailServer(t, "dbops", "mail-pass")
	t.Setenv("TEST_SMTP_PASS", "mail-pass")
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "none"
  window       = %q
  verify       = "none"
}
database "people" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
notify "bureau" {
  type     = "email"
  smtp     = %q
  ca_file  = %q
  username = "dbops"
  password = env("TEST_SMTP_PASS")
  from     = "dbopsd@example.cn"
  to       = ["bureau@example.cn"]
  events   = ["monthly_report"]
}
`, window, pg.DSN("postgres"), mail.Addr, mail.CAFile) + reports
	})
	stateDir := filepath.Join(s.dir, "state")
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	reporttest.Generate(t, stateDir, reporttest.History{Databases: []string{"people"}, Months: 3, Last: last, Seed: 3})
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	// A recent prune and check: a prune would sync the catalog with the
	// repository, which does not hold the generated backups.
	for _, kind := range []string{"prune", daemon.KindCheck} {
		if _, err := cat.RecordJob(context.Background(), catalog.Job{Kind: kind, Trigger: "schedule", StartedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s, stateDir, mail, last
}

// TestMonthlyReportOnSchedule: a daemon that never made a monthly report
// makes one at once for the last complete month, mails it, logs the job,
// and does not make it again on the next sweeps (catch-up once).
func TestMonthlyReportOnSchedule(t *testing.T) {
	s, stateDir, mail, last := reportSite(t, `
report "monthly" {
  schedule = "monthly"
  site     = "市大数据中心"
  notify   = ["bureau"]
}
`)
	start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), SweepInterval: 200 * time.Millisecond, StaleAfter: time.Hour})
	got := mail.Wait(t, 1, 60*time.Second)[0]
	subject, _, _, err := got.Decode()
	if want := "市大数据中心 数据库运行状况月报（" + last.Format("2006-01") + "）"; err != nil || subject != want {
		t.Errorf("subject %q (%v), want %q", subject, err, want)
	}
	time.Sleep(2 * time.Second) // ten sweeps
	if n := len(mail.Messages()); n != 1 {
		t.Errorf("%d reports mailed, want 1", n)
	}
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	js, err := cat.Jobs(context.Background(), catalog.JobFilter{Kind: daemon.KindReportMonthly})
	if err != nil || len(js) != 1 || js[0].Status != catalog.StatusOK || js[0].Trigger != "catch-up" || js[0].Details["sent"] != true {
		t.Fatalf("job log: %+v (%v)", js, err)
	}
	if !strings.HasPrefix(js[0].Details["dir"].(string), filepath.Join(stateDir, "reports", "monthly")) {
		t.Errorf("kept in %v", js[0].Details["dir"])
	}
}

// TestReportBlocksOwnSchedules: two monthly report blocks on different
// days are two entries, each due by its own schedule and its own last
// success: the block made this month is not made again, the one whose day
// passed since its last report is made (and mailed) once.
func TestReportBlocksOwnSchedules(t *testing.T) {
	now := time.Now().UTC()
	s, stateDir, mail, last := reportSite(t, fmt.Sprintf(`
report "first" {
  schedule = "monthly"
  site     = "市大数据中心"
  notify   = ["bureau"]
}
report "mid" {
  kind     = "monthly"
  schedule = "0 8 %d * *"
  site     = "市政务服务中心"
  notify   = ["bureau"]
}
`, 15))
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	// "first" was made just now; "mid" 40 days ago, before its last 15th.
	for block, at := range map[string]time.Time{"first": now, "mid": now.AddDate(0, 0, -40)} {
		if _, err := cat.RecordJob(context.Background(), catalog.Job{Kind: daemon.KindReportMonthly, Database: block, Trigger: "schedule", StartedAt: at}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()

	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), SweepInterval: 200 * time.Millisecond, StaleAfter: time.Hour})
	plan := a.Scheduler().Plan()
	from := time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)
	for block, want := range map[string]time.Time{"first": time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC), "mid": time.Date(2027, 3, 15, 8, 0, 0, 0, time.UTC)} {
		e := plan.Entry(schedule.Key{Kind: daemon.KindReportMonthly, Database: block})
		if e == nil {
			t.Fatalf("no plan entry for report block %q", block)
		}
		if next := e.Spec.Next(from); !next.Equal(want) {
			t.Errorf("report %s: next after %s is %s, want %s (%s)", block, from, next, want, e.Schedule)
		}
	}
	got := mail.Wait(t, 1, 60*time.Second)[0]
	subject, _, _, err := got.Decode()
	if want := "市政务服务中心 数据库运行状况月报（" + last.Format("2006-01") + "）"; err != nil || subject != want {
		t.Errorf("subject %q (%v), want %q", subject, err, want)
	}
	time.Sleep(2 * time.Second) // ten sweeps
	if n := len(mail.Messages()); n != 1 {
		t.Errorf("%d reports mailed, want 1 (of mid)", n)
	}
	cat, err = catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	js, err := cat.Jobs(context.Background(), catalog.JobFilter{Kind: daemon.KindReportMonthly, Since: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// Since a minute ago: the one of first recorded above, and mid's.
	made := map[string]int{}
	for _, j := range js {
		made[j.Database]++
		if j.Database == "mid" && (j.Status != catalog.StatusOK || j.Details["sent"] != true) {
			t.Errorf("job of mid: %+v", j)
		}
	}
	if made["mid"] != 1 || made["first"] != 1 || len(js) != 2 {
		t.Errorf("report jobs since the start: %v, want first's recorded one and mid's made once", made)
	}
}
