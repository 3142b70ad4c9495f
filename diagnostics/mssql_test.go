package diagnostics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

// SQL Server cannot run here: its checks are tested on facts recorded in
// the form engines/mssql's collector writes them (testdata/mssql-*.json),
// the previous day's snapshot and a monthly one with every condition.

func loadFacts(t *testing.T, name string) *diagmodel.Facts {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f diagmodel.Facts
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &f
}

func mssqlReport(cur, prev *diagmodel.Facts) *diagnostics.Report {
	return diagnostics.Analyze(diagnostics.Input{Facts: cur, Prev: prev, Thresholds: diagnostics.DefaultThresholds(), Lang: i18n.EN})
}

func TestMSSQLChecks(t *testing.T) {
	prev, cur := loadFacts(t, "mssql-daily.json"), loadFacts(t, "mssql-monthly.json")
	r := mssqlReport(cur, prev)

	// The common checks, from SQL Server's facts.
	wantFinding(t, r, "connections-high", "")
	wantFinding(t, r, "long-transaction", "pid 53")
	wantFinding(t, r, "idle-in-transaction", "pid 53")
	if f := wantFinding(t, r, "blocked-sessions", "pid 61"); !strings.Contains(f.Details+f.Finding, "53") {
		t.Errorf("the blocker is not named: %+v", f)
	}
	if f := wantFinding(t, r, "deadlocks", "销售库"); !strings.Contains(f.Finding, "3") {
		t.Errorf("deadlocks over the interval: %s", f.Finding)
	}
	wantFinding(t, r, "error-log", "FATAL")
	wantFinding(t, r, "superusers", "sa")
	wantFinding(t, r, "role-no-password", "sa")
	wantNoFinding(t, r, "role-no-password", "app")
	wantFinding(t, r, "ssl-off", "")
	if f := wantFinding(t, r, "cache-hit-ratio", "销售库"); !strings.Contains(f.Finding, "50.0") {
		t.Errorf("the interval's hit ratio: %s", f.Finding)
	}
	wantFinding(t, r, "unused-index", "IX_a")
	wantFinding(t, r, "duplicate-index", "IX_a")
	wantFinding(t, r, "top-statements", "")

	// SQL Server's own.
	if f := wantFinding(t, r, "checkdb-age", "销售库"); !strings.Contains(f.Finding, "2026-11-06") {
		t.Errorf("checkdb-age: %s", f.Finding)
	}
	if f := wantFinding(t, r, "other-backups", "full/differential"); !strings.Contains(f.Details, "Veeam Backup") {
		t.Errorf("other-backups does not name the tool: %s", f.Details)
	}
	wantFinding(t, r, "other-backups", "log")
	wantFinding(t, r, "native-backup-failed", "销售库")
	wantFinding(t, r, "page-life-expectancy", "销售库")
	// 4,500,000 ms over 100,000 reads is 45 ms; the writes take 5 ms.
	if f := wantFinding(t, r, "io-stalls", "销售库"); f.Object != "销售库" || !strings.Contains(f.Finding, "45 ms per read and 5 ms per write") {
		t.Errorf("io-stalls: %+v", f)
	}
	// The log file: 100 ms per read but 500 reads only, 1 ms per write.
	wantNoFinding(t, r, "io-stalls", "销售库_log")
	wantFinding(t, r, "index-fragmentation", "dbo.订单.IX_a")
	wantNoFinding(t, r, "index-fragmentation", "PK_")
	wantFinding(t, r, "login-name-password", "app")
	wantNoFinding(t, r, "login-name-password", "old") // disabled
	wantFinding(t, r, "login-policy-off", "app")
	if f := wantFinding(t, r, "top-waits", "PAGEIOLATCH_SH"); !strings.Contains(f.Finding, "100.0") || !strings.Contains(f.Details, "15m0s") {
		t.Errorf("top-waits: %s / %s", f.Finding, f.Details)
	}

	// What does not apply or is not known says so.
	for _, id := range []string{"archive-failing", "wraparound", "hba-trust", "anonymous-account", "role-md5", "never-analyzed"} {
		if st := status(r, id); st.Status != diagnostics.StatusNotApplicable {
			t.Errorf("%s on SQL Server: %+v", id, st)
		}
	}
	if st := status(r, "version-patch"); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, "mssql 16.0") {
		t.Errorf("version-patch of a SQL Server release this build does not know: %+v", st)
	}
	if st := status(r, "replication"); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, "Always On") {
		t.Errorf("replication: %+v", st)
	}
	zh := diagnostics.Analyze(diagnostics.Input{Facts: cur, Prev: prev, Lang: i18n.ZH})
	for _, f := range zh.Findings {
		if f.Check == "replication" && !strings.Contains(f.Details, "可用性组") {
			t.Errorf("the reason is not in the report's language: %s", f.Details)
		}
	}
	for _, id := range []string{"checkdb-age", "other-backups", "io-stalls", "index-fragmentation", "login-policy-off"} {
		if st := status(r, id); st.Status != diagnostics.StatusRan {
			t.Errorf("%s: %+v", id, st)
		}
	}

	// The SQL Server checks stay away from the other engines.
	pg := loadFacts(t, "mssql-monthly.json")
	pg.Engine = "postgres"
	if st := status(mssqlReport(pg, nil), "checkdb-age"); st.Status != diagnostics.StatusNotApplicable {
		t.Errorf("checkdb-age on PostgreSQL: %+v", st)
	}
}

// TestMSSQLHealthy: the same server in good health raises none of
// SQL Server's findings.
func TestMSSQLHealthy(t *testing.T) {
	cur := loadFacts(t, "mssql-monthly.json")
	m := cur.MSSQL
	ple := int64(4000)
	m.PageLifeExpectancy = &ple
	m.LastGoodCheckDB = cur.CollectedAt.Add(-3 * 24 * time.Hour)
	m.Backups.LastDiff = cur.CollectedAt.Add(-8 * time.Hour)
	m.Backups.LastLog = cur.CollectedAt.Add(-15 * time.Minute)
	m.BackupFailures, m.PolicyOff, m.Fragmented = nil, nil, nil
	m.Files = m.Files[:1]
	m.Files[0].ReadStallMS = 100000
	cur.Roles = cur.Roles[2:3]
	r := mssqlReport(cur, nil)
	for _, id := range []string{"checkdb-age", "other-backups", "native-backup-failed", "page-life-expectancy", "io-stalls",
		"index-fragmentation", "login-name-password", "login-policy-off"} {
		if fs := found(r, id, ""); len(fs) > 0 {
			t.Errorf("%s on a healthy server: %+v", id, fs)
		}
		if st := status(r, id); st.Status != diagnostics.StatusRan {
			t.Errorf("%s: %+v", id, st)
		}
	}
	// SIMPLE recovery: no log backups expected.
	m.RecoveryModel, m.Backups.LastLog = "SIMPLE", time.Time{}
	if fs := found(mssqlReport(cur, nil), "other-backups", "log"); len(fs) > 0 {
		t.Errorf("log backups asked of a SIMPLE database: %+v", fs)
	}
	// Never checked, no backup at all.
	m.LastGoodCheckDB, m.Backups = time.Time{}, &diagmodel.NativeBackups{}
	r = mssqlReport(cur, nil)
	if f := wantFinding(t, r, "checkdb-age", ""); !strings.Contains(f.Finding, "-") {
		t.Errorf("never checked: %s", f.Finding)
	}
	wantFinding(t, r, "other-backups", "full/differential")
}
