package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/dbopsd/dbopsd/config"
)

// Email sends events as plain-text mail through an SMTP server.
type Email struct {
	name      string
	host      string
	port      int
	username  string
	password  string
	from      string
	to        []string
	tlsConfig *tls.Config
	timeout   time.Duration
}

var _ Sender = (*Email)(nil)

// NewEmail makes the sender of an email notify block. tlsConfig may be nil
// (the system's roots); tests pass their own CA.
func NewEmail(n *config.Notify, tlsConfig *tls.Config) (*Email, error) {
	host, portStr, err := net.SplitHostPort(n.SMTP)
	if err != nil {
		return nil, fmt.Errorf("notify %q: smtp %q: %w", n.Name, n.SMTP, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("notify %q: smtp port %q: %w", n.Name, portStr, err)
	}
	return &Email{name: n.Name, host: host, port: port, username: n.Username, password: n.Password.Reveal(),
		from: n.From, to: n.To, tlsConfig: tlsConfig, timeout: 30 * time.Second}, nil
}

// Name is the notify block's label.
func (e *Email) Name() string { return e.name }

// Send delivers ev. Port 465 speaks TLS from the start; any other port
// upgrades with STARTTLS, which is required whenever credentials are sent
// and used when offered otherwise.
func (e *Email) Send(ctx context.Context, ev Event) error {
	opts := []mail.Option{mail.WithTimeout(e.timeout)}
	switch {
	case e.port == 465:
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
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.username), mail.WithPassword(e.password))
	}
	client, err := mail.NewClient(e.host, opts...)
	if err != nil {
		return fmt.Errorf("notify %q: %w", e.name, err)
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
		return fmt.Errorf("notify %q: sending mail through %s:%d: %w", e.name, e.host, e.port, err)
	}
	return nil
}
