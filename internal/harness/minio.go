package harness

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a MinIO server started by the harness, speaking plain HTTP on
// Endpoint, or HTTPS when started WithTLS. AccessKey and SecretKey are the
// root credentials; the secret is random per server, so a test can check
// that it never leaks into messages.
type MinIO struct {
	Endpoint  string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // the temporary directory: data/, certs/, minio.log
	// TLS is set when the server speaks HTTPS, with a certificate for
	// 127.0.0.1 signed by the throwaway CA in CAFile.
	TLS    bool
	CAFile string

	srv *server
}

// MinIOOption changes how NewMinIO starts a server.
type MinIOOption func(*minIOConfig)

type minIOConfig struct {
	tls bool
}

// WithTLS starts the server with HTTPS, its certificate signed by a CA
// created for it (MinIO.CAFile) that no system trusts.
func WithTLS() MinIOOption {
	return func(c *minIOConfig) { c.tls = true }
}

var sharedMinIO lazy[*MinIO]

// SharedMinIO returns the MinIO server shared by the tests of this binary,
// starting it on first use. Main stops it. Tests share it through separate
// buckets (Bucket).
func SharedMinIO(t testing.TB) *MinIO {
	t.Helper()
	return sharedMinIO.get(t, func() (*MinIO, func() error, error) { return startMinIO(nil) })
}

// NewMinIO starts a MinIO server for t alone, removed at t's cleanup. Use it
// for tests that stop the server.
func NewMinIO(t testing.TB, opts ...MinIOOption) *MinIO {
	t.Helper()
	return private(t, func() (*MinIO, func() error, error) { return startMinIO(opts) })
}

// Client returns a minio-go client with the root credentials.
func (s *MinIO) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := s.client()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return c
}

func (s *MinIO) client() (*minio.Client, error) {
	tr, err := s.transport()
	if err != nil {
		return nil, err
	}
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure:       s.TLS,
		Transport:    tr,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("creating a MinIO client for %s: %w", s.Endpoint, err)
	}
	return c, nil
}

// transport trusts CAFile when the server speaks TLS.
func (s *MinIO) transport() (*http.Transport, error) {
	tr, err := minio.DefaultTransport(s.TLS)
	if err != nil {
		return nil, fmt.Errorf("building an HTTP transport for MinIO: %w", err)
	}
	if s.TLS {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the test CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in the test CA file %s", s.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return tr, nil
}

// Bucket creates a fresh, empty bucket and returns its name.
func (s *MinIO) Bucket(t testing.TB) string {
	t.Helper()
	return s.makeBucket(t, false)
}

// BucketWithLock creates a fresh bucket with object locking (and so
// versioning) enabled and returns its name.
func (s *MinIO) BucketWithLock(t testing.TB) string {
	t.Helper()
	return s.makeBucket(t, true)
}

var bucketSeq atomic.Int64

func (s *MinIO) makeBucket(t testing.TB, lock bool) string {
	t.Helper()
	name := bucketName(t.Name(), bucketSeq.Add(1))
	c := s.Client(t)
	if err := c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{ObjectLocking: lock}); err != nil {
		t.Fatalf("harness: creating bucket %s on MinIO %s: %v", name, s.Endpoint, err)
	}
	return name
}

// bucketName derives a valid, unique S3 bucket name (3-63 characters of
// a-z, 0-9 and '-') from a test name, so a bucket left behind says which
// test made it.
func bucketName(test string, seq int64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); len(s) > 0 && s[len(s)-1] != '-' {
				b.WriteByte('-')
			}
		}
	}
	suffix := "-" + strconv.FormatInt(seq, 10)
	base := strings.Trim(b.String(), "-")
	if limit := 63 - len(suffix) - 2; len(base) > limit {
		base = strings.TrimRight(base[:limit], "-")
	}
	return "t-" + base + suffix
}

// Stop shuts the server down, keeping its data for Start. Stop only
// servers from NewMinIO: a shared one serves other tests too.
func (s *MinIO) Stop(t testing.TB) {
	t.Helper()
	if err := s.srv.stop(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// Start starts a stopped server again on the same port and data.
func (s *MinIO) Start(t testing.TB) {
	t.Helper()
	if err := s.srv.start(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// minioBinary finds minio in $DBOPS_MINIO, PATH or $(go env GOPATH)/bin.
func minioBinary() (string, error) {
	if p := os.Getenv("DBOPS_MINIO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("DBOPS_MINIO=%s: %w", p, err)
		}
		return p, nil
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	p, err := lookPath([]string{"minio"}, dirs)
	if err != nil {
		return "", fmt.Errorf("MinIO server not found (%w): install it with `make deps` (go install github.com/minio/minio@<pinned version>) or set DBOPS_MINIO", err)
	}
	return p, nil
}

func startMinIO(opts []MinIOOption) (*MinIO, func() error, error) {
	var cfg minIOConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin, err := minioBinary()
	if err != nil {
		return nil, nil, err
	}
	dir, err := serverDir("dbops-minio-*", nil)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing MinIO: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &MinIO{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AccessKey: "dbopstest",
		SecretKey: hex.EncodeToString(secret),
		Dir:       dir,
		TLS:       cfg.tls,
	}
	certs := filepath.Join(dir, "certs")
	scheme := "http"
	if cfg.tls {
		scheme = "https"
		s.CAFile = filepath.Join(dir, "ca.crt")
		if err := writeTestCerts(s.CAFile, filepath.Join(certs, "public.crt"), filepath.Join(certs, "private.key")); err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("preparing MinIO with TLS: %w", err)
		}
	}
	client, err := s.client()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	tr, err := s.transport()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	httpClient := &http.Client{Transport: tr}
	live := scheme + "://" + s.Endpoint + "/minio/health/live"
	s.srv = &server{
		name: "MinIO on " + s.Endpoint,
		dir:  dir,
		command: command{
			path: bin,
			args: []string{"server", filepath.Join(dir, "data"),
				"--address", s.Endpoint,
				"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(consolePort)),
				// Not ~/.minio/certs: TLS only WithTLS, with our certificate.
				"--certs-dir", certs,
				"--quiet"},
			env: []string{
				"MINIO_ROOT_USER=" + s.AccessKey,
				"MINIO_ROOT_PASSWORD=" + s.SecretKey,
				"MINIO_BROWSER=off",
				"MINIO_UPDATE=off",
			},
			dir: dir, logPath: filepath.Join(dir, "minio.log"),
		},
		stopSig: syscall.SIGTERM,
		probe: func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, live, nil)
			if err != nil {
				return err
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", live, resp.Status)
			}
			// Live is not quite ready for requests; an authenticated call is.
			_, err = client.ListBuckets(ctx)
			return err
		},
	}
	if err := s.srv.start(); err != nil {
		s.srv.close()
		return nil, nil, err
	}
	return s, s.srv.close, nil
}
