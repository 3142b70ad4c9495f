package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/secret"
)

// Email sends events as plain-text mail through an SMTP server.
type Email struct {
	name     string
	host     string
	port     int
	implicit bool // TLS from the first byte (SMTPS), not STARTTLS
	username string
	password secret.Value
	from     string
	to       []string
	// tlsConfig trusts the system's roots, the notify block's ca_file and
	// what the Notifier's options add.
	tlsConfig *tls.Config
	timeout   time.Duration
}

var _ Sender = (*Email)(nil)

// NewEmail makes the sender of an email notify block. tlsConfig may be nil
// (the system's roots); tests pass their own CA. The block's ca_file adds
// its certificates to the roots either way.
func NewEmail(n *config.Notify, tlsConfig *tls.Config) (*Email, error) {
	host, portStr, err := net.SplitHostPort(n.SMTP)
	if err != nil {
		return nil, fmt.Errorf("notify %q: smtp %q: %w", n.Name, n.SMTP, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("notify %q: smtp port %q: %w", n.Name, portStr, err)
	}
	if tlsConfig, err = withCAFile(n, tlsConfig); err != nil {
		return nil, err
	}
	implicit := n.SMTPTLS == config.SMTPImplicitTLS || (n.SMTPTLS == "" && port == 465)
	return &Email{name: n.Name, host: host, port: port, implicit: implicit, username: n.Username, password: n.Password,
		from: n.From, to: n.To, tlsConfig: tlsConfig, timeout: 30 * time.Second}, nil
}

// Name is the notify block's label.
func (e *Email) Name() string { return e.name }

// Send delivers ev. With implicit TLS (smtp_tls = "implicit", or port 465
// when smtp_tls is not set) the connection speaks TLS from the start;
// otherwise it upgrades with STARTTLS, which is required whenever
// credentials are sent and used when offered otherwise. Either way the
// server's certificate must be valid for its host name and signed by a
// trusted CA; no credentials go out before it is checked.
func (e *Email) Send(ctx context.Context, ev Event) error {
	client, err := e.client()
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(e.from); err != nil {
		return fmt.Errorf("notify %q: from: %w", e.name, err)
	}
	if err := msg.To(e.to...); err != nil {
		return fmt.Errorf("notify %q: to: %w", e.name, err)
	}
	msg.Subject(ev.Subject())
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("X-Dbopsd-Event", ev.Type)
	msg.SetGenHeader("X-Dbopsd-State", ev.State)
	msg.SetBodyString(mail.TypeTextPlain, ev.Text())
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("notify %q: sending mail through %s (%s): %w%s", e.name, net.JoinHostPort(e.host, strconv.Itoa(e.port)), e.mode(), err, e.hint(err))
	}
	return nil
}

// client connects as the notify block says (see Send); Send and SendRich
// share it.
func (e *Email) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(e.timeout)}
	switch {
	case e.implicit:
		opts = append(opts, mail.WithSSL())
	case e.username != "":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	opts = append(opts, mail.WithPort(e.port))
	if e.tlsConfig != nil {
		tc := e.tlsConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = e.host
		}
		opts = append(opts, mail.WithTLSConfig(tc))
	}
	if e.username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.username), mail.WithPassword(e.password.Reveal()))
	}
	client, err := mail.NewClient(e.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify %q: %w", e.name, err)
	}
	return client, nil
}

// mode names how the connection was to be encrypted, for errors.
func (e *Email) mode() string {
	if e.implicit {
		return "implicit TLS"
	}
	return "STARTTLS"
}

// hint says what to change for the TLS failures a DBA can fix in the
// policy; "" for others.
func (e *Email) hint(err error) string {
	if h := certHint(err, "smtp", e.host); h != "" {
		return h
	}
	var record tls.RecordHeaderError
	if e.implicit && errors.As(err, &record) {
		return "; the server does not speak TLS at once on this port: if it offers STARTTLS, set smtp_tls = \"starttls\""
	}
	return ""
}
