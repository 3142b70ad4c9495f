package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/api/apitest"
	"github.com/dbopsd/dbopsd/register"
)

// TestSignedRequestsOverHTTPS runs the agent in-process with
// daemon.request_listen on a free loopback port, its certificate signed by
// a throwaway CA, and drives it as a DBA on another machine would, with
// --server: a drill goes from submit to done and into the register with
// the HTTPS client as its source; a client that does not trust the CA is
// told to pass --ca-file; a replayed and a forged request are refused with
// exactly the reasons the socket gives; the rest of the API is not there;
// $DBOPS_SERVER and $DBOPS_CA_FILE stand for the flags.
func TestSignedRequestsOverHTTPS(t *testing.T) {
	t.Setenv(envServer, "")
	t.Setenv(envCAFile, "")
	s := newSite(t, "")
	t.Setenv("SSH_AUTH_SOCK", "")
	ca := apitest.NewCA(t, filepath.Join(s.dir, "ca"))
	certFile, keyFile := filepath.Join(s.dir, "tls", "server.crt"), filepath.Join(s.dir, "tls", "server.key")
	ca.Issue(t, certFile, keyFile)
	dba, approver := writeRequestPolicy(t, s, fmt.Sprintf("  http_listen    = \"127.0.0.1:0\"\n  request_listen = \"127.0.0.1:0\"\n  tls_cert       = %q\n  tls_key        = %q\n", certFile, keyFile), "")
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")

	a, logs, _ := startRequestAgent(t, s.config, 0)
	server := "https://" + a.RequestAddr().String()
	remote := []string{"--server", server, "--ca-file", ca.File}
	file := func(name string) string { return filepath.Join(s.dir, name) }
	signed := func(name string, args ...string) string {
		t.Helper()
		s.ok(append([]string{"request", "new"}, append(args, "--reason", "异地提交演练", "-o", file(name))...)...)
		s.ok("request", "sign", "--key", dba.Private, file(name))
		s.ok("request", "approve", "--key", approver.Private, file(name))
		return file(name)
	}
	entries := func() []register.Entry {
		t.Helper()
		es, err := register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	defer func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	// Without the CA, the certificate is not trusted, and the message says
	// what to pass.
	msg := s.fails("request", "status", "R20260101-000000-aaaaaa", "--server", server)
	for _, want := range []string{"certificate is not trusted", "signed by an authority this machine does not trust", "--ca-file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("status without --ca-file: %q does not say %q", msg, want)
		}
	}

	// A drill, submitted and followed over HTTPS.
	drillReq := signed("drill.json", "drill", "--database", "hall", "--target", "scratch")
	out, errOut, code := s.run(append([]string{"request", "submit", drillReq}, remote...)...)
	id := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(id, "R") || !strings.Contains(errOut, "follow it: dbopsd request status "+id+" --follow --server "+server+" --ca-file "+ca.File) {
		t.Fatalf("request submit --server: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = s.run(append([]string{"request", "status", id, "--follow", "--poll", "100ms", "--json"}, remote...)...)
	var rs api.RequestStatus
	if err := json.Unmarshal([]byte(out), &rs); err != nil || code != 0 {
		t.Fatalf("request status --follow --server: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if rs.State != api.RequestDone || rs.Report != id || rs.Requester != "zhang.wei" || rs.Task == nil || rs.Task.Kind != "drill" {
		t.Fatalf("drill over HTTPS: %+v", rs)
	}
	var kinds []string
	source := ""
	for _, e := range entries() {
		if e.Request == id {
			kinds = append(kinds, string(e.Kind))
			if e.Kind == register.Received {
				source = e.Source
			}
		}
	}
	if got := strings.Join(kinds, " "); got != "received approved accepted started finished" || !strings.HasPrefix(source, "https from 127.0.0.1:") {
		t.Errorf("register entries of %s: %s, source %q", id, got, source)
	}

	// Refusals over HTTPS are the socket's, word for word, and exit 1.
	forged := signed("forged.json", "restore", "--database", "hall", "--target", "scratch", "--as", "hall_forged")
	data, err := os.ReadFile(forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(forged, []byte(strings.Replace(string(data), `"hall_forged"`, `"hall_other"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, file, want string }{
		{"replayed", drillReq, "replayed request"},
		{"forged", forged, "it was changed after it was signed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refusal := func(args ...string) (string, string) {
				t.Helper()
				out, errOut, code := s.run(append([]string{"request", "submit", tt.file, "--json"}, args...)...)
				var r struct {
					State   string `json:"state"`
					Refusal string `json:"refusal"`
				}
				if code != 1 || json.Unmarshal([]byte(out), &r) != nil || r.State != api.RequestRefused {
					t.Fatalf("submit %s %v: exit %d, want 1 with the refusal\n%s%s", tt.file, args, code, out, errOut)
				}
				return r.Refusal, errOut
			}
			overHTTPS, errOut := refusal(remote...)
			overSocket, _ := refusal()
			if overHTTPS != overSocket || !strings.Contains(overHTTPS, tt.want) || !strings.Contains(errOut, "refused: "+overHTTPS) {
				t.Errorf("refused over HTTPS for %q (%s), over the socket for %q", overHTTPS, errOut, overSocket)
			}
		})
	}
	started := 0
	for _, e := range entries() {
		if e.Kind == register.Started {
			started++
		}
	}
	if started != 1 {
		t.Errorf("%d requests started, want only the drill", started)
	}

	// Only the request routes are served over HTTPS.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}, Timeout: 10 * time.Second}
	resp, err := hc.Get(server + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/status over HTTPS: %s", resp.Status)
	}

	// The environment stands for the flags; --socket takes the socket.
	t.Setenv(envServer, server)
	t.Setenv(envCAFile, ca.File)
	if out := s.ok("request", "status", id); !strings.Contains(out, "request "+id+": done") {
		t.Errorf("request status with $%s:\n%s", envServer, out)
	}
	if out := s.ok("request", "status", id, "--socket", filepath.Join(s.dir, "dbopsd.sock")); !strings.Contains(out, "request "+id+": done") {
		t.Errorf("request status --socket with $%s set:\n%s", envServer, out)
	}
}

// TestRequestServerFlags: --server is https:// only, an address nobody
// answers at says so, and the flags that do not go together are refused.
func TestRequestServerFlags(t *testing.T) {
	t.Setenv(envServer, "")
	t.Setenv(envCAFile, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "absent.hcl")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"request", "status", "R1", "--server", "http://10.1.1.5:9443"}, 2, "over HTTPS only; use https://10.1.1.5:9443"},
		{[]string{"request", "submit", "x.json", "--server", "http://10.1.1.5:9443"}, 1, "x.json"}, // the file is read first
		{[]string{"request", "status", "R1", "--server", closed}, 1, "no dbopsd agent answers at " + closed},
		{[]string{"request", "status", "R1", "--server", closed, "--socket", "/run/x.sock"}, 2, "--socket and --server both given"},
		{[]string{"request", "status", "R1", "--ca-file", "/etc/ca.pem", "--socket", "/run/x.sock"}, 2, "--ca-file goes with --server"},
		{[]string{"request", "status", "R1", "--server", closed, "--ca-file", cfg}, 1, "--ca-file: reading the CA file"},
	} {
		out, errOut, code := cli(t, append(tt.args, "--config", cfg)...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("dbopsd %s: exit %d, want %d with %q\n%s%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out, errOut)
		}
	}
	// $DBOPS_SERVER is --server's default.
	t.Setenv(envServer, closed)
	if _, errOut, code := cli(t, "request", "status", "R1", "--config", cfg); code != 1 || !strings.Contains(errOut, "no dbopsd agent answers at "+closed) {
		t.Errorf("request status with $%s: exit %d\n%s", envServer, code, errOut)
	}
}
