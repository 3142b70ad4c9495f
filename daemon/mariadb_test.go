package daemon_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
	"github.com/dbopsd/dbopsd/schedule"
)

// TestAgentMariaDB runs the daemon on a fake clock against a MariaDB
// database (engine = "mariadb", a password user) with a MariaDB scratch
// target, verifying after each backup. The clock moves only when the test
// says, so every run and retry happens at a known instant:
//
//   - the full caught up at start, then the policy's scheduled full at its
//     slot (a new generation; the differential due at the same slot is
//     covered by it), then a scheduled differential of that generation,
//     each verified on the scratch server;
//   - the server stops at a differential's slot: the attempt fails with a
//     transient error and is retried after the back-off, not before; the
//     server is back by then, the retry succeeds (attempt 2 in the job
//     log) and nothing is alerted;
//   - the server stops again: both attempts fail and one backup_failed
//     alert goes out; the next slot fails both attempts again and sends
//     nothing; the server comes back and the next slot resolves it;
//   - the user's password changes: access denied is permanent, so one
//     attempt and an alert saying it was not retried.
//
// The job log, the backups and /metrics tell the same story, and the
// password is in none of the errors or alerts.
func TestAgentMariaDB(t *testing.T) {
	src := harness.NewMariaDB(t) // this test stops it
	dst := harness.TargetMariaDB(t)
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	name, user := "kiosk_"+suffix, "dbops_"+suffix
	const password = "Kiosk-P4ss-2b9e71"
	src.Exec(t, "", fmt.Sprintf(`CREATE DATABASE %[1]s CHARACTER SET utf8mb4;
		CREATE USER '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s';
		GRANT ALL PRIVILEGES ON *.* TO '%[2]s'@'127.0.0.1'`, name, user, password))
	src.Exec(t, name, `CREATE TABLE terminals (id INT PRIMARY KEY, hall VARCHAR(32) NOT NULL, model VARCHAR(32));
		INSERT INTO terminals SELECT seq, CONCAT('大厅 ', seq % 3), IF(seq % 2, 'K-200', NULL) FROM seq_1_to_40;
		CREATE TABLE transactions (id BIGINT AUTO_INCREMENT PRIMARY KEY, terminal_id INT NOT NULL,
			service VARCHAR(64) NOT NULL, amount DECIMAL(10,2), at DATETIME(3) NOT NULL);
		INSERT INTO transactions (terminal_id, service, amount, at)
		SELECT 1 + seq % 40, CONCAT('社保查询 #', seq), seq / 7, '2025-03-01' + INTERVAL seq MINUTE FROM seq_1_to_3000`)
	// Changes between runs go to the small table: the big one stays one
	// unchanged chunk, so that a differential stores well under
	// differential_max_ratio of its full and stays a differential.
	added := 40
	more := func(n int) {
		t.Helper()
		src.Exec(t, name, fmt.Sprintf(`INSERT INTO terminals SELECT %d + seq, '新大厅', 'K-300' FROM seq_1_to_%d`, added, n))
		added += n
	}
	hook := notifytest.StartHookServer(t, "hook-secret")
	t.Setenv("TEST_MARIADB_PASSWORD", password)
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")

	// The catalog records real times, and the scheduler decides from them
	// what is due: a job must start, by both clocks, after the slot it
	// runs for, or that slot would be due again once it finished. So the
	// fake clock starts at the real now and is only ever moved to instants
	// the real clock has passed (advanceTo).
	clock := clockwork.NewFakeClockAt(time.Now())
	fullAt := clock.Now().Truncate(time.Second).Add(5 * time.Second)
	const diffCron = "*/2 * * * * *"
	s := newSite(t, func(dir string) string {
		return daemonBlock(dir, "") + fmt.Sprintf(`
policy "kiosks" {
  full          = "monthly" # in this test: 5 seconds after the start (see Configure)
  differential  = "weekly"  # in this test: every 2 seconds
  verify        = "after_each"
  verify_target = "scratch-mariadb"
}
database %q {
  engine   = "mariadb"
  dsn      = "%s@tcp(127.0.0.1:%d)/%s"
  password = env("TEST_MARIADB_PASSWORD")
  policy   = "kiosks"
}
restore_target "scratch-mariadb" {
  engine  = "mariadb"
  dsn     = %q
  scratch = true
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["backup_failed", "verify_failed"]
}
`, name, user, src.Port, name, dst.DSN(""), hook.URL)
	})
	a := start(t, daemon.Options{
		ConfigPath: s.policy, Logger: s.logger(), Version: "test", Clock: clock,
		Configure: func(c *config.Config) {
			p := c.Policies["kiosks"]
			at := fullAt.UTC() // daemon.timezone
			p.Full = fmt.Sprintf("%d %d %d %d %d *", at.Second(), at.Minute(), at.Hour(), at.Day(), int(at.Month()))
			p.Differential = diffCron
			p.FullSpec, p.DifferentialSpec = mustSpec(t, p.Full, c.Daemon.Location), mustSpec(t, p.Differential, c.Daemon.Location)
		},
		// Only the schedule's timers and the retries move this test: no
		// sweep, stale check or heartbeat comes due on the fake clock.
		SweepInterval: time.Hour, StaleAfter: 24 * time.Hour,
		Retry:        schedule.RetryPolicy{MaxAttempts: 2, Base: time.Second, Max: time.Second}, // no jitter: retries 1s after
		Notify:       notify.Options{RetryWait: 100 * time.Millisecond, Host: "ops-test"},
		DrainTimeout: 30 * time.Second,
	})
	cat := a.Catalog()
	ctx := context.Background()

	advanceTo := func(at time.Time) {
		t.Helper()
		time.Sleep(time.Until(at))
		if d := at.Sub(clock.Now()); d > 0 {
			clock.Advance(d)
		}
	}
	diffSpec, err := schedule.ParseSpec(diffCron, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// nextDiff is the differential's next slot: the first after the newest
	// backup, or after the fake now when that one has passed.
	nextDiff := func() time.Time {
		t.Helper()
		latest, err := cat.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slot := diffSpec.Next(latest[name].Backup)
		if !slot.After(clock.Now()) {
			slot = diffSpec.Next(clock.Now())
		}
		return slot
	}
	// idle: no job of the database is queued or running.
	idle := func() {
		t.Helper()
		eventually(t, 120*time.Second, "the jobs of "+name+" to finish", func() bool {
			st := a.Scheduler().Status()
			for _, ti := range append(st.Running, st.Queued...) {
				if ti.Database == name {
					return false
				}
			}
			return true
		})
	}
	// jobAt waits for the n-th job (1-based) of the database to finish.
	jobAt := func(n int, what string) catalog.Job {
		t.Helper()
		var j catalog.Job
		eventually(t, 120*time.Second, what, func() bool {
			js := jobs(t, cat, name)
			if len(js) < n || js[n-1].Status == catalog.StatusRunning {
				return false
			}
			j = js[n-1]
			return true
		})
		return j
	}
	// retryQueued waits for the retry of the differential and returns
	// when it may start.
	retryQueued := func() time.Time {
		t.Helper()
		var at time.Time
		eventually(t, 60*time.Second, "the differential's retry in the queue", func() bool {
			for _, q := range a.Scheduler().Status().Queued {
				if q.Database == name && q.Kind == schedule.KindDifferential && q.Attempt == 2 {
					at = q.NotBefore
					return true
				}
			}
			return false
		})
		return at
	}
	n := 0 // jobs of the database so far
	backupRun := func(what string) catalog.Job {
		t.Helper()
		n++
		return jobAt(n, what)
	}
	verified := func(b catalog.Job) {
		t.Helper()
		n++
		v := jobAt(n, "the verification of "+b.BackupID)
		if v.Kind != schedule.KindVerify || v.Status != catalog.StatusOK || v.BackupID != b.BackupID || v.Trigger != schedule.TriggerAfterBackup {
			t.Fatalf("after backup %s: %+v", b.BackupID, v)
		}
	}

	// The full caught up at start, then the scheduled one.
	f0 := backupRun("the first full")
	verified(f0)
	idle()
	if !f0.StartedAt.Before(fullAt) {
		t.Fatalf("the first full started at %s, after the scheduled full's slot %s: the start was too slow for this test", f0.StartedAt, fullAt)
	}
	more(20)
	advanceTo(fullAt)
	f1 := backupRun("the scheduled full")
	verified(f1)
	idle()

	// A scheduled differential of the new generation.
	more(10)
	d1At := nextDiff()
	advanceTo(d1At)
	d1 := backupRun("the scheduled differential")
	verified(d1)
	idle()

	// A transient failure that the retry fixes.
	src.Stop(t)
	d2At := nextDiff()
	advanceTo(d2At)
	failed := backupRun("the differential on a stopped server")
	if retry := retryQueued(); !retry.Equal(d2At.Add(time.Second)) {
		t.Errorf("the retry may start at %s, want %s (1s back-off on the fake clock)", retry, d2At.Add(time.Second))
	}
	src.Start(t)
	more(5)
	time.Sleep(300 * time.Millisecond) // the retry must wait for the clock
	if js := jobs(t, cat, name); len(js) != n {
		t.Fatalf("a job started before the retry's time: %+v", js[n:])
	}
	advanceTo(d2At.Add(time.Second))
	d2 := backupRun("the retried differential")
	verified(d2)
	idle()
	if !strings.Contains(strings.ToLower(failed.Error), "connect") {
		t.Errorf("the failed attempt's error does not name the connection: %q", failed.Error)
	}
	if evs := hook.Received(); len(evs) != 0 {
		t.Errorf("a failure the retry fixed was alerted: %+v", evs)
	}

	// Transient failures that last: one alert, however many slots fail.
	src.Stop(t)
	for i := range 2 {
		advanceTo(nextDiff())
		backupRun("a differential on a stopped server")
		advanceTo(retryQueued())
		backupRun("its retry")
		idle()
		if i == 0 {
			evs := hook.Wait(t, 1, 30*time.Second)
			if e := evs[0]; e.Type != config.EventBackupFailed || e.State != notify.StateFiring || e.Database != name ||
				!strings.Contains(e.Summary, "failed after 2 attempts") || !strings.Contains(strings.ToLower(e.Error), "connect") {
				t.Errorf("the alert: %+v", e)
			}
		}
	}
	time.Sleep(time.Second) // what a second alert would need to arrive
	if evs := hook.Received(); len(evs) != 1 {
		t.Errorf("%d webhook calls while the server was down, want 1: %+v", len(evs), evs)
	}
	src.Start(t)
	more(5)
	d5At := nextDiff()
	advanceTo(d5At)
	d5 := backupRun("the differential after the server came back")
	verified(d5)
	idle()
	if evs := hook.Wait(t, 2, 30*time.Second); evs[1].State != notify.StateResolved || evs[1].Type != config.EventBackupFailed {
		t.Errorf("the resolution: %+v", evs[1])
	}

	// A permanent failure: one attempt, alerted at once.
	src.Exec(t, "", fmt.Sprintf("ALTER USER '%s'@'127.0.0.1' IDENTIFIED BY 'not-the-password'", user))
	advanceTo(nextDiff())
	denied := backupRun("the differential with a wrong password")
	idle()
	if !strings.Contains(denied.Error, "Access denied") {
		t.Errorf("the denied attempt's error: %q", denied.Error)
	}
	evs := hook.Wait(t, 3, 30*time.Second)
	if e := evs[2]; e.State != notify.StateFiring || !strings.Contains(e.Summary, "at the first attempt (not retried: the error is permanent)") ||
		!strings.Contains(e.Error, "Access denied") {
		t.Errorf("the alert of a permanent failure: %+v", e)
	}
	if hook.Bad() != 0 {
		t.Errorf("%d webhook calls with a bad signature", hook.Bad())
	}

	// The job log: every attempt of every run, in order.
	var got []string
	for _, j := range jobs(t, cat, name) {
		if j.Kind == "backup" {
			got = append(got, fmt.Sprintf("%s/%s#%d/%s", j.RequestedType, j.Trigger, j.Attempt, j.Status))
		}
		for _, secret := range []string{j.Error, fmt.Sprint(j.Details)} {
			if strings.Contains(secret, password) {
				t.Errorf("job %d shows the password: %s", j.ID, secret)
			}
		}
	}
	want := []string{"full/catch-up#1/ok", "full/schedule#1/ok", "differential/schedule#1/ok",
		"differential/schedule#1/failed", "differential/schedule#2/ok",
		"differential/schedule#1/failed", "differential/schedule#2/failed", "differential/schedule#1/failed", "differential/schedule#2/failed",
		"differential/schedule#1/ok", "differential/schedule#1/failed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("backup jobs:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	for _, e := range hook.Received() {
		if strings.Contains(e.Error+e.Summary+e.Detail, password) {
			t.Errorf("an alert shows the password: %+v", e)
		}
	}

	// The backups: two generations, the differentials in the second, all
	// verified.
	bs, err := cat.Backups(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]catalog.Backup{}
	for _, b := range bs {
		byID[b.ID] = b
	}
	for _, c := range []struct {
		job      catalog.Job
		typ, gen string
	}{{f0, "full", f0.BackupID}, {f1, "full", f1.BackupID}, {d1, "differential", f1.BackupID}, {d2, "differential", f1.BackupID}, {d5, "differential", f1.BackupID}} {
		b, ok := byID[c.job.BackupID]
		if !ok || b.Engine != "mysql" || b.Type != c.typ || b.Generation != c.gen || b.VerifyStatus != catalog.StatusOK || b.Rows == 0 {
			t.Errorf("backup of job %d: %+v (in the catalog: %v), want a verified %s of generation %s", c.job.ID, b, ok, c.typ, c.gen)
		}
	}
	if len(bs) != 5 {
		t.Errorf("%d backups, want 5", len(bs))
	}

	// /metrics: the times are the fake clock's, the failures every failed
	// attempt.
	code, text := scrape(t, "http://"+a.MetricsAddr().String()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	series := func(metric, kind string) string {
		if kind == "" {
			return fmt.Sprintf(`%s{database=%q}`, metric, name)
		}
		return fmt.Sprintf(`%s{database=%q,kind=%q}`, metric, name, kind)
	}
	for _, m := range []struct {
		series string
		want   float64
	}{
		{series("dbopsd_last_success_timestamp_seconds", "full"), unix(fullAt)},
		{series("dbopsd_last_success_timestamp_seconds", "differential"), unix(d5At)},
		{series("dbopsd_job_failures_total", "differential"), 6},
		{series("dbopsd_verification_ok", ""), 1},
	} {
		v, ok := metricValue(text, m.series)
		if !ok || math.Abs(v-m.want) > 1e-3 {
			t.Errorf("%s = %v (present %v), want %v", m.series, v, ok, m.want)
		}
	}
	for _, m := range []string{series("dbopsd_last_success_timestamp_seconds", "verify"), series("dbopsd_backup_stored_bytes", "differential")} {
		if v, ok := metricValue(text, m); !ok || v <= 0 {
			t.Errorf("%s = %v (present %v)", m, v, ok)
		}
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// metricValue is the value of one series in Prometheus text.
func metricValue(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
