// Package notifytest runs the receivers that alert tests read from: a real
// SMTP server in process (emersion/go-smtp) offering STARTTLS, or speaking
// TLS from the start (ImplicitTLS), with a certificate from a throwaway CA
// and requiring AUTH PLAIN; and a webhook receiver that checks every
// signature, over plain HTTP or (HookTLS) HTTPS with a certificate from a
// throwaway CA. Tests point notify blocks at them and read what arrived.
package notifytest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/dbopsd/dbopsd/internal/testca"
	"github.com/dbopsd/dbopsd/notify"
)

// Mail is one message as the server received it.
type Mail struct {
	From string
	To   []string
	Data string // the raw message
	User string // who authenticated
	TLS  bool   // it came over TLS
}

// Decode parses the message as a mail client would: the subject decoded,
// the headers, and the body with its transfer encoding undone.
func (m Mail) Decode() (subject string, h netmail.Header, body string, err error) {
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return "", nil, "", err
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return "", nil, "", err
	}
	var r io.Reader = msg.Body
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return subject, msg.Header, string(b), err
}

// MailServer is an SMTP server on a free loopback port.
type MailServer struct {
	Addr   string         // host:port for smtp = "..."
	CA     *x509.CertPool // trusts its certificate
	CAFile string         // the CA that signed its certificate, PEM, for ca_file = "..."

	user, pass string
	mu         sync.Mutex
	msgs       []Mail
	got        chan struct{}
}

// MailOption changes how StartMailServer serves.
type MailOption func(*mailOptions)

type mailOptions struct{ implicitTLS bool }

// ImplicitTLS makes the server speak TLS from the first byte (SMTPS, as on
// port 465) instead of offering STARTTLS.
func ImplicitTLS() MailOption { return func(o *mailOptions) { o.implicitTLS = true } }

// StartMailServer starts a server that accepts mail only over TLS
// (STARTTLS, or implicit TLS with ImplicitTLS) and after AUTH PLAIN as user
// with pass; its certificate, for 127.0.0.1 and localhost, is signed by a
// throwaway CA of its own. It stops at the test's end.
func StartMailServer(t testing.TB, user, pass string, opts ...MailOption) *MailServer {
	t.Helper()
	var o mailOptions
	for _, opt := range opts {
		opt(&o)
	}
	ca := NewCA(t)
	ms := &MailServer{CA: ca.Pool, CAFile: ca.File, user: user, pass: pass, got: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t)}}
	srv.AllowInsecureAuth = false
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.Addr = l.Addr().String()
	if o.implicitTLS {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ms
}

// TLSConfig is what a client needs to trust the server.
func (m *MailServer) TLSConfig() *tls.Config { return &tls.Config{RootCAs: m.CA} }

// Messages returns what arrived so far.
func (m *MailServer) Messages() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.msgs...)
}

// Wait waits up to timeout until n messages have arrived, and returns them.
func (m *MailServer) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if msgs := m.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-m.got:
		case <-deadline:
			t.Fatalf("%d mails arrived, want %d", len(m.Messages()), n)
		}
	}
}

type session struct {
	srv  *MailServer
	conn *smtp.Conn
	msg  Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return errors.New("invalid credentials")
		}
		s.msg.User = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.msg.User == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.msg.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = string(b)
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.msg)
	s.srv.mu.Unlock()
	select {
	case s.srv.got <- struct{}{}:
	default:
	}
	return nil
}

func (s *session) Reset()        { s.msg = Mail{User: s.msg.User} }
func (s *session) Logout() error { return nil }

// CA is a throwaway certificate authority (internal/testca).
type CA struct {
	File string         // its certificate, PEM
	Pool *x509.CertPool // trusts it

	ca *testca.CA
}

// NewCA makes a CA valid for a day, its certificate written to a file in
// a temporary directory. A CA that signed nothing a server uses is the
// wrong CA to trust.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	c := &CA{File: filepath.Join(t.TempDir(), "ca.pem"), Pool: ca.Pool(), ca: ca}
	if err := ca.WriteFile(c.File); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue makes a server certificate for 127.0.0.1, ::1 and localhost,
// signed by ca.
func (ca *CA) Issue(t testing.TB) tls.Certificate {
	t.Helper()
	is, err := ca.ca.Issue(time.Now().Add(24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return is.TLS
}

// HookServer receives webhook calls and checks their signatures.
type HookServer struct {
	URL string
	// CAFile is the CA that signed the server's certificate, PEM, for
	// ca_file = "..." (HookTLS only).
	CAFile string

	secret []byte
	mu     sync.Mutex
	events []notify.Event
	bad    int
	got    chan struct{}
}

// HookOption changes how StartHookServer serves.
type HookOption func(*hookOptions)

type hookOptions struct{ tls bool }

// HookTLS makes the receiver serve HTTPS with a certificate for 127.0.0.1
// and localhost signed by a throwaway CA of its own (CAFile), which no
// system trusts.
func HookTLS() HookOption { return func(o *hookOptions) { o.tls = true } }

// StartHookServer starts a receiver for webhooks signed with secret; it
// stops at the test's end.
func StartHookServer(t testing.TB, secret string, opts ...HookOption) *HookServer {
	t.Helper()
	var o hookOptions
	for _, opt := range opts {
		opt(&o)
	}
	h := &HookServer{secret: []byte(secret), got: make(chan struct{}, 1)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(notify.HeaderTimestamp)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !notify.Verify(h.secret, ts, body, r.Header.Get(notify.HeaderSignature)) || r.Header.Get("Content-Type") != "application/json" {
			h.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev notify.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type != r.Header.Get(notify.HeaderEvent) {
			h.bad++
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		h.events = append(h.events, ev)
		select {
		case h.got <- struct{}{}:
		default:
		}
	}))
	if o.tls {
		ca := NewCA(t)
		h.CAFile = ca.File
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t)}}
		// Handshakes the client refuses are what tests expect, not news.
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/hooks/dbopsd"
	return h
}

// Received returns the events that arrived with a good signature.
func (h *HookServer) Received() []notify.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Event(nil), h.events...)
}

// Bad counts calls refused for a bad signature or body.
func (h *HookServer) Bad() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bad
}

// Wait waits up to timeout until n events have arrived, and returns them.
func (h *HookServer) Wait(t testing.TB, n int, timeout time.Duration) []notify.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if evs := h.Received(); len(evs) >= n {
			return evs
		}
		select {
		case <-h.got:
		case <-deadline:
			t.Fatalf("%d webhook calls arrived, want %d", len(h.Received()), n)
		}
	}
}
