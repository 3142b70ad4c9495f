package notify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/dbopsd/dbopsd/config"
)

// withCAFile is base (nil: the system's roots) trusting, besides, the CA
// certificates of the notify block's ca_file; base itself when the block
// has none. Email and webhook senders both build their TLS from it, when
// the sender is made: a renewed CA is read on reload, when the Notifier
// sees the file's content change (senderFingerprint).
func withCAFile(n *config.Notify, base *tls.Config) (*tls.Config, error) {
	if n.CAFile == "" {
		return base, nil
	}
	pem, err := os.ReadFile(n.CAFile)
	if err != nil {
		return nil, fmt.Errorf("notify %q: ca_file: %w", n.Name, err)
	}
	var pool *x509.CertPool
	switch {
	case base != nil && base.RootCAs != nil:
		pool = base.RootCAs.Clone()
	default:
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("notify %q: ca_file: %s holds no PEM certificate", n.Name, n.CAFile)
	}
	tc := &tls.Config{}
	if base != nil {
		tc = base.Clone()
	}
	tc.RootCAs = pool
	return tc, nil
}

// certHint says what to change when the server's certificate is what
// failed; "" for other errors. addr is the attribute that names the
// server (smtp, url) and host the name the certificate was checked for.
func certHint(err error, addr, host string) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return "; the server's certificate is not signed by a CA this host trusts: name the CA that signed it in ca_file"
	case errors.As(err, &hostname):
		return fmt.Sprintf("; the server's certificate is not for %q: write %s with a name the certificate holds", host, addr)
	case errors.As(err, &invalid):
		return "; the server's certificate is not valid (expired, or not for a server): the server's administrator must replace it"
	}
	return ""
}
