package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbopsd/dbopsd/schedule"
)

// Client talks to the daemon: over its socket (NewClient), or over HTTPS
// to its request listener (NewHTTPSClient), which answers only the
// request calls (SubmitRequest, Request).
type Client struct {
	path string // the socket; "" over HTTPS
	// base is what paths are appended to: "http://dbopsd" over the
	// socket, the server's URL over HTTPS.
	base string
	http *http.Client
}

// NewClient returns a client of the daemon listening on the socket path.
func NewClient(path string) *Client {
	return &Client{path: path, base: "http://dbopsd", http: &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

// ErrNotHTTPS is returned by NewHTTPSClient for a server URL that is not
// https:// (http:// included: requests and their outcomes cross the
// network only encrypted, to a daemon whose certificate is checked).
var ErrNotHTTPS = errors.New("not an https:// URL")

// NewHTTPSClient returns a client of a daemon's HTTPS request listener
// (daemon.request_listen) at server, "https://host:port". caFile, when not
// "", is a PEM file of the CA certificates that may sign the daemon's
// certificate, in place of the system's roots (a site's own CA); either
// way the certificate must name the host. TLS 1.2 or later; redirects are
// not followed.
func NewHTTPSClient(server, caFile string) (*Client, error) {
	u, err := url.Parse(server)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %q: want https://host:port (daemon.request_listen): %v", ErrNotHTTPS, server, err)
	case u.Scheme == "http":
		return nil, fmt.Errorf("%w: %s: the daemon takes requests over HTTPS only; use https://%s (daemon.request_listen)", ErrNotHTTPS, server, u.Host)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("%w: %q: want https://host:port (daemon.request_listen)", ErrNotHTTPS, server)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: %q: want https://host:port, without user, query or fragment", ErrNotHTTPS, server)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	base := strings.TrimSuffix((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), "/")
	return &Client{base: base, http: &http.Client{
		Timeout:   time.Minute,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}, nil
}

// ErrNoDaemon is wrapped by errors that mean no daemon answers on the
// socket, or at the HTTPS address.
var ErrNoDaemon = errors.New("no dbopsd agent answers")

// ErrUntrusted is wrapped by errors that mean the HTTPS server's
// certificate did not verify: signed by a CA not trusted, issued for
// another name, or expired.
var ErrUntrusted = errors.New("the daemon's certificate is not trusted")

// Status asks for the daemon's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Run queues a job.
func (c *Client) Run(ctx context.Context, r RunRequest) (schedule.TaskInfo, error) {
	var ti schedule.TaskInfo
	err := c.do(ctx, http.MethodPost, "/v1/run", r, &ti)
	return ti, err
}

// Task asks for one job's state.
func (c *Client) Task(ctx context.Context, id int64) (schedule.TaskInfo, error) {
	var ti schedule.TaskInfo
	err := c.do(ctx, http.MethodGet, "/v1/tasks/"+strconv.FormatInt(id, 10), nil, &ti)
	return ti, err
}

// SubmitRequest sends a signed request file, as read, to the daemon. A
// refusal is an *Error with Code 403 and the reason in Refusal.
func (c *Client) SubmitRequest(ctx context.Context, file []byte) (RequestAccepted, error) {
	var ra RequestAccepted
	err := c.send(ctx, http.MethodPost, "/v1/requests", bytes.NewReader(file), &ra)
	return ra, err
}

// Request asks for the state of the request with this id.
func (c *Client) Request(ctx context.Context, id string) (RequestStatus, error) {
	var rs RequestStatus
	err := c.do(ctx, http.MethodGet, "/v1/requests/"+url.PathEscape(id), nil, &rs)
	return rs, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.send(ctx, method, path, body, out)
}

// send makes one call with a JSON body (nil: none) and decodes the answer
// into out.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if c.path == "" {
			return c.remoteError(err)
		}
		switch {
		case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("%w on %s (is `dbopsd agent` running? is this daemon.socket?): %v", ErrNoDaemon, c.path, err)
		case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EACCES):
			return fmt.Errorf("%s: permission denied: the socket is mode 0600, owned by the daemon's user; run as that user (sudo -u dbopsd) or root", c.path)
		}
		return fmt.Errorf("talking to the daemon on %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			return &Error{Code: resp.StatusCode, Message: eb.Error, Refusal: eb.Refusal, RegisterSeq: eb.RegisterSeq}
		}
		return &Error{Code: resp.StatusCode, Message: resp.Status}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	return nil
}

// remoteError says what went wrong on the way to an HTTPS server, in
// the terms its user can act on.
func (c *Client) remoteError(err error) error {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		dns       *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%w: %s presents a certificate signed by an authority this machine does not trust (%s)", ErrUntrusted, c.base, certName(unknownCA.Cert))
	case errors.As(err, &hostname):
		return fmt.Errorf("%w: %s presents a certificate for another name: %v", ErrUntrusted, c.base, hostname.Error())
	case errors.As(err, &invalid):
		return fmt.Errorf("%w: %s presents a certificate that is not valid: %v", ErrUntrusted, c.base, invalid.Error())
	case errors.As(err, &verify):
		return fmt.Errorf("%w: %s: %v", ErrUntrusted, c.base, verify.Err)
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// The transport turns a record header error into the latter.
		return fmt.Errorf("%s does not speak TLS: is this the daemon's request_listen (not http_listen, which is plain HTTP)?", c.base)
	case errors.As(err, &alert):
		return fmt.Errorf("%s refused the TLS handshake (%v): does it take TLS 1.2 or later?", c.base, err)
	case errors.As(err, &dns):
		return fmt.Errorf("%w at %s: %v", ErrNoDaemon, c.base, dns)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.ECONNRESET), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w at %s (is `dbopsd agent` running there with daemon.request_listen set, and the port open to this machine?): %v", ErrNoDaemon, c.base, err)
	}
	return fmt.Errorf("talking to the daemon at %s: %w", c.base, err)
}

// certName names a certificate in a message: its subject, and its issuer
// when another.
func certName(cert *x509.Certificate) string {
	if cert == nil {
		return "no certificate"
	}
	s := "subject " + cert.Subject.String()
	if cert.Issuer.String() != cert.Subject.String() {
		s += ", issuer " + cert.Issuer.String()
	}
	return s
}

// Error is an error answer of the daemon.
type Error struct {
	Code    int
	Message string
	// Refusal is why a signed request was refused (Code 403), and
	// RegisterSeq the register entry recording it.
	Refusal     string
	RegisterSeq int64
}

func (e *Error) Error() string { return e.Message }
