package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

// cli runs one dbopsd command line in-process.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func cliOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("dbopsd %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func cliFails(t *testing.T, want string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, args...)
	if code == 0 {
		t.Fatalf("dbopsd %s: succeeded\n%s%s", strings.Join(args, " "), out, errOut)
	}
	if !strings.Contains(out+errOut, want) {
		t.Fatalf("dbopsd %s: output does not say %q:\n%s%s", strings.Join(args, " "), want, out, errOut)
	}
	return out + errOut
}

// TestRequestCommands walks a restore request through new, sign (key file),
// approve (ssh-agent, and a signature made by ssh-keygen), verify, and the
// refusals a DBA meets on the way.
func TestRequestCommands(t *testing.T) {
	site := requesttest.NewSite(t)
	cfg := site.ConfigPath
	req := filepath.Join(site.Dir, "req.json")
	key := func(name string) string { return site.Keys[name].Private }
	t.Setenv("SSH_AUTH_SOCK", "")

	cliFails(t, "drills go only to scratch targets", "request", "new", "drill", "--config", cfg,
		"--database", "queue", "--target", "standby-pg", "-o", req)
	cliFails(t, "--as is required", "request", "new", "restore", "--config", cfg, "--database", "queue", "--target", "standby-pg", "-o", req)
	_, errOut := cliOK(t, "request", "new", "restore", "--config", cfg, "--database", "queue", "--target", "standby-pg",
		"--as", "queue_restored", "--table", "public.tickets", "--table", "public.ratings", "--reason", "误删工单，恢复核对", "--expires", "3h", "-o", req)
	if !strings.Contains(errOut, "next: dbopsd request sign") {
		t.Fatalf("new: %s", errOut)
	}
	r, _, err := request.ReadFile(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requester != "" || r.Expires.Sub(r.NotBefore).Hours() != 3 || strings.Join(r.Parameters.Tables, ",") != "public.tickets,public.ratings" {
		t.Fatalf("request: %+v", r)
	}
	cliFails(t, "exists", "request", "new", "restore", "--config", cfg, "--database", "queue", "--target", "standby-pg", "--as", "x", "-o", req)

	// The requester signs with a key file; the requester is filled in.
	cliFails(t, `"wang.fang" does not have role "dba"`, "request", "sign", "--config", cfg, "--key", key(requesttest.Approver), req)
	cliFails(t, "not a signer in", "request", "sign", "--config", cfg, "--key", key(requesttest.Outsider), req)
	cliFails(t, "not signed by its requester yet", "request", "approve", "--config", cfg, "--key", key(requesttest.Approver), req)
	cliOK(t, "request", "sign", req, "--config", cfg, "--key", key(requesttest.DBA))
	cliFails(t, "already signed by zhang.wei", "request", "sign", "--config", cfg, "--key", key(requesttest.DBA), req)
	out, _ := cliFails(t, "approvals", "request", "verify", "--config", cfg, req), ""
	if !strings.Contains(out, "a restore needs 2 approval(s)") || !strings.Contains(out, "the daemon would refuse it") {
		t.Fatalf("verify before approval:\n%s", out)
	}

	// An approver whose key is in ssh-agent, named by its .pub file.
	cliFails(t, `"zhang.wei" requested`, "request", "approve", "--config", cfg, "--key", key(requesttest.DBA), req)
	cliFails(t, `does not have role "approver"`, "request", "approve", "--config", cfg, "--key", key(requesttest.DBA2), req)
	sock := sshtest.StartAgent(t)
	sshtest.AgentAdd(t, sock, key(requesttest.Approver))
	t.Setenv("SSH_AUTH_SOCK", sock)
	_, errOut = cliOK(t, "request", "approve", "--config", cfg, "--key", site.Keys[requesttest.Approver].Public, req)
	if !strings.Contains(errOut, "approvals: 1 of 2") {
		t.Fatalf("approve: %s", errOut)
	}
	cliFails(t, `"wang.fang" has already signed`, "request", "approve", "--config", cfg, "--agent", req)

	// The second approver signs with ssh-keygen over the canonical bytes.
	canon, _ := cliOK(t, "request", "canonical", req)
	sigFile := filepath.Join(site.Dir, "zhao.sig")
	if err := os.WriteFile(sigFile, sshtest.Sign(t, key(requesttest.Approver2), request.Namespace, "", []byte(canon)), 0o600); err != nil {
		t.Fatal(err)
	}
	cliOK(t, "request", "approve", "--config", cfg, "--signature", sigFile, req)

	out, _ = cliOK(t, "request", "verify", "--config", cfg, req)
	for _, want := range []string{"pass         signatures       3 valid: zhang.wei, wang.fang, zhao.min", "pass         approvals        2 of 2",
		"not checked  nonce", "passes every check made here"} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify does not say %q:\n%s", want, out)
		}
	}
	out, _ = cliOK(t, "request", "verify", "--config", cfg, "--json", req)
	var v struct {
		OK     bool             `json:"ok"`
		Checks []request.Result `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !v.OK || len(v.Checks) != 9 {
		t.Fatalf("verify --json: %v %s", err, out)
	}
	// ssh-keygen accepts every signature in the file.
	r, _, _ = request.ReadFile(req)
	for _, s := range r.Signatures {
		if err := sshtest.Verify(t, s.Signer, site.Keys[s.Signer].Line, request.Namespace, []byte(s.Signature), []byte(canon)); err != nil {
			t.Fatalf("%s: %v", s.Signer, err)
		}
	}
	cliFails(t, "expired", "request", "verify", "--config", cfg, "--at", r.Expires.Add(10*60e9).Format("2006-01-02T15:04:05Z"), req)

	// Changed after signing: verify refuses, and no one approves it.
	data, _ := os.ReadFile(req)
	changed := filepath.Join(site.Dir, "changed.json")
	os.WriteFile(changed, bytes.Replace(data, []byte(`"replace": false`), []byte(`"replace": true`), 1), 0o644)
	cliFails(t, "none of the 3 signatures matches the request", "request", "verify", "--config", cfg, changed)
	cliFails(t, "it was changed after it was signed; do not approve it", "request", "approve", "--config", cfg, "--key", key(requesttest.Approver2), changed)
	os.WriteFile(changed, append(data, "x"...), 0o644)
	cliFails(t, "unexpected data after the request object", "request", "verify", "--config", cfg, changed)
}

// TestRequestWithoutPolicy signs where no policy file is at hand: the signer
// name comes from --signer.
func TestRequestWithoutPolicy(t *testing.T) {
	site := requesttest.NewSite(t)
	t.Setenv("DBOPS_CONFIG", "")
	t.Setenv("SSH_AUTH_SOCK", "")
	missing := filepath.Join(site.Dir, "absent.hcl")
	req := filepath.Join(site.Dir, "drill.json")
	cliOK(t, "request", "new", "drill", "--database", "queue", "--target", "scratch-pg", "--requester", requesttest.DBA, "-o", req)
	cliFails(t, "pass --signer NAME", "request", "sign", "--key", site.Keys[requesttest.DBA].Private, req)
	cliFails(t, "Cannot read the configuration file", "request", "sign", "--config", missing, "--key", site.Keys[requesttest.DBA].Private, req)
	cliOK(t, "request", "sign", "--signer", requesttest.DBA, "--key", site.Keys[requesttest.DBA].Private, req)
	cliOK(t, "request", "approve", "--signer", requesttest.Approver, "--key", site.Keys[requesttest.Approver].Private, req)
	out, _ := cliOK(t, "request", "verify", "--config", site.ConfigPath, req)
	if !strings.Contains(out, "drill of queue from the newest backup onto scratch-pg as \"queue_drill_") {
		t.Fatalf("verify:\n%s", out)
	}
}
