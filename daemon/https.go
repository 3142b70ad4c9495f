package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/config"
)

// The HTTPS listener for signed requests (daemon.request_listen): the
// request routes of the API, and only those, over TLS, for DBAs on other
// machines (api.ServeHTTPS). Requests go to the same backend, and so the
// same request.Gate and register, as over the socket. The listener is
// opened by New, so that a port in use fails the start, and runs beside
// the socket's server; both drain when the agent stops.
//
// The certificate is loaded at start and again on every reload: renewing
// it is replacing the two files and sending SIGHUP. A pair that does not
// load refuses the reload whole (the policy's validation loads it first),
// and the certificate in force keeps serving. Moving the listener to
// another address, or starting or stopping it, takes a restart.
//
// The certificate in force is watched: its expiry is the metric
// dbopsd_request_tls_cert_expiry_timestamp_seconds and part of dbopsd
// status, and the log warns at start and on every reload while it expires
// within api.CertRenewWithin (or has expired), so that a renewal is not
// left to the day clients start refusing the listener.

// certificate holds the request listener's certificate in force.
type certificate struct {
	cert atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the pair daemon.tls_cert and daemon.tls_key name.
func loadCertificate(dm config.Daemon) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(dm.TLSCert, dm.TLSKey)
	if err == nil && c.Leaf == nil {
		// Go fills Leaf, unless GODEBUG x509keypairleaf=0 says not to;
		// the expiry is read from it.
		c.Leaf, err = x509.ParseCertificate(c.Certificate[0])
	}
	if err != nil {
		return nil, fmt.Errorf("loading the request listener's certificate (daemon.tls_cert %s, daemon.tls_key %s): %w", dm.TLSCert, dm.TLSKey, err)
	}
	return &c, nil
}

// get is tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// describe is what the log says of a certificate: its subject, when it
// ends, and a fingerprint to compare with the file's.
func describe(c *tls.Certificate) []any {
	if c == nil || c.Leaf == nil {
		return nil
	}
	sum := sha256.Sum256(c.Leaf.Raw)
	return []any{"subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339),
		"sha256", hex.EncodeToString(sum[:])}
}

// openRequestListener opens daemon.request_listen and loads its
// certificate, when the policy asks for the listener.
func (a *Agent) openRequestListener(cfg *config.Config) error {
	dm := cfg.Daemon
	if dm.RequestListen == "" {
		return nil
	}
	c, err := loadCertificate(dm)
	if err != nil {
		return err
	}
	a.certs = &certificate{}
	if a.requestL, err = net.Listen("tcp", dm.RequestListen); err != nil {
		return fmt.Errorf("listening for signed requests on %s (daemon.request_listen): %w", dm.RequestListen, err)
	}
	a.useCertificate(c)
	return nil
}

// useCertificate puts c in force for new connections, and says when it
// expires: in the metric, and in the log when that is near.
func (a *Agent) useCertificate(c *tls.Certificate) {
	old := a.certs.cert.Swap(c)
	if old != nil && !old.Leaf.Equal(c.Leaf) {
		a.log.Info("the request listener's certificate was reloaded; new connections get it", describe(c)...)
	}
	a.metrics.RequestCertificate(c.Leaf.NotAfter)
	switch left := c.Leaf.NotAfter.Sub(a.clock.Now()); {
	case left <= 0:
		a.log.Warn("the request listener's certificate has expired and clients refuse it: replace daemon.tls_cert and daemon.tls_key, then send SIGHUP",
			describe(c)...)
	case left < api.CertRenewWithin:
		a.log.Warn("the request listener's certificate expires soon: replace daemon.tls_cert and daemon.tls_key, then send SIGHUP",
			append(describe(c), "expires_in", left.Round(time.Minute).String())...)
	}
}

// requestListenerInfo is the request listener in dbopsd status; nil
// without one.
func (a *Agent) requestListenerInfo() *api.RequestListenerInfo {
	if a.requestL == nil {
		return nil
	}
	info := &api.RequestListenerInfo{Address: a.requestL.Addr().String()}
	if c := a.certs.cert.Load(); c != nil {
		info.CertSubject, info.CertNotAfter = c.Leaf.Subject.String(), c.Leaf.NotAfter
	}
	return info
}

// RequestAddr is where the HTTPS request listener listens; nil when
// daemon.request_listen is not set.
func (a *Agent) RequestAddr() net.Addr {
	if a.requestL == nil {
		return nil
	}
	return a.requestL.Addr()
}

// serveRequests serves the request routes over HTTPS until ctx ends.
func (a *Agent) serveRequests(ctx context.Context) error {
	// As the socket: answer once the plan is evaluated.
	select {
	case <-a.sched.Ready():
	case <-ctx.Done():
		return a.requestL.Close()
	}
	log := a.opts.Logger.Named("https")
	log.Info("serving signed requests over HTTPS", append([]any{"address", a.requestL.Addr().String()}, describe(a.certs.cert.Load())...)...)
	return api.ServeHTTPS(ctx, a.requestL, (*backend)(a), a.certs.get, log)
}

// prepareCertificate loads the certificate cfg names for the listener in
// force, and returns what puts it in force once the whole reload is
// accepted (nil: nothing to do).
func (a *Agent) prepareCertificate(cfg *config.Config) (func(), error) {
	if a.certs == nil || cfg.Daemon.TLSCert == "" || cfg.Daemon.TLSKey == "" {
		// No listener, or the new policy drops it: the listener in force
		// keeps its certificate until the restart (logged by apply).
		return nil, nil
	}
	c, err := loadCertificate(cfg.Daemon)
	if err != nil {
		return nil, err
	}
	return func() { a.useCertificate(c) }, nil
}
