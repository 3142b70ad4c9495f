package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/api/apitest"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/daemon"
)

const certExpiryMetric = "dbopsd_request_tls_cert_expiry_timestamp_seconds"

// listenerSite is a policy with the HTTPS request listener, its
// certificate from ca expiring at notAfter, and extra appended.
func listenerSite(t *testing.T, notAfter time.Time, extra string) (s *testSite, ca *apitest.CA, certFile, keyFile string) {
	t.Helper()
	s = newSite(t, func(dir string) string {
		ca = apitest.NewCA(t, dir)
		certFile, keyFile = filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key")
		ca.IssueUntil(t, certFile, keyFile, notAfter)
		listener := "daemon {\n  request_listen = \"127.0.0.1:0\"\n  tls_cert = \"tls/server.crt\"\n  tls_key = \"tls/server.key\"\n"
		return strings.Replace(daemonBlock(dir, ""), "daemon {\n", listener, 1) + extra
	})
	return s, ca, certFile, keyFile
}

// scrapeValue is the value of the series name (no labels) on the
// agent's /metrics; ok false when it is not exported.
func scrapeValue(t *testing.T, a *running, name string) (v float64, ok bool) {
	t.Helper()
	code, body := scrape(t, "http://"+a.MetricsAddr().String()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	return metricValue(body, name)
}

// TestRequestCertificateExpiry: the expiry of the request listener's
// certificate is the metric dbopsd_request_tls_cert_expiry_timestamp_seconds
// and part of the status, with the listener's address; a certificate that
// expires within 14 days is warned about at start and on each reload that
// keeps such a one, and a renewed certificate moves the metric and the
// status on reload.
func TestRequestCertificateExpiry(t *testing.T) {
	soon := time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
	s, ca, certFile, keyFile := listenerSite(t, soon, "")
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), Version: "test"})
	local := api.NewClient(a.SocketPath())
	const warning = "the request listener's certificate expires soon"

	check := func(when string, notAfter time.Time, warnings int) {
		t.Helper()
		if v, ok := scrapeValue(t, a, certExpiryMetric); !ok || v != float64(notAfter.Unix()) {
			t.Errorf("%s: %s = %v (exported %v), want %d", when, certExpiryMetric, v, ok, notAfter.Unix())
		}
		st, err := local.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rl := st.Daemon.RequestListener
		if rl == nil || rl.Address != a.RequestAddr().String() || !rl.CertNotAfter.Equal(notAfter) || rl.CertSubject == "" {
			t.Errorf("%s: status request_listener %+v, want %s until %s", when, rl, a.RequestAddr(), notAfter)
		}
		if n := strings.Count(s.logs.String(), warning); n != warnings {
			t.Errorf("%s: %d warnings that the certificate expires soon, want %d:\n%s", when, n, warnings, s.logs.String())
		}
	}
	check("at start", soon, 1)

	renewed := ca.IssueUntil(t, certFile, keyFile, time.Now().Add(90*24*time.Hour)).NotAfter
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	check("after the renewal", renewed, 1)

	again := ca.IssueUntil(t, certFile, keyFile, time.Now().Add(2*24*time.Hour)).NotAfter
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	check("after a reload to a certificate that expires soon", again, 2)
}

// TestStatusNoRequestListener: without daemon.request_listen the status
// has no request_listener and the expiry metric is not exported.
func TestStatusNoRequestListener(t *testing.T) {
	s := newSite(t, func(dir string) string { return daemonBlock(dir, "") })
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), Version: "test"})
	st, err := api.NewClient(a.SocketPath()).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Daemon.RequestListener != nil {
		t.Errorf("status request_listener %+v without daemon.request_listen", st.Daemon.RequestListener)
	}
	if v, ok := scrapeValue(t, a, certExpiryMetric); ok {
		t.Errorf("%s = %v without daemon.request_listen", certExpiryMetric, v)
	}
}

// TestStatusAttempt: the newest job of each kind in the status carries
// its attempt from the catalog, as dbopsd log shows it.
func TestStatusAttempt(t *testing.T) {
	// A window that is never now keeps the catch-up backups queued: the
	// catalog holds only the jobs recorded here.
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, "") + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  window       = %q
  verify       = "none"
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://postgres@127.0.0.1:1/queue?sslmode=disable"
  policy = "p"
}
`, window)
	})
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), Version: "test"})
	ctx := context.Background()
	for _, j := range []struct {
		typ     string
		attempt int
		err     error
	}{
		{"full", 3, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
		{"differential", 1, nil},
	} {
		if _, err := a.Catalog().RecordJob(catalog.WithAttempt(ctx, j.attempt),
			catalog.Job{Kind: "backup", Database: "queue", RequestedType: j.typ, Trigger: "schedule"}, j.err); err != nil {
			t.Fatal(err)
		}
	}
	st, err := api.NewClient(a.SocketPath()).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Databases) != 1 {
		t.Fatalf("status databases: %+v", st.Databases)
	}
	db := st.Databases[0]
	if db.LastFull == nil || db.LastFull.Attempt != 3 || db.LastFull.Status != catalog.StatusFailed {
		t.Errorf("last full: %+v, want attempt 3, failed", db.LastFull)
	}
	if db.LastDifferential == nil || db.LastDifferential.Attempt != 1 || db.LastDifferential.Status != catalog.StatusOK {
		t.Errorf("last differential: %+v, want attempt 1, ok", db.LastDifferential)
	}
}
