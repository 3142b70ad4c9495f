package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

// TestRegisterCommands fills a register as the daemon would (through the
// Gate: one request run, one refused), then shows, exports, anchors and
// verifies it, and tampers with it.
func TestRegisterCommands(t *testing.T) {
	site := requesttest.NewSite(t)
	cfg := site.ConfigPath
	ctx := context.Background()
	t.Setenv("SSH_AUTH_SOCK", "")

	cliFails(t, "no restore register at", "register", "show", "--config", cfg)

	nonces, err := request.OpenNonceStore(site.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer nonces.Close()
	reg, err := register.Open(site.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	g := &request.Gate{Config: site.Config, Nonces: nonces, Register: reg,
		Exists: func(context.Context, *config.RestoreTarget, string) (bool, error) { return false, nil }}

	good, err := request.New(request.Draft{Action: "restore", Requester: requesttest.DBA, Reason: "误删工单，恢复到备用库核对",
		Parameters: request.Parameters{Database: "queue", Target: "standby-pg", As: "queue_restored"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{requesttest.DBA, requesttest.Approver, requesttest.Approver2} {
		site.Sign(t, good, n)
	}
	acc, err := g.Receive(ctx, bytes.NewReader(good.Marshal()), "unix socket uid=1001")
	if err != nil {
		t.Fatal(err)
	}
	g.Started(acc, "20260301T010000.000Z-ab12")
	g.Finished(acc, "20260301T010000.000Z-ab12", 83*time.Second, nil)
	if _, err := g.Receive(ctx, bytes.NewReader(good.Marshal()), "unix socket uid=1001"); err == nil {
		t.Fatal("replay accepted")
	}

	out, _ := cliOK(t, "register", "show", "--config", cfg)
	for _, want := range []string{"received", "restore of queue onto standby-pg as queue_restored, by zhang.wei", "approved by wang.fang",
		"accepted, approved by wang.fang, zhao.min", "started on backup 20260301T010000.000Z-ab12", "succeeded in 1m23s", "replayed request"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show does not say %q:\n%s", want, out)
		}
	}
	out, _ = cliOK(t, "register", "show", "--config", cfg, "--json", "--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("--since in the future: %s", out)
	}
	out, _ = cliOK(t, "register", "show", "--state-dir", site.StateDir, "--config", cfg, "--json", "--request", good.ID)
	var shown []register.Entry
	if err := json.Unmarshal([]byte(out), &shown); err != nil || len(shown) != 8 {
		t.Fatalf("show --json: %d entries, %v", len(shown), err)
	}

	// Exports.
	csvFile := filepath.Join(site.Dir, "register.csv")
	cliOK(t, "register", "export", "--config", cfg, "--csv", "-o", csvFile)
	data, _ := os.ReadFile(csvFile)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv: %v %q", err, recs)
	}
	if strings.Join(recs[0][:9], ",") != "日期,数据库,使用的备份,恢复目标,申请人,审批人,原因,结果,耗时" ||
		recs[1][7] != "成功" || recs[1][8] != "1分23秒" || recs[1][5] != "wang.fang、zhao.min" || !strings.HasPrefix(recs[2][7], "已拒绝：nonce: replayed request") {
		t.Fatalf("csv rows: %q", recs)
	}
	out, _ = cliOK(t, "register", "export", "--config", cfg, "--csv", "--lang", "en", "--no-bom", "-o", "-")
	if !strings.HasPrefix(out, "Date,Database,Backup used,Target,Requester,Approvers,Reason,Outcome,Duration") {
		t.Fatalf("csv en: %s", out)
	}
	xlsx := filepath.Join(site.Dir, "register.xlsx")
	cliOK(t, "register", "export", "--config", cfg, "--xlsx", "-o", xlsx)
	if zr, err := zip.OpenReader(xlsx); err != nil || len(zr.File) != 6 {
		t.Fatalf("xlsx: %v", err)
	} else {
		zr.Close()
	}
	cliFails(t, "give one of --csv and --xlsx", "register", "export", "--config", cfg, "-o", xlsx)

	// Anchor, verify, then cut the tail: only the anchor notices.
	out, _ = cliOK(t, "register", "anchor", "--config", cfg)
	if !strings.Contains(out, "anchored seq 8") {
		t.Fatalf("anchor: %s", out)
	}
	out, _ = cliOK(t, "register", "verify", "--config", cfg)
	if !strings.Contains(out, "anchors: 1 in") || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %s", out)
	}
	path := filepath.Join(site.StateDir, register.FileName)
	whole, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(whole), "\n")
	os.WriteFile(path, []byte(strings.Join(lines[:6], "")), 0o600)
	cliOK(t, "register", "verify", "--config", cfg, "--no-anchors")
	out = cliFails(t, "first bad line 7", "register", "verify", "--config", cfg)
	if !strings.Contains(out, "truncated: the register ends at seq 6") {
		t.Fatalf("truncation: %s", out)
	}

	// An edited line is named, and blocks the export without --force.
	os.WriteFile(path, []byte(strings.Replace(string(whole), "误删工单", "例行检查", 1)), 0o600)
	cliFails(t, "first bad line 1", "register", "verify", "--config", cfg)
	cliFails(t, `"kind": "edited"`, "register", "verify", "--file", path, "--json")
	cliFails(t, "fails verification", "register", "export", "--config", cfg, "--csv", "-o", csvFile)
	_, errOut := cliOK(t, "register", "export", "--config", cfg, "--csv", "--force", "-o", csvFile)
	if !strings.Contains(errOut, "warning: the register fails verification") {
		t.Fatalf("export --force: %s", errOut)
	}
	cliFails(t, "not anchoring it", "register", "anchor", "--config", cfg)
}
