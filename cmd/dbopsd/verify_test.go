package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
)

// closedPort is a TCP port on 127.0.0.1 that nothing listens on: one the
// kernel just handed out and that was closed again.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestVerifyTargetDown: a verification whose scratch target does not answer
// did not run. It is recorded as not run with its cause, leaves the
// backup's verification state as it was (verified before, and never
// verified), and prints only that it did not run and why.
func TestVerifyTargetDown(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	s.ok("verify", "--database", "hall", "--target", "scratch")
	s.ok("backup", "--database", "hall", "--type", "differential")
	states := func() map[string]string {
		out := map[string]string{}
		for _, b := range s.list().Backups {
			out[b.Type] = b.VerifyStatus
		}
		return out
	}
	before := states()
	if before["full"] != "ok" || before["differential"] != "" {
		t.Fatalf("verification states before: %v", before)
	}

	good := s.config
	port := closedPort(t)
	down := strings.Replace(readFile(t, good), fmt.Sprintf("127.0.0.1:%d/postgres", s.dst.Port), fmt.Sprintf("127.0.0.1:%d/postgres", port), 1)
	s.config = writeTemp(t, s.dir, "target-down.hcl", down)
	defer func() { s.config = good }()

	for _, typ := range []string{"full", "differential"} {
		t.Run(typ, func(t *testing.T) {
			var id string
			for _, b := range s.list().Backups {
				if b.Type == typ {
					id = b.ID
				}
			}
			out, errs, code := s.run("verify", "--database", "hall", "--target", "scratch", "--backup", id)
			if code != 1 {
				t.Fatalf("verify against a target that is down: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			all := out + errs
			want := fmt.Sprintf("backup %s of hall: NOT RUN", id)
			if !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprint(port)) {
				t.Errorf("verify output does not say it did not run, and why:\n%s", all)
			}
			for _, never := range []string{"FAILED", "failed verification", "restored into", "compared", "integrity", "\\t"} {
				if strings.Contains(all, never) {
					t.Errorf("verify output says %q about what it did not do:\n%s", never, all)
				}
			}
			if n := strings.Count(strings.ToLower(all), "connection refused"); n > 1 {
				t.Errorf("the cause is printed %d times:\n%s", n, all)
			}

			var v struct {
				Verified bool   `json:"verified"`
				NotRun   string `json:"not_run"`
			}
			out, _, code = s.run("verify", "--database", "hall", "--target", "scratch", "--backup", id, "--json")
			if err := json.Unmarshal([]byte(out), &v); err != nil || code != 1 || v.Verified || !strings.Contains(v.NotRun, fmt.Sprint(port)) {
				t.Errorf("verify --json: exit %d, %+v, %v\n%s", code, v, err, out)
			}
		})
	}

	if after := states(); after["full"] != before["full"] || after["differential"] != before["differential"] {
		t.Errorf("verification states changed by verifications that did not run: before %v, after %v", before, after)
	}
	var log struct {
		Jobs []struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(s.ok("log", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	notRun := 0
	for _, j := range log.Jobs {
		if j.Kind != "verify" || j.Status == "ok" {
			continue
		}
		if j.Status != "not_run" || !strings.Contains(j.Error, "did not run") || !strings.Contains(j.Error, fmt.Sprint(port)) {
			t.Errorf("job log: verify %s: %q", j.Status, j.Error)
		}
		notRun++
	}
	if notRun != 4 {
		t.Errorf("job log has %d verifications not run, want 4", notRun)
	}

	// With the target back, the same backups verify.
	s.config = good
	s.ok("verify", "--database", "hall", "--target", "scratch")
	if after := states(); after["differential"] != "ok" {
		t.Errorf("verification states after the target came back: %v", after)
	}
}
