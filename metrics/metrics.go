package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the daemon's collectors on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.GaugeVec
	stored      *prometheus.GaugeVec
	verifyOK    *prometheus.GaugeVec
	failures    *prometheus.CounterVec
	reloadOK    prometheus.Gauge
	reloadAt    prometheus.Gauge
	// requestCert has no labels: a vector only so that it is not
	// exported before it is set (a daemon without the listener), where a
	// plain gauge would say 0, a certificate that expired in 1970.
	requestCert *prometheus.GaugeVec
}

// New registers the collectors. running and queued are read at each
// scrape.
func New(version string, running, queued func() float64) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_last_success_timestamp_seconds",
			Help: "Unix time of the newest successful job of this kind for this database."}, []string{"database", "kind"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_job_duration_seconds",
			Help: "Duration of the last finished attempt of this kind for this database."}, []string{"database", "kind"}),
		stored: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_backup_stored_bytes",
			Help: "Bytes the last successful backup of this kind stored in the repository (after deduplication, compression and encryption)."}, []string{"database", "kind"}),
		verifyOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_verification_ok",
			Help: "1 when the last restore verification of this database passed, 0 when it failed."}, []string{"database"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dbopsd_job_failures_total",
			Help: "Failed attempts of jobs of this kind for this database."}, []string{"database", "kind"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dbopsd_config_last_reload_successful",
			Help: "1 when the last configuration load was accepted."}),
		reloadAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dbopsd_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last accepted configuration load."}),
		requestCert: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_request_tls_cert_expiry_timestamp_seconds",
			Help: "Unix time at which the certificate the HTTPS request listener serves (daemon.tls_cert) expires."}, nil),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dbopsd_build_info", Help: "The running build; always 1."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	r.MustRegister(m.lastSuccess, m.duration, m.stored, m.verifyOK, m.failures, m.reloadOK, m.reloadAt, m.requestCert, build,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dbopsd_jobs_running", Help: "Jobs running now."}, running),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dbopsd_queue_length", Help: "Jobs waiting to start."}, queued),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Finished records one attempt of a job.
func (m *Metrics) Finished(database, kind string, ok bool, started time.Time, d time.Duration) {
	m.duration.WithLabelValues(database, kind).Set(d.Seconds())
	if ok {
		m.lastSuccess.WithLabelValues(database, kind).Set(float64(started.UnixNano()) / 1e9)
	} else {
		m.failures.WithLabelValues(database, kind).Inc()
	}
}

// LastSuccess sets the newest success of kind for database (at start, from
// the catalog).
func (m *Metrics) LastSuccess(database, kind string, at time.Time) {
	if !at.IsZero() {
		m.lastSuccess.WithLabelValues(database, kind).Set(float64(at.UnixNano()) / 1e9)
	}
}

// Stored sets the bytes the last backup of kind stored.
func (m *Metrics) Stored(database, kind string, bytes int64) {
	m.stored.WithLabelValues(database, kind).Set(float64(bytes))
}

// Verification sets the outcome of database's last verification.
func (m *Metrics) Verification(database string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.verifyOK.WithLabelValues(database).Set(v)
}

// Reloaded records a configuration load.
func (m *Metrics) Reloaded(ok bool, at time.Time) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadAt.Set(float64(at.Unix()))
	} else {
		m.reloadOK.Set(0)
	}
}

// RequestCertificate records the end of the validity of the certificate
// the HTTPS request listener serves (at start and on each reload).
func (m *Metrics) RequestCertificate(notAfter time.Time) {
	m.requestCert.WithLabelValues().Set(float64(notAfter.Unix()))
}

// Forget drops the series of a database that left the policy.
func (m *Metrics) Forget(database string) {
	for _, v := range []*prometheus.GaugeVec{m.lastSuccess, m.duration, m.stored} {
		v.DeletePartialMatch(prometheus.Labels{"database": database})
	}
	m.verifyOK.DeletePartialMatch(prometheus.Labels{"database": database})
	m.failures.DeletePartialMatch(prometheus.Labels{"database": database})
}

// Handler serves /metrics and /healthz; health returns nil when healthy.
func (m *Metrics) Handler(health func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Listen opens daemon.http_listen.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on daemon.http_listen %s: %w", addr, err)
	}
	return l, nil
}

// Serve serves h on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, h http.Handler, logger hclog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if logger != nil {
		logger.Info("serving /metrics and /healthz", "address", l.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the metrics server: %w", err)
	}
	return nil
}
