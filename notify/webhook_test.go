package notify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
)

const hookSecret = "Hook-S3cret-5b2f9e"

// webhookBlock is a webhook notify block for url, decoded and validated
// from HCL as the daemon would read it; extra goes into the block
// (ca_file).
func webhookBlock(t *testing.T, url, extra string) *config.Config {
	t.Helper()
	t.Setenv("TEST_HOOK_SECRET", hookSecret)
	cfg := parseNotifies(t, fmt.Sprintf(`
notify "oncall" {
  type   = "webhook"
  url    = %q
%s
  secret = env("TEST_HOOK_SECRET")
  events = ["backup_failed"]
}
`, url, extra))
	return cfg
}

// TestWebhookCAFile: a webhook to an HTTPS receiver whose certificate an
// internal CA signed is delivered when the notify block's ca_file names
// that CA; with no ca_file (the system's roots) or the wrong CA nothing
// arrives, and the error names the notify block, the URL and what to
// change, and never the webhook secret.
func TestWebhookCAFile(t *testing.T) {
	hook := notifytest.StartHookServer(t, hookSecret, notifytest.HookTLS())
	wrongCA := notifytest.NewCA(t).File
	ev := notify.Event{Type: config.EventBackupFailed, State: notify.StateFiring, Database: "queue", Kind: "full",
		Summary: "The full backup of queue failed.", Error: "connection refused", Time: time.Now()}

	for _, tc := range []struct {
		name  string
		extra string
		want  []string // in the error; none: the call arrives
	}{
		{name: "ca_file", extra: fmt.Sprintf("  ca_file = %q", hook.CAFile)},
		{name: "system roots only", want: []string{"certificate signed by unknown authority", "name the CA that signed it in ca_file"}},
		{name: "wrong CA", extra: fmt.Sprintf("  ca_file = %q", wrongCA),
			want: []string{"certificate signed by unknown authority", "name the CA that signed it in ca_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(hook.Received())
			w, err := notify.NewWebhook(webhookBlock(t, hook.URL, tc.extra).Notifies["oncall"], nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = w.Send(ctx, ev)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				evs := hook.Wait(t, before+1, 10*time.Second)
				if got := evs[len(evs)-1]; got.Type != ev.Type || got.Database != "queue" || hook.Bad() != 0 {
					t.Errorf("webhook: %+v, %d bad calls", got, hook.Bad())
				}
				return
			}
			if err == nil {
				t.Fatal("sent despite the TLS problem")
			}
			msg := err.Error()
			for _, want := range append([]string{`notify "oncall"`, "posting to the webhook " + hook.URL}, tc.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("the error lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, hookSecret) {
				t.Errorf("the error shows the webhook secret: %s", msg)
			}
			if n := len(hook.Received()); n != before {
				t.Errorf("%d calls arrived", n-before)
			}
		})
	}
}

// TestWebhookCAFileReload: through the Notifier, a webhook whose ca_file
// holds the wrong CA is retried and given up on, logged with the URL and
// without the secret; once the file holds the right CA, a reload
// (SetConfig, as on SIGHUP) reads it again and the next message arrives.
func TestWebhookCAFileReload(t *testing.T) {
	hook := notifytest.StartHookServer(t, hookSecret, notifytest.HookTLS())
	caFile := filepath.Join(t.TempDir(), "internal-ca.pem")
	copyFile(t, notifytest.NewCA(t).File, caFile)
	extra := fmt.Sprintf("  ca_file = %q", caFile)
	var logs testlog.Buffer
	n, err := notify.New(webhookBlock(t, hook.URL, extra), notify.Options{
		Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}), Retries: 1, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	n.Raise(notify.Event{Type: config.EventBackupFailed, Database: "queue", Kind: "full", Error: "connection refused"})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "giving up on a message") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "giving up on a message") || !strings.Contains(out, hook.URL) || !strings.Contains(out, "ca_file") {
		t.Errorf("the log does not show the failed deliveries with the URL:\n%s", out)
	}
	if strings.Contains(out, hookSecret) {
		t.Errorf("the log shows the webhook secret:\n%s", out)
	}
	if len(hook.Received()) != 0 {
		t.Fatal("a call arrived through the wrong CA")
	}

	// The CA is replaced in place: same path, new content.
	copyFile(t, hook.CAFile, caFile)
	if err := n.SetConfig(webhookBlock(t, hook.URL, extra)); err != nil {
		t.Fatal(err)
	}
	n.Raise(notify.Event{Type: config.EventBackupFailed, Database: "rating", Kind: "full", Error: "connection refused"})
	evs := hook.Wait(t, 1, 10*time.Second)
	if evs[0].Database != "rating" || hook.Bad() != 0 {
		t.Errorf("after the reload: %+v, %d bad calls", evs, hook.Bad())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
