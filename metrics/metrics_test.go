package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMetricsAndHealth(t *testing.T) {
	var running, queued atomic.Int64
	m := New("v1.2.3", func() float64 { return float64(running.Load()) }, func() float64 { return float64(queued.Load()) })
	at := time.Unix(1740877200, 0)
	m.Finished("queue", "full", true, at, 90*time.Second)
	m.Stored("queue", "full", 123456)
	m.Finished("queue", "differential", false, at, 3*time.Second)
	m.Finished("queue", "differential", false, at, 4*time.Second)
	m.Verification("queue", true)
	m.Verification("rating", false)
	m.LastSuccess("", "prune", at)
	m.Reloaded(true, at)
	running.Store(2)
	queued.Store(5)

	var healthErr atomic.Value
	healthErr.Store(errors.New(""))
	health := func() error {
		if err := healthErr.Load().(error); err.Error() != "" {
			return err
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, m.Handler(health), nil) }()
	base := "http://" + l.Addr().String()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`dbopsd_last_success_timestamp_seconds{database="queue",kind="full"} 1.7408772e+09`,
		`dbopsd_last_success_timestamp_seconds{database="",kind="prune"} 1.7408772e+09`,
		`dbopsd_job_duration_seconds{database="queue",kind="full"} 90`,
		`dbopsd_job_duration_seconds{database="queue",kind="differential"} 4`,
		`dbopsd_backup_stored_bytes{database="queue",kind="full"} 123456`,
		`dbopsd_verification_ok{database="queue"} 1`,
		`dbopsd_verification_ok{database="rating"} 0`,
		`dbopsd_job_failures_total{database="queue",kind="differential"} 2`,
		`dbopsd_jobs_running 2`,
		`dbopsd_queue_length 5`,
		`dbopsd_config_last_reload_successful 1`,
		`dbopsd_build_info{version="v1.2.3"} 1`,
		`# TYPE dbopsd_job_failures_total counter`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `dbopsd_last_success_timestamp_seconds{database="queue",kind="differential"}`) {
		t.Error("a failed attempt set the last success")
	}
	m.Forget("rating")
	if _, body := get("/metrics"); strings.Contains(body, `database="rating"`) {
		t.Error("a forgotten database is still exported")
	}

	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	healthErr.Store(errors.New("the scheduler has not swept for 5m0s"))
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "has not swept") {
		t.Errorf("/healthz when unhealthy: %d %q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesBusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(l.Addr().String()); err == nil || !strings.Contains(err.Error(), "daemon.http_listen") {
		t.Errorf("Listen on a busy address: %v", err)
	}
}

// TestRequestCertificate: the expiry of the request listener's
// certificate is not exported until it is set (no listener: no series,
// rather than a 0 that reads as expired), then is its NotAfter, and
// follows a renewal.
func TestRequestCertificate(t *testing.T) {
	m := New("v1", func() float64 { return 0 }, func() float64 { return 0 })
	const name = "dbopsd_request_tls_cert_expiry_timestamp_seconds"
	value := func() (float64, bool) {
		t.Helper()
		fams, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name && len(f.GetMetric()) == 1 {
				return f.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	if v, ok := value(); ok {
		t.Errorf("%s exported before it was set: %v", name, v)
	}
	for _, notAfter := range []time.Time{time.Date(2026, 6, 1, 8, 30, 0, 0, time.UTC), time.Date(2026, 9, 1, 8, 30, 0, 0, time.UTC)} {
		m.RequestCertificate(notAfter)
		if v, ok := value(); !ok || v != float64(notAfter.Unix()) {
			t.Errorf("%s = %v (exported %v), want %d", name, v, ok, notAfter.Unix())
		}
	}
}
