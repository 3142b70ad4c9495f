package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/metrics"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// Options configure an Agent. Only ConfigPath is required.
type Options struct {
	ConfigPath string
	Logger     hclog.Logger
	Version    string
	Clock      clockwork.Clock
	// DrainTimeout is how long running jobs may go on after a stop signal
	// before they are cancelled. Default 5 minutes.
	DrainTimeout time.Duration
	// Scheduler tuning (see schedule.Options); zero values take its
	// defaults.
	SweepInterval   time.Duration
	Grace           time.Duration
	FailureCooldown time.Duration
	// Retry: Retryable defaults to Transient.
	Retry schedule.RetryPolicy
	// StaleAfter is how long past its schedule a database may go without
	// a successful backup before the stale alert. Default 24 hours.
	StaleAfter time.Duration
	// HandleSignals makes Run handle SIGHUP (reload) and SIGTERM/SIGINT
	// (drain; a second one cancels at once).
	HandleSignals bool
	// Configure, when set, adjusts every configuration after it validated
	// (tests use it for schedules with seconds).
	Configure func(*config.Config)
	// Notify tunes the alerts (TLS roots, rate limit, retries).
	Notify notify.Options
	// Prune and Mirror default to the repository's own.
	Prune  Pruner
	Mirror Mirrorer
	// Kinds are extra kinds of job to register.
	Kinds []Kind
	// Ready is called once every component is up.
	Ready func(*Agent)
	// AnchorEvery is how often the restore register's head is anchored in
	// the repository's storage when it moved. Default DefaultAnchorEvery.
	AnchorEvery time.Duration
}

// Agent is a running `dbopsd agent`.
type Agent struct {
	opts  Options
	log   hclog.Logger
	clock clockwork.Clock

	cfg   atomic.Pointer[config.Config]
	cat   *catalog.Catalog
	kinds *Registry // the kinds of job the scheduler runs
	sched *schedule.Scheduler
	// requests is the signed-request service (requests.go).
	requests  *requestService
	metrics   *metrics.Metrics
	notifier  *notify.Notifier
	apiL      net.Listener
	metricsL  net.Listener
	stateLock *os.File
	started   time.Time
	lastSeen  time.Time

	// The HTTPS listener for signed requests and its certificate
	// (https.go); nil without daemon.request_listen.
	requestL net.Listener
	certs    *certificate

	mu        sync.Mutex
	loadedAt  time.Time
	reloadErr string
	draining  bool
	reloadMu  sync.Mutex
}

// ConfigError is a policy file that did not validate; Diagnostics say
// where.
type ConfigError struct {
	Path        string
	Diagnostics hcl.Diagnostics
}

func (e *ConfigError) Error() string {
	var parts []string
	for _, d := range e.Diagnostics {
		if d.Severity == hcl.DiagError {
			parts = append(parts, diagLine(d))
		}
	}
	return fmt.Sprintf("%s is not a valid policy file: %s", e.Path, strings.Join(parts, "; "))
}

// diagLine is one diagnostic as file:line:col: summary: detail.
func diagLine(d *hcl.Diagnostic) string {
	at := ""
	if d.Subject != nil {
		at = fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	s := at + d.Summary
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// loadConfig reads and validates the policy file whole.
func (o *Options) loadConfig() (*config.Config, error) {
	cfg, diags := config.Load(o.ConfigPath)
	if diags.HasErrors() {
		return nil, &ConfigError{Path: o.ConfigPath, Diagnostics: diags}
	}
	if o.Configure != nil {
		o.Configure(cfg)
	}
	return cfg, nil
}

// New loads the policy, opens the catalog and the listeners, and builds
// the components. Nothing runs until Run.
func New(opts Options) (a *Agent, err error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 24 * time.Hour
	}
	if opts.Retry.Retryable == nil {
		opts.Retry.Retryable = Transient
	}
	if opts.Prune == nil {
		opts.Prune = repoPrune{}
	}
	if opts.Mirror == nil {
		opts.Mirror = repoMirror{}
	}
	log := opts.Logger.Named("agent")
	cfg, err := opts.loadConfig()
	if err != nil {
		return nil, err
	}
	a = &Agent{opts: opts, log: log, clock: opts.Clock, started: opts.Clock.Now()}
	a.cfg.Store(cfg)
	a.loadedAt = a.started
	opened := a // the error returns below set a to nil
	defer func() {
		if err != nil {
			opened.close()
		}
	}()

	stateDir := cfg.Daemon.StateDir
	if a.stateLock, err = lockState(stateDir); err != nil {
		return nil, err
	}
	a.lastSeen = readHeartbeat(stateDir)
	if a.cat, err = catalog.Open(stateDir); err != nil {
		return nil, err
	}
	if n, err := a.cat.AbandonRunning(context.Background(), "interrupted: the daemon stopped before this job finished"); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("jobs of the previous run never finished; recorded as failed", "jobs", n)
	}
	if a.requests, err = newRequestService(cfg, log, opts.Logger, a.clock, opts.AnchorEvery); err != nil {
		return nil, err
	}

	a.kinds = NewRegistry(a.env, opts.Logger.Named("job"))
	for _, k := range append(a.requests.kinds(), opts.Kinds...) {
		if err := a.kinds.Register(k); err != nil {
			return nil, err
		}
	}
	plan, err := schedule.NewPlan(cfg, a.kinds.Planners()...)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", opts.ConfigPath, err)
	}
	a.sched, err = schedule.New(plan, schedule.Options{
		History: catalogHistory{a.cat}, Runner: a.kinds, Observer: (*observer)(a), Clock: a.clock,
		Logger: opts.Logger, Retry: opts.Retry, SweepInterval: opts.SweepInterval, Grace: opts.Grace,
		FailureCooldown: opts.FailureCooldown, DrainTimeout: opts.DrainTimeout, LastSeen: a.lastSeen,
		OnRequest: []string{KindRestore, KindDrill, KindMaintenance},
	})
	if err != nil {
		return nil, err
	}
	a.metrics = metrics.New(opts.Version, func() float64 { return float64(a.sched.Running()) },
		func() float64 { return float64(a.sched.QueueLength()) })
	a.metrics.Reloaded(true, a.started)
	nopts := opts.Notify
	if nopts.StatePath == "" {
		nopts.StatePath = filepath.Join(stateDir, "alerts.json")
	}
	if nopts.Logger == nil {
		nopts.Logger = opts.Logger
	}
	if a.notifier, err = notify.New(cfg, nopts); err != nil {
		return nil, err
	}
	a.requests.queue, a.requests.metrics, a.requests.notifier = a.sched, a.metrics, a.notifier
	if a.apiL, err = api.Listen(cfg.Daemon.Socket); err != nil {
		return nil, err
	}
	if a.metricsL, err = metrics.Listen(cfg.Daemon.HTTPListen); err != nil {
		return nil, err
	}
	if err := a.openRequestListener(cfg); err != nil {
		return nil, err
	}
	if err := a.loadMetrics(context.Background()); err != nil {
		return nil, err
	}
	return a, nil
}

// close releases what New opened (Run does it at its end).
func (a *Agent) close() {
	if a.apiL != nil {
		a.apiL.Close()
	}
	if a.metricsL != nil {
		a.metricsL.Close()
	}
	if a.requestL != nil {
		a.requestL.Close()
	}
	if a.cat != nil {
		a.cat.Close()
	}
	if a.requests != nil {
		a.requests.close()
	}
	if a.stateLock != nil {
		a.stateLock.Close()
	}
}

// env is the environment of a job starting now.
func (a *Agent) env() *Env {
	return &Env{Config: a.cfg.Load(), Catalog: a.cat, Logger: a.opts.Logger, Prune: a.opts.Prune, Mirror: a.opts.Mirror, Alerts: a.notifier}
}

// Config is the configuration in force.
func (a *Agent) Config() *config.Config { return a.cfg.Load() }

// Catalog is the agent's catalog.
func (a *Agent) Catalog() *catalog.Catalog { return a.cat }

// Scheduler is the agent's scheduler.
func (a *Agent) Scheduler() *schedule.Scheduler { return a.sched }

// MetricsAddr is where /metrics is served.
func (a *Agent) MetricsAddr() net.Addr { return a.metricsL.Addr() }

// SocketPath is the API's socket.
func (a *Agent) SocketPath() string { return a.cfg.Load().Daemon.Socket }

// Run runs every component until ctx ends (or, with HandleSignals, until
// SIGTERM/SIGINT), then stops them in order: the scheduler drains first,
// then the API (socket and HTTPS), metrics, alerts and heartbeat stop, and
// the catalog closes.
func (a *Agent) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	sideCtx, stopSide := context.WithCancel(context.Background())
	defer stopSide()
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	side := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(sideCtx); err != nil {
				a.log.Error("component failed; stopping", "component", name, "error", err)
				errMu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				errMu.Unlock()
				stop()
			}
		}()
	}
	cfg := a.cfg.Load()
	side("api", func(c context.Context) error {
		// Answer once the plan is evaluated, so that the first status is
		// true; clients that come earlier wait in the listen backlog.
		select {
		case <-a.sched.Ready():
		case <-c.Done():
			return a.apiL.Close()
		}
		return api.Serve(c, a.apiL, (*backend)(a), a.opts.Logger.Named("api"))
	})
	if a.requestL != nil {
		side("https", a.serveRequests)
	}
	side("metrics", func(c context.Context) error {
		return metrics.Serve(c, a.metricsL, a.metrics.Handler(a.health), a.opts.Logger.Named("metrics"))
	})
	side("notify", a.notifier.Run)
	side("heartbeat", func(c context.Context) error {
		return heartbeat(c, a.clock, cfg.Daemon.StateDir, time.Minute, func(err error) {
			a.log.Warn("writing the heartbeat failed", "error", err)
		})
	})
	side("stale", a.watchStale)
	side("register-anchor", func(c context.Context) error {
		a.requests.keepAnchored(c)
		return nil
	})
	// Before any job of this run can claim a scratch database.
	a.cleanupStale(ctx)
	if a.opts.HandleSignals {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(sigs)
		go a.signals(sideCtx, sigs, stop)
	}
	go func() {
		select {
		case <-a.sched.Ready():
		case <-ctx.Done():
			return
		}
		info := []any{"version", a.opts.Version, "config", a.opts.ConfigPath,
			"databases", len(cfg.Databases), "socket", cfg.Daemon.Socket, "metrics", a.metricsL.Addr().String()}
		if a.requestL != nil {
			info = append(info, "requests_https", a.requestL.Addr().String())
		}
		a.log.Info("dbopsd agent running", info...)
		_ = sdNotify("READY=1\nSTATUS=running")
		if a.opts.Ready != nil {
			a.opts.Ready(a)
		}
	}()
	go func() {
		<-ctx.Done()
		a.mu.Lock()
		a.draining = true
		a.mu.Unlock()
		a.requests.stopping.Store(true)
		_ = sdNotify("STOPPING=1")
		a.log.Info("stopping: no new jobs; waiting for running ones", "timeout", a.opts.DrainTimeout)
	}()

	if err := a.sched.Run(ctx); err != nil {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	a.requests.abandonQueued()
	stopSide()
	wg.Wait()
	if err := a.cat.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the catalog: %w", err))
	}
	a.requests.close()
	if a.stateLock != nil {
		a.stateLock.Close()
	}
	a.log.Info("dbopsd agent stopped")
	return errors.Join(errs...)
}

// signals handles SIGHUP (reload) and SIGTERM/SIGINT: the first drains,
// the second cancels the running jobs at once.
func (a *Agent) signals(ctx context.Context, sigs <-chan os.Signal, stop context.CancelFunc) {
	stopping := false
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigs:
			switch {
			case s == syscall.SIGHUP:
				a.reloadOnSignal()
			case !stopping:
				stopping = true
				a.log.Info("signal received: draining", "signal", s.String())
				stop()
			default:
				a.log.Warn("second signal: cancelling the running jobs now", "signal", s.String())
				a.sched.CancelRunning()
			}
		}
	}
}

// Reload reads the policy file again. A file that does not validate is
// refused whole (a *ConfigError says where) and the old configuration
// stays; otherwise the new plan takes over and its changes are logged.
func (a *Agent) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	now := a.clock.Now()
	cfg, err := a.opts.loadConfig()
	if err == nil {
		err = a.apply(cfg)
	}
	a.metrics.Reloaded(err == nil, now)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.reloadErr = err.Error()
		return err
	}
	a.reloadErr, a.loadedAt = "", now
	return nil
}

// reloadOnSignal is SIGHUP: Reload, with a refusal logged one line per
// error, each with its file:line:col.
func (a *Agent) reloadOnSignal() {
	_ = sdNotify("RELOADING=1")
	defer func() { _ = sdNotify("READY=1") }()
	err := a.Reload()
	var ce *ConfigError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		for _, d := range ce.Diagnostics {
			if d.Severity == hcl.DiagError {
				a.log.Error("reload refused; keeping the configuration in force", "error", diagLine(d))
			}
		}
	default:
		a.log.Error("reload refused; keeping the configuration in force", "error", err)
	}
}

// apply puts a validated configuration in force.
func (a *Agent) apply(cfg *config.Config) error {
	old := a.cfg.Load()
	plan, err := schedule.NewPlan(cfg, a.kinds.Planners()...)
	if err != nil {
		return fmt.Errorf("planning %s: %w", cfg.Path, err)
	}
	for _, c := range []struct{ what, from, to string }{
		{"state_dir", old.Daemon.StateDir, cfg.Daemon.StateDir},
		{"socket", old.Daemon.Socket, cfg.Daemon.Socket},
		{"http_listen", old.Daemon.HTTPListen, cfg.Daemon.HTTPListen},
		{"request_listen", old.Daemon.RequestListen, cfg.Daemon.RequestListen},
	} {
		if c.from != c.to {
			a.log.Warn("this change takes effect at the next start", "setting", "daemon."+c.what, "in_force", c.from, "new", c.to)
		}
	}
	// A renewed certificate (the same files, or others) is read now and
	// served once the rest of the reload is accepted.
	useCert, err := a.prepareCertificate(cfg)
	if err != nil {
		return err
	}
	if err := a.notifier.SetConfig(cfg); err != nil {
		return err
	}
	if useCert != nil {
		useCert()
	}
	a.cfg.Store(cfg)
	a.requests.setConfig(cfg)
	changes, err := a.sched.Reload(plan)
	a.requests.reapDropped()
	if err != nil {
		return err
	}
	for name := range old.Databases {
		if cfg.Databases[name] == nil {
			a.metrics.Forget(name)
		}
	}
	if len(changes) == 0 {
		a.log.Info("configuration reloaded: no change to the jobs", "config", cfg.Path)
	}
	for _, c := range changes {
		a.log.Info("configuration reloaded: "+c, "config", cfg.Path)
	}
	return nil
}

// health is /healthz: the scheduler sweeps and the catalog answers.
func (a *Agent) health() error {
	if err := a.sched.Healthy(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.cat.LastSuccess(ctx, "", schedule.KindPrune); err != nil {
		return fmt.Errorf("the catalog does not answer: %w", err)
	}
	return nil
}

// loadMetrics sets the last successes from the catalog, so that a restart
// does not reset them.
func (a *Agent) loadMetrics(ctx context.Context) error {
	latest, err := a.cat.Latest(ctx)
	if err != nil {
		return err
	}
	for db, l := range latest {
		a.metrics.LastSuccess(db, schedule.KindFull, l.Full)
		if l.BackupType == schedule.KindDifferential {
			a.metrics.LastSuccess(db, schedule.KindDifferential, l.Backup)
		}
		if l.BackupID != "" {
			a.metrics.Stored(db, l.BackupType, l.BackupStored)
		}
		a.metrics.LastSuccess(db, schedule.KindVerify, l.Verified)
		switch v := l.BackupVerify; {
		case v == catalog.StatusOK:
			a.metrics.Verification(db, true)
		case v == catalog.StatusFailed:
			a.metrics.Verification(db, false)
		}
	}
	site, err := a.cat.LastSuccesses(ctx, siteKinds...)
	if err != nil {
		return err
	}
	for kind, byDB := range site {
		a.metrics.LastSuccess("", kind, byDB[""])
	}
	return nil
}

// cleanupStale drops the scratch databases that jobs of an earlier run
// created and never dropped (a crash), before any job of this run starts:
// only those the scratch ledger records, on the scratch targets of the
// policy.
func (a *Agent) cleanupStale(ctx context.Context) {
	cfg := a.cfg.Load()
	targets, err := site.ScratchTargets(cfg)
	if err != nil {
		a.log.Warn("stale scratch databases: a target is skipped", "error", err)
	}
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rep, err := restore.CleanupStale(ctx, restore.Cleanup{Catalog: a.cat, Targets: targets, Before: a.started, Logger: a.log})
	if err != nil {
		a.log.Warn("dropping stale scratch databases failed; the next start tries again", "error", err)
	}
	if rep != nil && len(rep.Dropped) > 0 {
		a.log.Info("dropped stale scratch databases left by an earlier run", "count", len(rep.Dropped))
	}
}
