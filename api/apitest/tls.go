// Package apitest makes the TLS material the tests of the daemon's HTTPS
// request listener need: a throwaway certificate authority, written as a
// PEM file a client can trust with --ca-file, and server certificates it
// signs for the loopback addresses (internal/testca, with testing.TB).
package apitest

import (
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/internal/testca"
)

// CA is a certificate authority that exists for one test.
type CA struct {
	// File is its certificate, PEM.
	File string
	ca   *testca.CA
}

// NewCA makes a CA and writes its certificate to dir/ca.crt.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	c := &CA{File: filepath.Join(dir, "ca.crt"), ca: ca}
	if err := ca.WriteFile(c.File); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue writes a server certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, to certFile and its key to keyFile (mode 0600), and
// returns the certificate. Each one has its own serial number.
func (ca *CA) Issue(t testing.TB, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	return ca.IssueUntil(t, certFile, keyFile, time.Now().Add(24*time.Hour))
}

// IssueUntil is Issue with the end of the validity given (a time past
// makes an expired certificate).
func (ca *CA) IssueUntil(t testing.TB, certFile, keyFile string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	is, err := ca.ca.Issue(notAfter)
	if err != nil {
		t.Fatal(err)
	}
	if err := is.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return is.Cert
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool { return ca.ca.Pool() }
