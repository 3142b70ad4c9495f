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
)

// TestMonthlyReportOnSchedule: a daemon that never made a monthly report
// makes one at once for the last complete month, mails it, logs the job,
// and does not make it again on the next sweeps (catch-up once).
func TestMonthlyReportOnSchedule(t *testing.T) {
	pg := harness.SourcePostgres(t)
	mail := notifytest.StartMailServer(t, "dbops", "mail-pass")
	t.Setenv("TEST_SMTP_PASS", "mail-pass")
	now := time.Now().UTC()
	// Backups stay outside their window: only the report runs.
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
report "monthly" {
  schedule = "monthly"
  site     = "市大数据中心"
  notify   = ["bureau"]
}
`, window, pg.DSN("postgres"), mail.Addr, mail.CAFile)
	})
	stateDir := filepath.Join(s.dir, "state")
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	reporttest.Generate(t, stateDir, reporttest.History{Databases: []string{"people"}, Months: 3, Last: last, Seed: 3})
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	// A recent prune and check: a prune would sync the catalog with the
	// repository, which does not hold the generated backups.
	for _, kind := range []string{"prune", daemon.KindCheck} {
		if _, err := cat.RecordJob(context.Background(), catalog.Job{Kind: kind, Trigger: "schedule", StartedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()

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
	cat, err = catalog.Open(stateDir)
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
