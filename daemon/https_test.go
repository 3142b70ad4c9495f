package daemon_test

import (
	"context"
	"crypto/tls"
	"errors"
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
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

// TestHTTPSRequestListener runs the agent with daemon.request_listen on a
// free loopback port and a certificate from a throwaway CA: a forged
// request submitted over HTTPS is refused with the very reason it gets
// over the socket, and the register records each with its source; its
// status answers over HTTPS, nothing else does (GET /v1/status is 404
// there, and still answers on the socket); SIGHUP's Reload serves a
// renewed certificate to the next connection, and a key that does not
// load refuses the reload and keeps the certificate in force; the
// listener closes with the agent.
func TestHTTPSRequestListener(t *testing.T) {
	dba := sshtest.NewKey(t, t.TempDir(), "ed25519", "zhang.wei")
	var ca *apitest.CA
	var certFile, keyFile string
	s := newSite(t, func(dir string) string {
		ca = apitest.NewCA(t, dir)
		certFile, keyFile = filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key")
		ca.Issue(t, certFile, keyFile)
		listener := "daemon {\n  request_listen = \"127.0.0.1:0\"\n  tls_cert = \"tls/server.crt\"\n  tls_key = \"tls/server.key\"\n"
		return strings.Replace(daemonBlock(dir, ""), "daemon {\n", listener, 1) + fmt.Sprintf(`
signer "zhang.wei" {
  public_key = %q
  roles      = ["dba"]
}
`, dba.Line)
	})
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), Version: "test"})
	addr := a.RequestAddr()
	if addr == nil {
		t.Fatal("no request listener")
	}
	server := "https://" + addr.String()
	ctx := context.Background()
	remote, err := api.NewHTTPSClient(server, ca.File)
	if err != nil {
		t.Fatal(err)
	}
	local := api.NewClient(a.SocketPath())

	// A request changed after it was signed.
	r, err := request.New(request.Draft{Action: request.ActionDrill, Requester: "zhang.wei", Reason: "季度演练",
		Parameters: request.Parameters{Database: "queue", Target: "scratch", As: "queue_drill"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := request.LoadKey(dba.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sign(signer, "zhang.wei"); err != nil {
		t.Fatal(err)
	}
	r.Parameters.As = "queue"
	forged := r.Marshal()
	refusal := func(c *api.Client) string {
		t.Helper()
		_, err := c.SubmitRequest(ctx, forged)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != http.StatusForbidden || ae.Refusal == "" {
			t.Fatalf("forged request: %v, want 403 with a refusal", err)
		}
		return ae.Refusal
	}
	overHTTPS, overSocket := refusal(remote), refusal(local)
	if overHTTPS != overSocket || !strings.Contains(overHTTPS, "does not match the request") {
		t.Errorf("forged request refused over HTTPS for %q, over the socket for %q", overHTTPS, overSocket)
	}
	es, err := register.ReadFile(filepath.Join(s.dir, "state", register.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, e := range es {
		if e.Kind == register.Received && e.Request == r.ID {
			sources = append(sources, e.Source)
		}
	}
	if len(sources) != 2 || !strings.HasPrefix(sources[0], "https from 127.0.0.1:") || !strings.HasPrefix(sources[1], "unix socket uid=") {
		t.Errorf("sources in the register: %q", sources)
	}
	if rs, err := remote.Request(ctx, r.ID); err != nil || rs.State != api.RequestRefused || rs.Refusal != overSocket || rs.Submissions != 2 {
		t.Errorf("request status over HTTPS: %+v, %v", rs, err)
	}

	// Only the request routes over HTTPS.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}, Timeout: 10 * time.Second}
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/status"}, {http.MethodPost, "/v1/run"}, {http.MethodGet, "/v1/tasks/1"},
		{http.MethodGet, "/metrics"}, {http.MethodGet, "/healthz"},
	} {
		req, _ := http.NewRequest(tt.method, server+tt.path, strings.NewReader(`{"database":"queue","type":"full"}`))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s over HTTPS: %s, want 404 or 405", tt.method, tt.path, resp.Status)
		}
	}
	if _, err := local.Status(ctx); err != nil {
		t.Errorf("status over the socket: %v", err)
	}

	// Renewal: new files, SIGHUP (Reload), the next connection gets them.
	serial := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("TLS version %x", v)
		}
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	renewed := ca.Issue(t, certFile, keyFile)
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != renewed.SerialNumber.String() || got == before {
		t.Errorf("after the reload: serial %s, want %s (was %s)", got, renewed.SerialNumber, before)
	}
	if !strings.Contains(s.logs.String(), "the request listener's certificate was reloaded") {
		t.Error("the reload of the certificate is not logged")
	}
	// A broken key: the reload is refused at tls_key, the renewed
	// certificate keeps serving.
	if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *daemon.ConfigError
	if err := a.Reload(); !errors.As(err, &ce) || !strings.Contains(err.Error(), "tls_key") {
		t.Errorf("reload with a broken key: %v", err)
	}
	if got := serial(); got != renewed.SerialNumber.String() {
		t.Errorf("after a refused reload: serial %s, want %s", got, renewed.SerialNumber)
	}

	// The listener stops with the agent.
	a.stop(t)
	if conn, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		conn.Close()
		t.Error("the request listener still accepts connections after the agent stopped")
	}
}
