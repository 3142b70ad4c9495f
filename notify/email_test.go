package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/notify/notifytest"
)

const (
	smtpUser     = "dbopsd@example.gov.cn"
	smtpPassword = "Smtp-P4ss-7d1e9a"
)

// emailBlock is an email notify block for smtp, decoded and validated from
// HCL as the daemon would read it; extra goes into the block (smtp_tls,
// ca_file).
func emailBlock(t *testing.T, smtp, extra string) *config.Notify {
	t.Helper()
	t.Setenv("TEST_SMTP_PASSWORD", smtpPassword)
	cfg := parseNotifies(t, fmt.Sprintf(`
notify "bureau" {
  type     = "email"
  smtp     = %q
%s
  username = %q
  password = env("TEST_SMTP_PASSWORD")
  from     = "dbopsd@example.gov.cn"
  to       = ["dba@example.gov.cn"]
  events   = ["backup_failed"]
}
`, smtp, extra, smtpUser))
	return cfg.Notifies["bureau"]
}

// TestEmailTLS: mail goes through a server with implicit TLS (SMTPS) and
// one with STARTTLS, each trusted through the notify block's ca_file and
// nothing else; with the wrong CA, or the wrong kind of TLS for the port,
// nothing is sent, and the error names the notify block, the server and
// what to change, and never the SMTP password (AUTH waits for a checked
// certificate).
func TestEmailTLS(t *testing.T) {
	startTLS := notifytest.StartMailServer(t, smtpUser, smtpPassword)
	implicit := notifytest.StartMailServer(t, smtpUser, smtpPassword, notifytest.ImplicitTLS())
	wrongCA := notifytest.NewCA(t).File
	ev := notify.Event{Type: config.EventBackupFailed, State: notify.StateFiring, Database: "queue", Kind: "full",
		Summary: "The full backup of queue failed.", Error: "connection refused", Time: time.Now()}

	for _, tc := range []struct {
		name  string
		srv   *notifytest.MailServer
		extra string
		want  []string // in the error; none: the mail arrives
	}{
		{name: "STARTTLS", srv: startTLS, extra: fmt.Sprintf("  ca_file = %q", startTLS.CAFile)},
		{name: "STARTTLS asked for", srv: startTLS, extra: fmt.Sprintf("  smtp_tls = \"starttls\"\n  ca_file = %q", startTLS.CAFile)},
		{name: "implicit TLS", srv: implicit, extra: fmt.Sprintf("  smtp_tls = \"implicit\"\n  ca_file = %q", implicit.CAFile)},
		{name: "STARTTLS, wrong CA", srv: startTLS, extra: fmt.Sprintf("  ca_file = %q", wrongCA),
			want: []string{"(STARTTLS)", "certificate signed by unknown authority", "name the CA that signed it in ca_file"}},
		{name: "implicit TLS, wrong CA", srv: implicit, extra: fmt.Sprintf("  smtp_tls = \"implicit\"\n  ca_file = %q", wrongCA),
			want: []string{"(implicit TLS)", "certificate signed by unknown authority", "name the CA that signed it in ca_file"}},
		{name: "implicit TLS, system roots only", srv: implicit, extra: "  smtp_tls = \"implicit\"",
			want: []string{"(implicit TLS)", "certificate signed by unknown authority", "ca_file"}},
		{name: "implicit TLS to a STARTTLS port", srv: startTLS, extra: fmt.Sprintf("  smtp_tls = \"implicit\"\n  ca_file = %q", startTLS.CAFile),
			want: []string{"(implicit TLS)", `set smtp_tls = "starttls"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.srv.Messages())
			e, err := notify.NewEmail(emailBlock(t, tc.srv.Addr, tc.extra), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = e.Send(ctx, ev)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				msgs := tc.srv.Wait(t, before+1, 10*time.Second)
				m := msgs[len(msgs)-1]
				subject, _, _, derr := m.Decode()
				if derr != nil || !m.TLS || m.User != smtpUser || subject != "[dbopsd] 备份失败 Backup failed: queue" {
					t.Errorf("mail: TLS %v, user %q, subject %q, %v", m.TLS, m.User, subject, derr)
				}
				return
			}
			if err == nil {
				t.Fatal("sent despite the TLS problem")
			}
			msg := err.Error()
			for _, w := range append([]string{`notify "bureau"`, "sending mail through " + tc.srv.Addr}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("the error lacks %q: %s", w, msg)
				}
			}
			if strings.Contains(msg, smtpPassword) {
				t.Errorf("the error shows the SMTP password: %s", msg)
			}
			if n := len(tc.srv.Messages()); n != before {
				t.Errorf("%d mails arrived", n-before)
			}
		})
	}
}

// TestEmailTLSFailureLogged: through the Notifier, a mail server with a
// certificate of the wrong CA is retried and given up on, each time with
// a log line naming the server, and the password is nowhere in the log.
func TestEmailTLSFailureLogged(t *testing.T) {
	srv := notifytest.StartMailServer(t, smtpUser, smtpPassword, notifytest.ImplicitTLS())
	nb := emailBlock(t, srv.Addr, fmt.Sprintf("  smtp_tls = \"implicit\"\n  ca_file = %q", notifytest.NewCA(t).File))
	cfg := &config.Config{Notifies: map[string]*config.Notify{"bureau": nb}}
	var logs testlog.Buffer
	n, err := notify.New(cfg, notify.Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}),
		Retries: 1, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	n.Raise(notify.Event{Type: config.EventBackupFailed, Database: "queue", Kind: "full", Error: "connection refused"})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "giving up on a message") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "giving up on a message") || strings.Count(out, srv.Addr) < 2 || !strings.Contains(out, "ca_file") {
		t.Errorf("the log does not show the failed deliveries with the server:\n%s", out)
	}
	if strings.Contains(out, smtpPassword) {
		t.Errorf("the log shows the SMTP password:\n%s", out)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a mail arrived")
	}
}
