package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/dbopsd/dbopsd/storage"
)

// DefaultPartSize is the multipart part size when Options.PartSize is 0. An
// upload of unknown size holds one part in memory.
const DefaultPartSize = 16 << 20

// minPartSize is the smallest part S3 accepts (except the last).
const minPartSize = 5 << 20

// Options say where the bucket is and how to reach it.
type Options struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	Prefix    string // prepended to every key, as a "directory": "site1" stores "site1/<key>"
	Region    string // may be empty for MinIO
	AccessKey string
	SecretKey string
	UseTLS    bool
	// CAFile is a PEM file of CA certificates trusted for the endpoint, in
	// addition to the system's (UseTLS only).
	CAFile string
	// PartSize is the multipart part size, at least 5 MiB; 0 means
	// DefaultPartSize.
	PartSize uint64
}

// Store is a bucket (under a prefix) as storage.Storage.
type Store struct {
	client   *minio.Client
	endpoint string
	bucket   string
	prefix   string // "" or ends in '/'
	partSize uint64
	secret   string // only to scrub it from error messages
	// lock: the bucket has object lock, so RetainUntil is honoured.
	lock bool
	// versioned: Delete must remove versions, not add a delete marker.
	versioned bool
}

var _ storage.Storage = (*Store)(nil)

// New connects to the bucket described by opts and checks that it exists.
// Whether the bucket has object lock and versioning is read once, here.
func New(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{
		endpoint: opts.Endpoint,
		bucket:   opts.Bucket,
		partSize: opts.PartSize,
		secret:   opts.SecretKey,
	}
	if p := strings.Trim(opts.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	fail := func(err error) (*Store, error) {
		return nil, s.wrap("opening", "", err)
	}
	switch {
	case opts.Endpoint == "":
		return fail(errors.New("no endpoint given"))
	case strings.Contains(opts.Endpoint, "://"):
		return fail(errors.New("the endpoint is host:port without a scheme; set UseTLS for https"))
	case opts.Bucket == "":
		return fail(errors.New("no bucket given"))
	case opts.CAFile != "" && !opts.UseTLS:
		return fail(errors.New("a CA file is set but UseTLS is not"))
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.partSize < minPartSize {
		return fail(fmt.Errorf("part size %d is below the S3 minimum of 5 MiB", s.partSize))
	}
	if s.prefix != "" {
		if err := storage.CheckKey(strings.TrimSuffix(s.prefix, "/")); err != nil {
			return fail(fmt.Errorf("prefix: %w", err))
		}
	}

	tr, err := minio.DefaultTransport(opts.UseTLS)
	if err != nil {
		return fail(fmt.Errorf("building the HTTP transport: %w", err))
	}
	// Fail over to the retry decorator quickly when the endpoint is down.
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return fail(fmt.Errorf("reading CA file: %w", err))
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fail(fmt.Errorf("CA file %s holds no PEM certificate", opts.CAFile))
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	s.client, err = minio.New(opts.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:       opts.UseTLS,
		Transport:    tr,
		Region:       opts.Region,
		BucketLookup: minio.BucketLookupPath,
		// One attempt: retries belong to storage.WithRetry, which knows
		// which operations can be repeated; two layers of retries would
		// multiply and hide an outage for minutes.
		MaxRetries: 1,
	})
	if err != nil {
		return fail(fmt.Errorf("creating the client: %w", err))
	}

	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fail(err)
	}
	if !exists {
		return fail(fmt.Errorf("bucket %q does not exist", s.bucket))
	}
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	switch {
	case err == nil:
		s.lock = enabled == "Enabled"
	case errorCode(err) == "ObjectLockConfigurationNotFoundError":
	default:
		// Not allowed to ask: send retention when asked to, and let the
		// server refuse it if the bucket cannot hold it.
		s.lock = true
	}
	v, err := s.client.GetBucketVersioning(ctx, s.bucket)
	// When in doubt, treat the bucket as versioned: deleting by version
	// works on both kinds.
	s.versioned = err != nil || v.Status != "" || s.lock
	return s, nil
}

// String names the store without credentials: s3://endpoint/bucket/prefix.
func (s *Store) String() string {
	return strings.TrimSuffix("s3://"+s.endpoint+"/"+s.bucket+"/"+s.prefix, "/")
}

func (s *Store) name(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", fmt.Errorf("s3 storage %s: %w", s, err)
	}
	return s.prefix + key, nil
}

// Put uploads r; S3 makes the object visible only when the upload
// completes. Of unknown size, r is sent in parts of PartSize, one in memory
// at a time.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	po := minio.PutObjectOptions{
		PartSize:    s.partSize,
		ContentType: "application/octet-stream",
	}
	if !opts.RetainUntil.IsZero() && s.lock {
		// COMPLIANCE, not GOVERNANCE: governance retention can be lifted by
		// anyone holding s3:BypassGovernanceRetention (the MinIO root user
		// does), so stolen admin credentials or ransomware could still wipe
		// the backups. Compliance retention cannot be shortened or removed
		// by anyone until it expires, which is the point of locking backups.
		po.Mode = minio.Compliance
		po.RetainUntilDate = opts.RetainUntil.UTC()
	}
	src := &sourceReader{r: r}
	_, err = s.client.PutObject(ctx, s.bucket, name, src, size, po)
	if err != nil {
		if src.err != nil {
			// The data source failed, not the storage: no retry can help.
			return fmt.Errorf("storing %q in %s: reading the data: %w", key, s, src.err)
		}
		return s.wrap("storing", key, err)
	}
	return nil
}

// sourceReader remembers the caller's reader's error, to tell it apart from
// a storage error.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// Get opens the object. The first request is made here, so that a missing
// object is reported by Get, not by the first Read.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap("getting", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s.wrap("getting", key, err)
	}
	return &object{obj: obj, s: s, key: key}, nil
}

// object classifies errors met while reading, so a dropped connection
// mid-stream is transient too.
type object struct {
	obj *minio.Object
	s   *Store
	key string
}

func (o *object) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && err != io.EOF {
		err = o.s.wrap("reading", o.key, err)
	}
	return n, err
}

func (o *object) Close() error { return o.obj.Close() }

// Stat asks for the object's metadata.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	name, err := s.name(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, s.wrap("checking", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// List relies on S3 listing keys in UTF-8 byte order, which is Go's string
// order.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	}) {
		if oi.Err != nil {
			return s.wrap("listing", prefix, oi.Err)
		}
		if strings.HasSuffix(oi.Key, "/") {
			continue // a "folder" made by a console, not an object
		}
		if err := fn(storage.ObjectInfo{
			Key:     strings.TrimPrefix(oi.Key, s.prefix),
			Size:    oi.Size,
			ModTime: oi.LastModified,
		}); err != nil {
			return err
		}
	}
	// The iterator ends silently when ctx is cancelled.
	if err := ctx.Err(); err != nil {
		return s.wrap("listing", prefix, err)
	}
	return nil
}

// Delete removes the object. In a versioned bucket (always so under object
// lock) it removes every version of the key: a plain DELETE would only add a
// delete marker, keeping the data and ignoring retention. A version that
// object lock keeps makes Delete fail with a *storage.RetentionError that
// carries the version's retain-until date and legal hold, read from S3.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if !s.versioned {
		err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
		switch {
		case err == nil || errorCode(err) == "NoSuchKey":
			return nil
		case isRetained(err):
			return s.deleteError(ctx, key, name, []string{""}, []error{err}, nil)
		}
		return s.wrap("deleting", key, err)
	}
	var retained, failed []error
	var retainedVersions []string
	for v := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:       name,
		Recursive:    true,
		WithVersions: true,
	}) {
		if v.Err != nil {
			return s.wrap("deleting", key, v.Err)
		}
		if v.Key != name {
			if v.Key > name {
				break // listed in key order: no more versions of name
			}
			continue
		}
		err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: v.VersionID})
		switch {
		case err == nil || errorCode(err) == "NoSuchKey" || errorCode(err) == "NoSuchVersion":
		case isRetained(err):
			retained = append(retained, err)
			retainedVersions = append(retainedVersions, v.VersionID)
		default:
			failed = append(failed, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return s.wrap("deleting", key, err)
	}
	return s.deleteError(ctx, key, name, retainedVersions, retained, failed)
}

// isRetained reports whether S3 refused to delete because of object lock.
func isRetained(err error) bool {
	class, _ := classify(err)
	return class == storage.ErrRetained
}

// deleteError is the error of a Delete that left versions behind: those
// object lock keeps (retained, with their version ids) and those that
// failed for another reason. Any other failure wins, as a retry may
// help it; only a Delete refused by retention alone is a RetentionError.
func (s *Store) deleteError(ctx context.Context, key, name string, versions []string, retained, failed []error) error {
	switch {
	case len(failed) > 0:
		return s.wrap("deleting", key, errors.Join(append(failed, retained...)...))
	case len(retained) == 0:
		return nil
	}
	err := s.wrap("deleting", key, errors.Join(retained...))
	if !errors.Is(err, storage.ErrRetained) {
		return err
	}
	re := &storage.RetentionError{Key: key, Err: err}
	// Ask for the dates: the refusal does not carry them. Best effort, as
	// the refusal stands whatever the answer.
	for _, vid := range versions {
		if _, until, err := s.client.GetObjectRetention(ctx, s.bucket, name, vid); err == nil && until != nil && until.After(re.Until) {
			re.Until = *until
		}
		if st, err := s.client.GetObjectLegalHold(ctx, s.bucket, name, minio.GetObjectLegalHoldOptions{VersionID: vid}); err == nil &&
			st != nil && *st == minio.LegalHoldEnabled {
			re.LegalHold = true
		}
	}
	return re
}
