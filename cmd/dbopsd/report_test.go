package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/report/reporttest"
)

// TestReportCommands: report monthly and weekly write their files under
// --out and the state directory, keep the model in the repository and the
// catalog, log a job, and --send mails the report; a month without data
// says so.
func TestReportCommands(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	srv := notifytest.StartMailServer(t, "dbops", "mail-pass")
	t.Setenv("REPORT_TEST_PASS", "report-repo-passphrase")
	t.Setenv("REPORT_TEST_SMTP", "mail-pass")
	cfg := filepath.Join(dir, "dbopsd.hcl")
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
  socket    = %q
  timezone  = "Asia/Shanghai"
}
storage "repo" {
  type = "local"
  path = %q
}
repository {
  storage    = "repo"
  passphrase = env("REPORT_TEST_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
}
database "人口库" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/people"
  policy = "p"
}
database "orders" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/orders"
  policy = "p"
}
database "gis" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/gis"
  policy = "p"
}
notify "bureau" {
  type     = "email"
  smtp     = %q
  ca_file  = %q
  username = "dbops"
  password = env("REPORT_TEST_SMTP")
  from     = "dbopsd@example.cn"
  to       = ["bureau@example.cn"]
  events   = ["monthly_report", "weekly_summary"]
}
report "monthly" {
  schedule = "monthly"
  site     = "市大数据中心"
  notify   = ["bureau"]
}
report "weekly" {
  schedule = "weekly"
  language = "en"
  notify   = ["bureau"]
}
`, state, filepath.Join(dir, "sock"), filepath.Join(dir, "repo"), srv.Addr, srv.CAFile)
	if err := os.WriteFile(cfg, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cliOK(t, "repo", "init", "--config", cfg)
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	reporttest.Generate(t, state, reporttest.History{Databases: []string{"人口库", "orders", "gis"}, Months: 13,
		Last: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), Seed: 2})
	cliOK(t, "register", "anchor", "--config", cfg)

	out := filepath.Join(dir, "out")
	stdout, _ := cliOK(t, "report", "monthly", "--config", cfg, "--month", "2026-11", "--out", out, "--send", "--no-pdf", "--json")
	var rows []struct {
		Scope, Period, Dir, Out, Document string
		Sent, Empty                       bool
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(rows) != 1 || rows[0].Period != "2026-11" || !rows[0].Sent || rows[0].Empty || rows[0].Document == "" {
		t.Fatalf("outcome: %+v", rows)
	}
	for _, d := range []string{out, rows[0].Dir} {
		for _, f := range []string{"report.html", "report.txt", "chart-1-size.png", "chart-3-duration.png", "chart-3-stored.png", "诊断发现_2026-11.csv", "数据量登记_2026-11.xlsx", "数据库运行状况月报_2026-11.html"} {
			if _, err := os.Stat(filepath.Join(d, f)); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	for _, want := range []string{`src="chart-1-size.png"`, "本月尚无诊断数据", "哈希链校验通过", "并已与仓库存储中的 1 个锚点核对"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html under --out does not hold %q", want)
		}
	}
	mail := srv.Wait(t, 1, 30*time.Second)[0]
	subject, _, _, err := mail.Decode()
	if err != nil || subject != "市大数据中心 数据库运行状况月报（2026-11）" {
		t.Errorf("subject %q (%v)", subject, err)
	}

	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	jobs, err := cat.Jobs(context.Background(), catalog.JobFilter{Kind: "report_monthly"})
	if err != nil || len(jobs) != 1 || jobs[0].Status != catalog.StatusOK || jobs[0].Details["period"] != "2026-11" || jobs[0].Details["sent"] != true {
		t.Fatalf("job log: %+v (%v)", jobs, err)
	}
	docs, err := history.Store{Catalog: cat}.List(context.Background(), catalog.DocumentQuery{Kind: history.KindReport})
	if err != nil || len(docs) != 1 || docs[0].Database != "_site" {
		t.Fatalf("kept documents: %+v (%v)", docs, err)
	}

	stdout, _ = cliOK(t, "report", "weekly", "--config", cfg, "--week", "2026-W46", "--out", filepath.Join(dir, "week"), "--database", "orders")
	if !strings.Contains(stdout, "weekly report 2026-W46") {
		t.Errorf("weekly: %s", stdout)
	}
	page, _ = os.ReadFile(filepath.Join(dir, "week", "report.html"))
	if !strings.Contains(string(page), "Weekly inspection summary") || !strings.Contains(string(page), "Mon 11-09") || strings.Contains(string(page), "人口库") {
		t.Errorf("the weekly summary of orders, in English, is not what was asked")
	}

	stdout, _ = cliOK(t, "report", "monthly", "--config", cfg, "--month", "2024-01", "--no-pdf")
	if !strings.Contains(stdout, "no data for this period") {
		t.Errorf("an empty month: %s", stdout)
	}
	cliFails(t, "want YYYY-MM", "report", "monthly", "--config", cfg, "--month", "2026/11")
	cliFails(t, `database "nope"`, "report", "monthly", "--config", cfg, "--database", "nope")
}
