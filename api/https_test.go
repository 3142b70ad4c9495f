package api

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api/apitest"
)

// TestHTTPSRequestListener serves the request routes over TLS with a
// certificate from a throwaway CA: a client trusting the CA submits and
// follows requests, is refused as over the socket, and reaches nothing
// else; the caller is the client's address; a client without the CA, a
// client asking for TLS 1.1, an expired certificate, plain HTTP and a
// closed port each fail with an error that says so; a certificate swapped
// in serves the next connection; and the listener stops with its context.
func TestHTTPSRequestListener(t *testing.T) {
	dir := t.TempDir()
	ca := apitest.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := ca.Issue(t, certFile, keyFile)
	var current atomic.Pointer[tls.Certificate]
	load := func() {
		t.Helper()
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		current.Store(&c)
	}
	load()
	getCert := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load(), nil }

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ServeHTTPS(ctx, l, b, getCert, nil) }()
	server := "https://" + l.Addr().String()

	c, err := NewHTTPSClient(server, ca.File)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := c.SubmitRequest(ctx, []byte("good"))
	if err != nil || ra.ID != "R1" {
		t.Fatalf("submit over HTTPS: %+v, %v", ra, err)
	}
	if b.who.UID != -1 || !strings.HasPrefix(b.who.Remote, "127.0.0.1:") || b.who.User != "https:127.0.0.1" ||
		b.who.Source() != "https from "+b.who.Remote {
		t.Errorf("the caller over HTTPS: %+v (source %q)", b.who, b.who.Source())
	}
	_, err = c.SubmitRequest(ctx, []byte("bad"))
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != 403 || ae.Refusal != "approvals: a drill needs 1 approval(s)" || ae.RegisterSeq != 12 {
		t.Errorf("refused submit over HTTPS: %#v", err)
	}
	if rs, err := c.Request(ctx, "R1"); err != nil || rs.State != RequestRunning {
		t.Errorf("request R1 over HTTPS: %+v, %v", rs, err)
	}
	if _, err := c.Request(ctx, "R2"); !errors.As(err, &ae) || ae.Code != 404 {
		t.Errorf("request R2 over HTTPS: %v", err)
	}

	// Nothing but the request routes.
	if _, err := c.Status(ctx); !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("GET /v1/status over HTTPS: %v, want 404", err)
	}
	if _, err := c.Run(ctx, RunRequest{Database: "queue", Type: "full"}); !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("POST /v1/run over HTTPS: %v, want 404", err)
	}
	if _, err := c.Task(ctx, 7); !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("GET /v1/tasks/7 over HTTPS: %v, want 404", err)
	}
	if b.who.Remote == "" || b.body != len("bad") {
		t.Errorf("the backend saw a call it should not have: %+v", b)
	}

	// Not trusted: the system's roots do not hold the test CA.
	untrusted, err := NewHTTPSClient(server, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = untrusted.Request(ctx, "R1")
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "signed by an authority this machine does not trust") ||
		!strings.Contains(err.Error(), "dbopsd test CA") {
		t.Errorf("without the CA: %v", err)
	}

	// TLS 1.1 is refused by the server.
	if conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	if conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}); err != nil {
		t.Errorf("a TLS 1.2 handshake failed: %v", err)
	} else {
		conn.Close()
	}

	// A renewed certificate serves the next connection; an expired one
	// is reported as such.
	second := ca.Issue(t, certFile, keyFile)
	load()
	serial := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := serial(); got != second.SerialNumber.String() || got == first.SerialNumber.String() {
		t.Errorf("after the swap the server presents serial %s, want %s", got, second.SerialNumber)
	}
	ca.IssueUntil(t, certFile, keyFile, time.Now().Add(-time.Minute))
	load()
	fresh, _ := NewHTTPSClient(server, ca.File)
	if _, err := fresh.Request(ctx, "R1"); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired certificate: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTPS did not return")
	}
	if conn, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts connections after the server stopped")
	}
	// Nothing answers now.
	if _, err := c.Request(context.Background(), "R1"); !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), "request_listen") {
		t.Errorf("a closed port: %v", err)
	}
}

func TestHTTPSClientRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ server, want string }{
		{"http://10.1.1.5:9443", "the daemon takes requests over HTTPS only; use https://10.1.1.5:9443"},
		{"10.1.1.5:9443", "want https://host:port"},
		{"ftp://10.1.1.5", "want https://host:port"},
		{"https://", "want https://host:port"},
		{"https://u:p@10.1.1.5:9443", "without user, query or fragment"},
	} {
		if _, err := NewHTTPSClient(tt.server, ""); !errors.Is(err, ErrNotHTTPS) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewHTTPSClient(%q): %v, want %q", tt.server, err, tt.want)
		}
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHTTPSClient("https://127.0.0.1:9443", notPEM); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a CA file without certificates: %v", err)
	}
	if _, err := NewHTTPSClient("https://127.0.0.1:9443", filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "reading the CA file") {
		t.Errorf("a missing CA file: %v", err)
	}

	// A plain HTTP server (the metrics port, say) addressed as https://.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	c, err := NewHTTPSClient(strings.Replace(plain.URL, "http://", "https://", 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(context.Background(), "R1"); err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("plain HTTP: %v", err)
	}
}

// TestRequestLimitPerAddress: over HTTPS each client address (an IPv6
// /64) has its own allowance, whatever its port.
func TestRequestLimitPerAddress(t *testing.T) {
	h := requestHandler(&fakeBackend{}, nil, newLimiter(1, time.Minute, time.Now))
	for i, tt := range []struct {
		remote string
		want   int
	}{
		{"10.0.0.1:5000", 202}, {"10.0.0.1:5001", 429}, {"10.0.0.2:5000", 202},
		{"[2001:db8:1:2::10]:443", 202}, {"[2001:db8:1:2::99]:443", 429}, {"[2001:db8:1:3::10]:443", 202},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/requests", strings.NewReader("good"))
		req = req.WithContext(context.WithValue(req.Context(), callerKey{}, Caller{UID: -1, User: "https:x", Remote: tt.remote}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("submission %d from %s: %d, want %d", i+1, tt.remote, rec.Code, tt.want)
		}
	}
	// GET /v1/status is not among the routes.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /v1/status: %d", rec.Code)
	}

	// The limiter forgets callers whose allowance is whole again.
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(2, time.Second, func() time.Time { return now })
	for i := range maxBuckets {
		l.take("ip:" + string(rune(i)))
	}
	now = now.Add(time.Minute)
	l.take("ip:new")
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets kept, want only the new one", len(l.buckets))
	}
}
