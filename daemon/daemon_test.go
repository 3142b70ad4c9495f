package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

func TestMain(m *testing.M) { harness.Main(m) }

const passphrase = "correct horse battery staple"

// testSite is a policy file in a temporary directory with a local
// repository, initialised.
type testSite struct {
	dir, policy string
	logs        *testlog.Buffer
}

// daemonBlock is the daemon { } block of every test policy.
func daemonBlock(dir, pgBin string) string {
	return fmt.Sprintf(`daemon {
  state_dir    = %q
  socket       = %q
  http_listen  = "127.0.0.1:0"
  max_parallel = 2
  timezone     = "UTC"
  pg_bin_dir   = %q
}
storage "local" {
  type = "local"
  path = %q
}
repository {
  storage    = "local"
  passphrase = env("DBOPS_TEST_PASSPHRASE")
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "run", "dbopsd.sock"), pgBin, filepath.Join(dir, "repo"))
}

func newSite(t *testing.T, body func(dir string) string) *testSite {
	t.Helper()
	t.Setenv("DBOPS_TEST_PASSPHRASE", passphrase)
	dir := t.TempDir()
	s := &testSite{dir: dir, policy: filepath.Join(dir, "policy.hcl"), logs: &testlog.Buffer{}}
	s.write(t, body(dir))
	cfg, diags := config.Load(s.policy)
	if diags.HasErrors() {
		t.Fatalf("test policy: %v", diags)
	}
	if _, err := site.InitRepository(context.Background(), cfg, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *testSite) write(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile(s.policy, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *testSite) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "dbopsd", Output: io.MultiWriter(s.logs, testWriter{}), Level: hclog.Debug})
}

// testWriter shows the agent's log with -v.
type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

// running is an agent started by a test.
type running struct {
	*daemon.Agent
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, opts daemon.Options) *running {
	t.Helper()
	ready := make(chan struct{})
	opts.Ready = func(*daemon.Agent) { close(ready) }
	a, err := daemon.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("the agent stopped at once: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not get ready")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Error("the agent did not stop")
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jobs(t *testing.T, cat *catalog.Catalog, db string) []catalog.Job {
	t.Helper()
	js, err := cat.Jobs(context.Background(), catalog.JobFilter{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentAlertsOnServerDown runs the daemon against a real PostgreSQL on
// a short schedule (a differential every 2 seconds): backups succeed; the
// server stops and, after the retries, one "backup failed" alert arrives by
// email (STARTTLS, AUTH) and by signed webhook — one, however many
// differentials fail; the server comes back and the next differential
// sends "resolved". The job log, the metrics and the status tell the same
// story.
func TestAgentAlertsOnServerDown(t *testing.T) {
	pg := harness.NewPostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS hall WITH (FORCE)") // repeatable with -count
	pg.Exec(t, "postgres", "CREATE DATABASE hall")
	pg.Exec(t, "hall", `CREATE TABLE tickets (id serial PRIMARY KEY, window_no int, issued timestamptz DEFAULT now());
		INSERT INTO tickets (window_no) SELECT g % 12 FROM generate_series(1, 2000) g`)
	mail := notifytest.StartMailServer(t, "dbopsd@example.gov.cn", "smtp-secret")
	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_SMTP_PASSWORD", "smtp-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "fast" {
  full         = "monthly"
  differential = "weekly" # every 2 seconds in this test: see Configure
  verify       = "none"
}
database "hall" {
  engine = "postgres"
  dsn    = %q
  policy = "fast"
}
notify "bureau" {
  type     = "email"
  smtp     = %q
  username = "dbopsd@example.gov.cn"
  password = env("TEST_SMTP_PASSWORD")
  from     = "dbopsd@example.gov.cn"
  to       = ["dba@example.gov.cn"]
  events   = ["backup_failed", "verify_failed"]
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["backup_failed", "verify_failed", "stale", "daemon_gap"]
}
`, pg.DSN("hall"), mail.Addr, hook.URL)
	})
	a := start(t, daemon.Options{
		ConfigPath: s.policy, Logger: s.logger(), Version: "test",
		Configure: func(c *config.Config) {
			p := c.Policies["fast"]
			p.Differential = "*/2 * * * * *"
			p.DifferentialSpec = mustSpec(t, p.Differential, c.Daemon.Location)
		},
		SweepInterval: 500 * time.Millisecond, FailureCooldown: time.Second, StaleAfter: time.Hour,
		Retry:        schedule.RetryPolicy{MaxAttempts: 2, Base: 200 * time.Millisecond, Max: 500 * time.Millisecond},
		Notify:       notify.Options{TLSConfig: mail.TLSConfig(), RetryWait: 100 * time.Millisecond, Host: "ops-test"},
		DrainTimeout: 30 * time.Second,
	})
	cat := a.Catalog()
	ok := func(kind, requested, trigger string) func() bool {
		return func() bool {
			for _, j := range jobs(t, cat, "hall") {
				if j.Kind == kind && j.RequestedType == requested && j.Status == catalog.StatusOK && (trigger == "" || j.Trigger == trigger) {
					return true
				}
			}
			return false
		}
	}
	// Nothing backed up yet: a full at once, then the differentials on
	// their schedule.
	eventually(t, 60*time.Second, "the first full", ok("backup", "full", schedule.TriggerCatchUp))
	eventually(t, 60*time.Second, "a scheduled differential", ok("backup", "differential", schedule.TriggerSchedule))

	pg.Stop(t)
	stoppedAt := time.Now()
	mails := mail.Wait(t, 1, 60*time.Second)
	events := hook.Wait(t, 1, 30*time.Second)
	t.Logf("alert %s after the server stopped", time.Since(stoppedAt).Round(time.Millisecond))
	subject, _, body, err := mails[0].Decode()
	if err != nil {
		t.Fatal(err)
	}
	if subject != "[dbopsd] 备份失败 Backup failed: hall" || !mails[0].TLS || mails[0].User == "" {
		t.Errorf("alert mail: subject %q, TLS %v, user %q", subject, mails[0].TLS, mails[0].User)
	}
	if !strings.Contains(body, "after 2 attempts") {
		t.Errorf("the alert does not say it was retried:\n%s", body)
	}
	if e := events[0]; e.Type != config.EventBackupFailed || e.State != notify.StateFiring || e.Database != "hall" || e.Error == "" {
		t.Errorf("alert webhook: %+v", e)
	}
	// More differentials fail while the server is down: no more messages.
	failedBefore := 0
	eventually(t, 30*time.Second, "more failed differentials", func() bool {
		n := 0
		for _, j := range jobs(t, cat, "hall") {
			if j.Status == catalog.StatusFailed && j.StartedAt.After(stoppedAt) {
				n++
			}
		}
		if failedBefore == 0 {
			failedBefore = n
		}
		return n >= failedBefore+3
	})
	if n := len(mail.Messages()); n != 1 {
		t.Errorf("%d mails while the same problem lasted, want 1", n)
	}
	if n := len(hook.Received()); n != 1 {
		t.Errorf("%d webhook calls while the same problem lasted, want 1", n)
	}

	pg.Start(t)
	mails = mail.Wait(t, 2, 60*time.Second)
	events = hook.Wait(t, 2, 30*time.Second)
	if subject, h, _, _ := mails[1].Decode(); subject != "[dbopsd] 已恢复 Resolved: 备份失败 Backup failed: hall" || h.Get("X-Dbopsd-State") != "resolved" {
		t.Errorf("resolution mail: %q", subject)
	}
	if e := events[1]; e.State != notify.StateResolved || e.Type != config.EventBackupFailed || e.Since.IsZero() {
		t.Errorf("resolution webhook: %+v", e)
	}
	if hook.Bad() != 0 {
		t.Errorf("%d webhook calls with a bad signature", hook.Bad())
	}

	// The job log: every attempt, its trigger, and the error.
	var retries, refused int
	for _, j := range jobs(t, cat, "hall") {
		if j.Status == catalog.StatusFailed {
			if strings.Contains(strings.ToLower(j.Error), "connect") {
				refused++
			}
			if j.Trigger == schedule.TriggerSchedule || j.Trigger == schedule.TriggerRetry {
				retries++
			}
		}
	}
	if refused == 0 || retries == 0 {
		t.Errorf("the job log has %d failures naming the connection and %d scheduled ones", refused, retries)
	}

	// Metrics and health.
	base := "http://" + a.MetricsAddr().String()
	code, metricsText := scrape(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`dbopsd_last_success_timestamp_seconds{database="hall",kind="full"}`,
		`dbopsd_last_success_timestamp_seconds{database="hall",kind="differential"}`,
		`dbopsd_job_failures_total{database="hall",kind="differential"}`,
		`dbopsd_backup_stored_bytes{database="hall",kind="differential"}`,
		`dbopsd_job_duration_seconds{database="hall",kind="differential"}`,
		"dbopsd_jobs_running", "dbopsd_queue_length",
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := scrape(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}

	// The status over the socket.
	st, err := api.NewClient(a.SocketPath()).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Databases) != 1 || st.Databases[0].LastFull == nil || st.Databases[0].LastFull.Status != catalog.StatusOK ||
		st.Databases[0].LastDifferential == nil || len(st.Databases[0].Entries) == 0 {
		t.Errorf("status: %+v", st.Databases)
	}
	fi, err := os.Stat(a.SocketPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi.Mode(), err)
	}
}

// TestReloadKeepsOldConfigOnError: SIGHUP with a broken file logs where
// the error is and keeps the old configuration; SIGHUP with a good file
// takes it and logs the changes.
func TestReloadKeepsOldConfigOnError(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS reload_a WITH (FORCE)") // repeatable with -count
	pg.Exec(t, "postgres", "CREATE DATABASE reload_a")
	// A window that is never now keeps the catch-up from running.
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	policy := func(dir string, extra string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  window       = %q
  verify       = "none"
}
database "reload_a" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
%s`, window, pg.DSN("reload_a"), extra)
	}
	s := newSite(t, func(dir string) string { return policy(dir, "") })
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), HandleSignals: true, SweepInterval: time.Second})
	client := api.NewClient(a.SocketPath())
	// A second agent on the same state directory is refused.
	if _, err := daemon.New(daemon.Options{ConfigPath: s.policy}); err == nil || !strings.Contains(err.Error(), "another dbopsd agent uses the state directory") {
		t.Errorf("a second agent: %v", err)
	}

	broken := policy(s.dir, "") + "database \"reload_b\" {\n  engine = \"postgres\"\n  dsn    = \"postgres://x@127.0.0.1:1/b\"\n  polcy  = \"p\"\n}\n"
	s.write(t, broken)
	brokenLine := strings.Count(broken[:strings.Index(broken, "polcy")], "\n") + 1
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s:%d:3:", s.policy, brokenLine)
	eventually(t, 10*time.Second, "the refused reload in the log", func() bool {
		return strings.Contains(s.logs.String(), "reload refused") && strings.Contains(s.logs.String(), want)
	})
	st, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Databases) != 1 || st.Databases[0].Name != "reload_a" || st.Daemon.ReloadError == "" {
		t.Errorf("after a refused reload: databases %+v, reload error %q", st.Databases, st.Daemon.ReloadError)
	}
	if !strings.Contains(st.Daemon.ReloadError, want) {
		t.Errorf("the reload error does not say where: %q (want %q)", st.Daemon.ReloadError, want)
	}
	if a.Config().Databases["reload_b"] != nil {
		t.Error("the broken configuration was taken")
	}

	s.write(t, policy(s.dir, fmt.Sprintf("database \"reload_b\" {\n  engine = \"postgres\"\n  dsn    = %q\n  policy = \"p\"\n  critical = false\n}\n", pg.DSN("reload_a"))))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the accepted reload", func() bool {
		return strings.Contains(s.logs.String(), "configuration reloaded: added full of reload_b")
	})
	st, err = client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Databases) != 2 || st.Daemon.ReloadError != "" {
		t.Errorf("after a good reload: %d databases, reload error %q", len(st.Databases), st.Daemon.ReloadError)
	}
	// Both catch-ups wait for the window.
	for _, q := range st.Queued {
		if !strings.HasPrefix(q.Waiting, "window ") {
			t.Errorf("queued %s of %s waits for %q, want the window", q.Kind, q.Database, q.Waiting)
		}
	}
	for _, r := range st.Running {
		if schedule.IsBackup(r.Kind) {
			t.Errorf("a backup runs outside its window: %+v", r)
		}
	}
}

// TestSIGTERMMidBackupLeavesNothing: SIGTERM while a full backup runs;
// after the drain timeout the backup is cancelled, the agent stops, and no
// backup of the database is listed in the repository.
func TestSIGTERMMidBackupLeavesNothing(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS big WITH (FORCE)") // repeatable with -count
	pg.Exec(t, "postgres", "CREATE DATABASE big")
	pg.Exec(t, "big", `CREATE TABLE applications (id bigint PRIMARY KEY, applicant text, form text, filed timestamptz);
		INSERT INTO applications SELECT g, md5(g::text), repeat(md5((g*7)::text), 6), now() - (g || ' minutes')::interval
		FROM generate_series(1, 600000) g`)
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "none"
  verify       = "none"
  parallel     = 1
}
database "big" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
`, pg.DSN("big"))
	})
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), HandleSignals: true, DrainTimeout: 300 * time.Millisecond})
	client := api.NewClient(a.SocketPath())
	eventually(t, 60*time.Second, "the full backup moving bytes", func() bool {
		st, err := client.Status(context.Background())
		return err == nil && len(st.Running) == 1 && st.Running[0].Bytes > 0
	})
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
		a.cancel = nil
	case <-time.After(60 * time.Second):
		t.Fatal("the agent did not stop after SIGTERM")
	}
	if !strings.Contains(s.logs.String(), "drain timeout: cancelling running jobs") {
		t.Error("the backup was not cancelled by the drain timeout (did it finish first? make the table bigger)")
	}
	cfg, diags := config.Load(s.policy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	repo, err := site.OpenRepository(context.Background(), cfg, "", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	refs, err := repo.ListManifests(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 0 {
		t.Errorf("a cancelled backup is listed: %+v", refs)
	}
	cat, err := catalog.Open(filepath.Join(s.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	js := jobs(t, cat, "big")
	if len(js) != 1 || js[0].Status != catalog.StatusFailed || !strings.Contains(js[0].Error, "cancel") {
		t.Errorf("job log: %+v", js)
	}
	if bs, _ := cat.Backups(context.Background(), "big"); len(bs) != 0 {
		t.Errorf("the catalog lists a cancelled backup: %+v", bs)
	}
}

// TestDaemonGapAndStale: the daemon was away for three days (its
// heartbeat says so) and missed a scheduled full; at start it sends one
// daemon_gap notice listing the catch-up. The catch-up waits for its
// window, so the database stays without a backup and "stale" is sent —
// once, though every sweep finds it stale again.
func TestDaemonGapAndStale(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS gapdb WITH (FORCE)") // repeatable with -count
	pg.Exec(t, "postgres", "CREATE DATABASE gapdb")
	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "none"
  window       = %q
  verify       = "none"
}
database "gapdb" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["stale", "daemon_gap"]
}
`, window, pg.DSN("gapdb"), hook.URL)
	})
	stateDir := filepath.Join(s.dir, "state")
	cat, err := catalog.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	old := now.AddDate(0, 0, -40)
	if err := cat.AddBackup(context.Background(), catalog.Backup{ID: "old-full", Database: "gapdb", Engine: "postgres", Type: "full",
		Generation: "old-full", StartedAt: old, FinishedAt: old.Add(time.Minute), Status: catalog.StatusOK}); err != nil {
		t.Fatal(err)
	}
	// A recent prune: it would sync the catalog with the repository, which
	// does not hold this made-up backup.
	for _, kind := range []string{"prune", daemon.KindCheck} {
		if _, err := cat.RecordJob(context.Background(), catalog.Job{Kind: kind, Trigger: "schedule", StartedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()
	if err := os.WriteFile(filepath.Join(stateDir, daemon.HeartbeatFile), []byte(now.Add(-72*time.Hour).Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), SweepInterval: 200 * time.Millisecond, StaleAfter: time.Hour})
	evs := hook.Wait(t, 2, 30*time.Second)
	byType := map[string]notify.Event{}
	for _, e := range evs {
		byType[e.Type] = e
	}
	gap, stale := byType[config.EventDaemonGap], byType[config.EventStale]
	if gap.State != notify.StateNotice || !strings.Contains(gap.Summary, "did not run from") || !strings.Contains(gap.Detail, "catching up: full of gapdb") {
		t.Errorf("daemon_gap: %+v", gap)
	}
	if stale.State != notify.StateFiring || stale.Database != "gapdb" || !strings.Contains(stale.Summary, "no successful backup within its policy") {
		t.Errorf("stale: %+v", stale)
	}
	time.Sleep(time.Second) // five more sweeps
	if n := len(hook.Received()); n != 2 {
		t.Errorf("%d webhook calls, want 2 (one gap, one stale)", n)
	}
}

// mustSpec parses a schedule a test sets after the policy loaded (six
// fields, seconds first, are allowed here): the plan runs on the parsed
// Specs, not on the text.
func mustSpec(t *testing.T, s string, loc *time.Location) schedule.Spec {
	t.Helper()
	spec, err := schedule.ParseSpec(s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
