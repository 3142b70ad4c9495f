package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/storage"
)

// s3Error is an error of the store: a message that names the operation,
// key and store (never the secret), the class storage callers test for with
// errors.Is, and the cause.
type s3Error struct {
	msg   string
	class error // storage.ErrNotExist, storage.ErrRetained, fault.ErrTransient, fault.ErrPermanent or nil
	cause error
}

func (e *s3Error) Error() string { return e.msg }

func (e *s3Error) Unwrap() []error {
	if e.class != nil {
		return []error{e.class, e.cause}
	}
	return []error{e.cause}
}

// wrap classifies err from an operation ("storing") on key.
func (s *Store) wrap(op, key string, err error) error {
	class, detail := classify(err)
	what := op
	if key != "" {
		what = fmt.Sprintf("%s %q in", op, key)
	}
	msg := fmt.Sprintf("%s %s: %s", what, s, detail)
	if s.secret != "" {
		msg = strings.ReplaceAll(msg, s.secret, "[secret]")
	}
	return &s3Error{msg: msg, class: class, cause: err}
}

// errorCode is the S3 error code in err, or "".
func errorCode(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// transientCodes are S3 error codes worth a retry whatever their status.
var transientCodes = map[string]bool{
	"InternalError":              true,
	"RequestTimeout":             true,
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"RequestThrottled":           true,
	"XMinioServerNotInitialized": true,
	"XMinioReadQuorum":           true,
	"XMinioWriteQuorum":          true,
}

// classify says whether err means a missing object, a passing trouble or a
// lasting one (the retry classes of internal/fault), and describes it for
// an operator.
func classify(err error) (class error, detail string) {
	var resp minio.ErrorResponse
	switch {
	case errors.Is(err, context.Canceled):
		return nil, "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return fault.ErrTransient, "timed out"
	case errors.As(err, &resp):
		detail = fmt.Sprintf("%s (%s, HTTP %d)", strings.TrimSuffix(resp.Message, "."), resp.Code, resp.StatusCode)
		if resp.Message == "" {
			detail = fmt.Sprintf("%s (HTTP %d)", resp.Code, resp.StatusCode)
		}
		switch {
		case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion":
			return storage.ErrNotExist, storage.ErrNotExist.Error()
		case resp.Code == "NoSuchBucket":
			return fault.ErrPermanent, "the bucket does not exist: " + detail
		case isRetentionRefusal(resp):
			return storage.ErrRetained, "the object is under retention (object lock): " + detail
		case resp.Code == "SignatureDoesNotMatch" || resp.Code == "InvalidAccessKeyId":
			return fault.ErrPermanent, "access denied, check the access key and secret key: " + detail
		case resp.Code == "AccessDenied" || resp.StatusCode == http.StatusForbidden:
			return fault.ErrPermanent, "access denied: " + detail
		case transientCodes[resp.Code] || resp.StatusCode >= 500 ||
			resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
			return fault.ErrTransient, detail
		}
		return nil, detail
	case isTLSVerifyError(err):
		return fault.ErrPermanent, "TLS certificate not trusted (set the CA file?): " + err.Error()
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fault.ErrPermanent, "TLS is on but the endpoint speaks plain HTTP: " + err.Error()
	case isNetError(err):
		return fault.ErrTransient, "cannot reach the endpoint: " + err.Error()
	}
	return nil, err.Error()
}

// isRetentionRefusal reports whether S3 refused an operation because of
// object lock. MinIO answers "Object is WORM protected and cannot be
// overwritten" (InvalidRequest); AWS answers AccessDenied "because object
// protected by object lock"; some others use the code ObjectLocked.
func isRetentionRefusal(resp minio.ErrorResponse) bool {
	msg := strings.ToLower(resp.Message)
	return resp.Code == "ObjectLocked" || strings.Contains(msg, "worm protected") ||
		strings.Contains(msg, "protected by object lock")
}

func isTLSVerifyError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verify)
}

// isNetError reports connection failures: refused, reset, timed out, closed
// mid-answer. (A *url.Error is a net.Error, which covers what the HTTP client
// reports.)
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
