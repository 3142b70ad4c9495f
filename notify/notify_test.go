package notify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/config"
	_ "github.com/dbopsd/dbopsd/engines/all" // config validates engines through their registrations
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
)

// ---- the policy ----

// parseNotifies decodes and validates notify blocks, in a policy with
// just enough else to be valid, as the daemon would read them.
func parseNotifies(t *testing.T, blocks string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(`storage "primary" {
  type = "local"
  path = "/nonexistent"
}
repository {
  storage    = "primary"
  passphrase = env("TEST_UNSET")
}
`+blocks), "notify.hcl")
	if diags.HasErrors() {
		t.Fatalf("%v", diags)
	}
	return cfg
}

func testConfig(t *testing.T, mailAddr, hookURL string) *config.Config {
	t.Helper()
	t.Setenv("TEST_SMTP_PASSWORD", "smtp-secret")
	t.Setenv("TEST_HOOK_SECRET", "hook-secret")
	return parseNotifies(t, fmt.Sprintf(`
notify "bureau" {
  type     = "email"
  smtp     = %q
  username = "dbopsd@example.gov.cn"
  password = env("TEST_SMTP_PASSWORD")
  from     = "dbopsd@example.gov.cn"
  to       = ["xxzx@example.gov.cn", "dba@example.gov.cn"]
  events   = ["backup_failed", "verify_failed", "stale"]
}
notify "oncall" {
  type   = "webhook"
  url    = %q
  secret = env("TEST_HOOK_SECRET")
  events = ["backup_failed", "verify_failed", "stale", "daemon_gap"]
}
`, mailAddr, hookURL))
}

func runNotifier(t *testing.T, n *notify.Notifier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestEmailAndWebhook: a problem is sent once by mail (STARTTLS and AUTH)
// and webhook (signed), not again while it lasts, again when it changes,
// and "resolved" when it clears; a notice goes only where subscribed.
func TestEmailAndWebhook(t *testing.T) {
	mail := notifytest.StartMailServer(t, "dbopsd@example.gov.cn", "smtp-secret")
	hook := notifytest.StartHookServer(t, "hook-secret")
	cfg := testConfig(t, mail.Addr, hook.URL)
	state := filepath.Join(t.TempDir(), "alerts.json")
	n, err := notify.New(cfg, notify.Options{StatePath: state, TLSConfig: mail.TLSConfig(), Host: "ops-1", RetryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)

	fail := notify.Event{Type: config.EventBackupFailed, Database: "queue", Kind: "full",
		Summary: "The full backup of queue failed after 4 attempts.", Error: "dial tcp 127.0.0.1:41234: connect: connection refused"}
	if !n.Raise(fail) {
		t.Fatal("the first report of a problem was not sent")
	}
	again := fail
	again.Error = "dial tcp 127.0.0.1:41999: connect: connection refused" // another port: the same problem
	if n.Raise(again) {
		t.Error("the same problem was sent twice")
	}
	msgs := mail.Wait(t, 1, 10*time.Second)
	m := msgs[0]
	if !m.TLS || m.User != "dbopsd@example.gov.cn" || m.From != "dbopsd@example.gov.cn" || len(m.To) != 2 {
		t.Errorf("mail: TLS %v, user %q, from %q, to %v", m.TLS, m.User, m.From, m.To)
	}
	subject, headers, body, err := m.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if subject != "[dbopsd] 备份失败 Backup failed: queue" || headers.Get("X-Dbopsd-Event") != "backup_failed" ||
		!strings.Contains(body, "错误 / Error: dial tcp 127.0.0.1:41234: connect: connection refused") {
		t.Errorf("mail: subject %q, event %q, body:\n%s", subject, headers.Get("X-Dbopsd-Event"), body)
	}
	evs := hook.Wait(t, 1, 10*time.Second)
	if evs[0].Type != config.EventBackupFailed || evs[0].State != notify.StateFiring || evs[0].Database != "queue" || evs[0].Host != "ops-1" {
		t.Errorf("webhook: %+v", evs[0])
	}

	// A different error is a change.
	changed := fail
	changed.Error = "password authentication failed for user \"dbops\""
	if !n.Raise(changed) {
		t.Error("a changed problem was not sent")
	}
	// A notice only goes where it is subscribed (the webhook).
	n.Notice(notify.Event{Type: config.EventDaemonGap, Summary: "dbopsd was down from 01:00 to 04:00; catching up: differential of queue"})
	if !n.Clear(config.EventBackupFailed, "queue", "", "The backup of queue succeeded.") {
		t.Error("Clear found no open problem")
	}
	if n.Clear(config.EventBackupFailed, "queue", "", "") {
		t.Error("a cleared problem cleared twice")
	}
	msgs = mail.Wait(t, 3, 10*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("%d mails, want 3", len(msgs))
	}
	if subject, _, body, _ := msgs[1].Decode(); !strings.HasPrefix(subject, "[dbopsd] 有变化 Changed: ") ||
		!strings.Contains(body, "password authentication failed") {
		t.Errorf("the change mail: %q\n%s", subject, body)
	}
	if subject, h, body, _ := msgs[2].Decode(); subject != "[dbopsd] 已恢复 Resolved: 备份失败 Backup failed: queue" ||
		h.Get("X-Dbopsd-State") != "resolved" || !strings.Contains(body, "succeeded") {
		t.Errorf("the last mail is not the resolution: %q\n%s", subject, body)
	}
	evs = hook.Wait(t, 4, 10*time.Second)
	states := []string{}
	for _, e := range evs {
		states = append(states, e.Type+"/"+e.State)
	}
	if got, want := strings.Join(states, " "), "backup_failed/firing backup_failed/firing daemon_gap/notice backup_failed/resolved"; got != want {
		t.Errorf("webhook events: %s, want %s", got, want)
	}
	if evs[3].Since.IsZero() || !strings.Contains(evs[3].Detail, "password authentication failed") {
		t.Errorf("resolved event: %+v", evs[3])
	}
	if hook.Bad() != 0 {
		t.Errorf("%d webhook calls had a bad signature", hook.Bad())
	}
}

// TestProblemsSurviveRestart: an open problem is not re-sent by a new
// Notifier reading the same state file, and its clearing is.
func TestProblemsSurviveRestart(t *testing.T) {
	hook := notifytest.StartHookServer(t, "hook-secret")
	cfg := testConfig(t, "127.0.0.1:1", hook.URL)
	delete(cfg.Notifies, "bureau")
	state := filepath.Join(t.TempDir(), "alerts.json")
	n1, err := notify.New(cfg, notify.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n1)
	ev := notify.Event{Type: config.EventStale, Database: "rating", Summary: "No successful backup of rating since 2025-03-02."}
	n1.Raise(ev)
	hook.Wait(t, 1, 10*time.Second)

	n2, err := notify.New(cfg, notify.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n2)
	if n2.Raise(ev) || !n2.Open(config.EventStale, "rating", "") {
		t.Error("the restarted notifier sent a known problem again")
	}
	n2.Clear(config.EventStale, "rating", "", "rating has a new backup.")
	evs := hook.Wait(t, 2, 10*time.Second)
	if len(evs) != 2 || evs[1].State != notify.StateResolved {
		t.Errorf("events: %+v", evs)
	}
}

// TestRateLimit: past the burst, messages are held back and counted; the
// next message that goes out says how many.
func TestRateLimit(t *testing.T) {
	hook := notifytest.StartHookServer(t, "hook-secret")
	cfg := testConfig(t, "127.0.0.1:1", hook.URL)
	delete(cfg.Notifies, "bureau")
	clock := clockwork.NewFakeClock()
	n, err := notify.New(cfg, notify.Options{Clock: clock, Burst: 2, RefillEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	sent := 0
	for i := range 5 {
		if n.Raise(notify.Event{Type: config.EventBackupFailed, Database: fmt.Sprintf("db%c", 'a'+i), Error: "connection refused"}) {
			sent++
		}
	}
	hook.Wait(t, 2, 10*time.Second)
	clock.Advance(time.Minute)
	n.Raise(notify.Event{Type: config.EventBackupFailed, Database: "dbz", Error: "connection refused"})
	evs := hook.Wait(t, 3, 10*time.Second)
	if len(evs) != 3 || evs[2].Database != "dbz" || evs[2].Suppressed != 3 {
		t.Errorf("got %d events, last %+v; want 3, the last saying 3 were held back", len(evs), evs[len(evs)-1])
	}
}
