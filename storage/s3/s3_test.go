package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/storagetest"
)

func TestMain(m *testing.M) { harness.Main(m) }

func options(srv *harness.MinIO, bucket, prefix string) Options {
	return Options{
		Endpoint:  srv.Endpoint,
		Bucket:    bucket,
		Prefix:    prefix,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		UseTLS:    srv.TLS,
		CAFile:    srv.CAFile,
		PartSize:  5 << 20, // small parts: the 20 MiB objects go multipart
	}
}

func open(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := harness.SharedMinIO(t)
	t.Run("NoPrefix", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Storage {
			return open(t, options(srv, srv.Bucket(t), ""))
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Storage {
			bucket := srv.Bucket(t)
			// A neighbour outside the prefix must stay invisible.
			if _, err := srv.Client(t).PutObject(t.Context(), bucket, "site1-other/x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			return open(t, options(srv, bucket, "site1"))
		})
	})
	t.Run("ObjectLockBucket", func(t *testing.T) {
		storagetest.RunWith(t, storagetest.Features{ObjectLock: true}, func(t *testing.T) storage.Storage {
			return open(t, options(srv, srv.BucketWithLock(t), ""))
		})
	})
}

func TestPrefixLayout(t *testing.T) {
	srv := harness.SharedMinIO(t)
	bucket := srv.Bucket(t)
	s := open(t, options(srv, bucket, "/site1/"))
	if err := s.Put(t.Context(), "data/k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client(t).StatObject(t.Context(), bucket, "site1/data/k", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object not at site1/data/k: %v", err)
	}
	want := "s3://" + srv.Endpoint + "/" + bucket + "/site1"
	if s.String() != want {
		t.Fatalf("String() = %q, want %q", s.String(), want)
	}
}

func TestTLS(t *testing.T) {
	srv := harness.NewMinIO(t, harness.WithTLS())
	bucket := srv.Bucket(t)
	s := open(t, options(srv, bucket, ""))
	if err := s.Put(t.Context(), "k", strings.NewReader("over tls"), 8, storage.PutOptions{}); err != nil {
		t.Fatalf("Put over TLS: %v", err)
	}

	t.Run("without the CA", func(t *testing.T) {
		opts := options(srv, bucket, "")
		opts.CAFile = ""
		_, err := New(t.Context(), opts)
		if err == nil || fault.IsTransient(err) || !strings.Contains(err.Error(), "TLS certificate not trusted") {
			t.Fatalf("New without the CA = %v, want a permanent TLS trust error", err)
		}
		t.Logf("%v", err)
	})
	t.Run("plain HTTP to a TLS server", func(t *testing.T) {
		opts := options(srv, bucket, "")
		opts.UseTLS, opts.CAFile = false, ""
		_, err := New(t.Context(), opts)
		if err == nil {
			t.Fatalf("plain HTTP to a TLS endpoint worked")
		}
		t.Logf("%v", err)
	})
}

func checkNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error carries the secret key: %v", err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	const secret = "do-not-print-this-secret"
	// A port nothing listens on: refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()

	// A port that accepts and never answers: only a timeout ends it.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	for _, tc := range []struct {
		name, endpoint string
		timeout        time.Duration
	}{
		{"refused", refused, 10 * time.Second},
		{"silent", silent.Addr().String(), time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			start := time.Now()
			_, err := New(ctx, Options{Endpoint: tc.endpoint, Bucket: "backups", AccessKey: "ak", SecretKey: secret})
			took := time.Since(start)
			if err == nil {
				t.Fatalf("New on %s succeeded", tc.endpoint)
			}
			if !fault.IsTransient(err) {
				t.Errorf("error is not transient: %v", err)
			}
			if !strings.Contains(err.Error(), tc.endpoint) {
				t.Errorf("error does not name the endpoint %s: %v", tc.endpoint, err)
			}
			checkNoSecret(t, err, secret)
			if took > tc.timeout+2*time.Second || (tc.name == "refused" && took > 2*time.Second) {
				t.Errorf("took %s to fail", took)
			}
			t.Logf("%s after %s: %v", tc.name, took.Round(time.Millisecond), err)
		})
	}
}

func TestServerGoesDown(t *testing.T) {
	srv := harness.NewMinIO(t)
	s := open(t, options(srv, srv.Bucket(t), ""))
	if err := s.Put(t.Context(), "k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)

	start := time.Now()
	for name, op := range map[string]func() error{
		"Put":    func() error { return s.Put(t.Context(), "k2", strings.NewReader("v"), 1, storage.PutOptions{}) },
		"Get":    func() error { _, err := s.Get(t.Context(), "k"); return err },
		"Stat":   func() error { _, err := s.Stat(t.Context(), "k"); return err },
		"List":   func() error { return s.List(t.Context(), "", func(storage.ObjectInfo) error { return nil }) },
		"Delete": func() error { return s.Delete(t.Context(), "k") },
	} {
		err := op()
		if !fault.IsTransient(err) {
			t.Errorf("%s on a stopped server = %v, want a transient error", name, err)
		}
		if err != nil {
			checkNoSecret(t, err, srv.SecretKey)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("failing five operations took %s", took)
	}

	// With retries, a Put issued while the server is down succeeds once
	// it is back.
	retried := storage.WithRetry(s, 8, nil)
	body := bytes.Repeat([]byte("r"), 1000)
	done := make(chan error, 1)
	go func() {
		done <- retried.Put(t.Context(), "after-outage", bytes.NewReader(body), int64(len(body)), storage.PutOptions{})
	}()
	time.Sleep(500 * time.Millisecond)
	srv.Start(t)
	if err := <-done; err != nil {
		t.Fatalf("Put with retry across a restart: %v", err)
	}
	if oi, err := s.Stat(t.Context(), "after-outage"); err != nil || oi.Size != 1000 {
		t.Fatalf("Stat after outage = %+v, %v", oi, err)
	}
}

func TestBadCredentials(t *testing.T) {
	srv := harness.SharedMinIO(t)
	bucket := srv.Bucket(t)
	const wrong = "wrong-secret-key-1234"
	for _, tc := range []struct {
		name       string
		access     string
		secret     string
		wantInText string
	}{
		{"wrong secret", srv.AccessKey, wrong, "check the access key and secret key"},
		{"unknown access key", "nobody", wrong, "check the access key and secret key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(srv, bucket, "")
			opts.AccessKey, opts.SecretKey = tc.access, tc.secret
			_, err := New(t.Context(), opts)
			if err == nil {
				t.Fatalf("New with a %s succeeded", tc.name)
			}
			if fault.IsTransient(err) {
				t.Errorf("bad credentials reported as transient: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantInText) || !strings.Contains(err.Error(), srv.Endpoint) {
				t.Errorf("error %q does not say %q and name the endpoint", err, tc.wantInText)
			}
			checkNoSecret(t, err, tc.secret)
			checkNoSecret(t, err, srv.SecretKey)
			t.Logf("%v", err)
		})
	}
}

func TestMissingBucket(t *testing.T) {
	srv := harness.SharedMinIO(t)
	_, err := New(t.Context(), options(srv, "no-such-bucket-here", ""))
	if err == nil || fault.IsTransient(err) || !strings.Contains(err.Error(), `bucket "no-such-bucket-here" does not exist`) {
		t.Fatalf("New on a missing bucket = %v", err)
	}
	t.Logf("%v", err)
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no endpoint", Options{Bucket: "b"}, "no endpoint"},
		{"scheme", Options{Endpoint: "http://127.0.0.1:9000", Bucket: "b"}, "without a scheme"},
		{"no bucket", Options{Endpoint: "127.0.0.1:9000"}, "no bucket"},
		{"small parts", Options{Endpoint: "127.0.0.1:9000", Bucket: "b", PartSize: 1 << 20}, "5 MiB"},
		{"CA without TLS", Options{Endpoint: "127.0.0.1:9000", Bucket: "b", CAFile: "/x"}, "UseTLS"},
		{"missing CA file", Options{Endpoint: "127.0.0.1:9000", Bucket: "b", UseTLS: true, CAFile: "/nonexistent/ca.pem"}, "reading CA file"},
		{"bad prefix", Options{Endpoint: "127.0.0.1:9000", Bucket: "b", Prefix: "a/../b"}, "prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestObjectLock(t *testing.T) {
	srv := harness.SharedMinIO(t)
	bucket := srv.BucketWithLock(t)
	s := open(t, options(srv, bucket, "locked"))
	ctx := t.Context()
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := s.Put(ctx, "manifest", strings.NewReader("m"), 1, storage.PutOptions{RetainUntil: until}); err != nil {
		t.Fatalf("Put with retention: %v", err)
	}
	mode, date, err := srv.Client(t).GetObjectRetention(ctx, bucket, "locked/manifest", "")
	if err != nil {
		t.Fatalf("reading retention: %v", err)
	}
	if mode == nil || *mode != minio.Compliance || date == nil || !date.Equal(until) {
		t.Fatalf("retention = %v until %v, want COMPLIANCE until %v", mode, date, until)
	}

	err = s.Delete(ctx, "manifest")
	if err == nil {
		t.Fatalf("Delete of a retained object succeeded")
	}
	if fault.IsTransient(err) || !errors.Is(err, storage.ErrRetained) || !strings.Contains(err.Error(), "retention") {
		t.Errorf("Delete error = %v, want a permanent ErrRetained about retention", err)
	}
	// The date comes back from S3, which the refusal does not carry.
	if re, ok := errors.AsType[*storage.RetentionError](err); !ok || re.Key != "manifest" || !re.Until.Equal(until) || re.LegalHold {
		t.Errorf("Delete error = %#v, want a RetentionError for manifest until %v", err, until)
	}
	if !strings.Contains(err.Error(), until.UTC().Format(time.RFC3339)) || !strings.Contains(err.Error(), s.String()) {
		t.Errorf("Delete error %q does not give the date and the store", err)
	}
	checkNoSecret(t, err, srv.SecretKey)
	t.Logf("%v", err)
	rc, err := s.Get(ctx, "manifest")
	if err != nil {
		t.Fatalf("Get after a refused Delete: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "m" {
		t.Fatalf("retained object holds %q", b)
	}

	// A legal hold keeps an object without a date until it is lifted.
	if err := s.Put(ctx, "held", strings.NewReader("h"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	hold := func(st minio.LegalHoldStatus) {
		t.Helper()
		if err := srv.Client(t).PutObjectLegalHold(ctx, bucket, "locked/held", minio.PutObjectLegalHoldOptions{Status: &st}); err != nil {
			t.Fatal(err)
		}
	}
	hold(minio.LegalHoldEnabled)
	err = s.Delete(ctx, "held")
	if re, ok := errors.AsType[*storage.RetentionError](err); !ok || !re.LegalHold || !re.Until.IsZero() || !strings.Contains(err.Error(), "legal hold") {
		t.Errorf("Delete under a legal hold = %v, want a RetentionError with the hold", err)
	}
	hold(minio.LegalHoldDisabled)
	if err := s.Delete(ctx, "held"); err != nil {
		t.Fatalf("Delete once the legal hold is lifted: %v", err)
	}

	// Without retention, Delete removes every version, leaving nothing
	// behind a delete marker.
	for i := range 2 {
		if err := s.Put(ctx, "plain", strings.NewReader(strconv.Itoa(i)), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "plain"); err != nil {
		t.Fatalf("Delete of an unretained object: %v", err)
	}
	for v := range srv.Client(t).ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Prefix: "locked/plain", WithVersions: true}) {
		if v.Err != nil {
			t.Fatal(v.Err)
		}
		t.Errorf("version %s of %s (delete marker %v) left after Delete", v.VersionID, v.Key, v.IsDeleteMarker)
	}
}

func TestRetentionIgnoredWithoutLock(t *testing.T) {
	srv := harness.SharedMinIO(t)
	s := open(t, options(srv, srv.Bucket(t), ""))
	if err := s.Put(t.Context(), "k", strings.NewReader("v"), 1, storage.PutOptions{RetainUntil: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("Put with RetainUntil on a bucket without lock: %v", err)
	}
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, storage.ErrNotExist},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, fault.ErrTransient},
		{minio.ErrorResponse{Code: "SlowDownWrite", StatusCode: 503}, fault.ErrTransient},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 502}, fault.ErrTransient},
		{minio.ErrorResponse{Code: "TooMany", StatusCode: 429}, fault.ErrTransient},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, fault.ErrPermanent},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, fault.ErrPermanent},
		// MinIO, AWS and others refusing to delete a locked object.
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Object is WORM protected and cannot be overwritten", StatusCode: 400}, storage.ErrRetained},
		{minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied because object protected by object lock.", StatusCode: 403}, storage.ErrRetained},
		{minio.ErrorResponse{Code: "ObjectLocked", StatusCode: 409}, storage.ErrRetained},
		{context.DeadlineExceeded, fault.ErrTransient},
		{context.Canceled, nil},
		{io.ErrUnexpectedEOF, fault.ErrTransient},
		{errors.New("something else"), nil},
	} {
		got, _ := classify(tc.err)
		if got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
