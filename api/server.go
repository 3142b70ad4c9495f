package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/schedule"
)

// Backend is what the API serves; the daemon implements it.
type Backend interface {
	Status(ctx context.Context) (*Status, error)
	Run(ctx context.Context, r RunRequest, who Caller) (schedule.TaskInfo, error)
	Task(ctx context.Context, id int64) (schedule.TaskInfo, bool)
	// SubmitRequest receives a signed request file (body holds at most
	// request.MaxSize+1 bytes of it) and queues its work, or returns a
	// *Refused saying why not.
	SubmitRequest(ctx context.Context, body io.Reader, who Caller) (RequestAccepted, error)
	// Request reports the request with this id; ErrNotFound when none
	// was ever received.
	Request(ctx context.Context, id string) (RequestStatus, error)
}

// Errors a Backend returns to get a 4xx answer.
var (
	ErrBadRequest = errors.New("bad request")
	ErrNotFound   = errors.New("not found")
	// ErrUnavailable: the daemon is stopping (503).
	ErrUnavailable = errors.New("unavailable")
)

// Refused is the error a Backend returns for a signed request it refused
// (403). The refusal is already in the restore register, at entry Seq.
type Refused struct {
	Reason string
	Seq    int64
}

func (e *Refused) Error() string { return "request refused: " + e.Reason }

// Request submissions are limited per caller (OS user): each one, even one
// refused, adds entries to the restore register, which only grows. A
// caller may send RequestBurst at once, then one every RequestEvery.
const (
	RequestBurst = 10
	RequestEvery = 30 * time.Second
)

// requestID is what a request id may look like in a URL (request.NewID
// makes "R20260301-101500-3f9a2c").
var requestID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

type callerKey struct{}

// Listen creates the socket at path with mode 0600: it is bound inside a
// fresh private directory and renamed into place, so it is never reachable
// with wider permissions. A stale socket left by a crashed daemon is
// replaced; a live one (another agent) is an error.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the socket directory %s: %w", dir, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("daemon.socket %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another dbopsd agent is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale socket %s: %w", path, err)
		}
	}
	tmpDir, err := os.MkdirTemp(dir, ".dbopsd-sock-")
	if err != nil {
		return nil, fmt.Errorf("creating the socket %s: %w", path, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("creating the socket %s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting the mode of the socket %s: %w", path, err)
	}
	// Not atomicfile: a socket has no content to fsync, and nothing needs
	// it to outlive a crash; the rename only makes it appear with its mode.
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("creating the socket %s: %w", path, err)
	}
	return &socket{UnixListener: ul, path: path}, nil
}

// socket removes its file when closed.
type socket struct {
	*net.UnixListener
	path string
}

func (s *socket) Close() error {
	err := s.UnixListener.Close()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// Handler serves the API for b.
func Handler(b Backend, logger hclog.Logger) http.Handler {
	return handler(b, logger, newLimiter(RequestBurst, RequestEvery, time.Now))
}

func handler(b Backend, logger hclog.Logger, limit *limiter) http.Handler {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	mux := http.NewServeMux()
	requestRoutes(mux, b, logger, limit)
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := b.Status(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /v1/run", func(w http.ResponseWriter, r *http.Request) {
		var req RunRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
			return
		}
		who, _ := r.Context().Value(callerKey{}).(Caller)
		logger.Info("run requested", "database", req.Database, "type", req.Type, "user", who.User, "uid", who.UID)
		ti, err := b.Run(r.Context(), req, who)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, ti)
	})
	mux.HandleFunc("GET /v1/tasks/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeError(w, fmt.Errorf("%w: task id %q", ErrBadRequest, r.PathValue("id")))
			return
		}
		ti, ok := b.Task(r.Context(), id)
		if !ok {
			writeError(w, fmt.Errorf("%w: task %d is not known (finished long ago, or from before a restart)", ErrNotFound, id))
			return
		}
		writeJSON(w, http.StatusOK, ti)
	})
	return mux
}

// RequestHandler serves only the routes of signed requests, POST
// /v1/requests and GET /v1/requests/{id}, with the same checks and limits
// as Handler; anything else is 404 (or 405). It is what the HTTPS listener
// exposes: the requests authenticate themselves by their signatures, the
// rest of the API trusts the socket's peer.
func RequestHandler(b Backend, logger hclog.Logger) http.Handler {
	return requestHandler(b, logger, newLimiter(RequestBurst, RequestEvery, time.Now))
}

func requestHandler(b Backend, logger hclog.Logger, limit *limiter) http.Handler {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	mux := http.NewServeMux()
	requestRoutes(mux, b, logger, limit)
	return mux
}

// requestRoutes adds the signed-request routes to mux.
func requestRoutes(mux *http.ServeMux, b Backend, logger hclog.Logger, limit *limiter) {
	mux.HandleFunc("POST /v1/requests", func(w http.ResponseWriter, r *http.Request) {
		who, _ := r.Context().Value(callerKey{}).(Caller)
		if wait := limit.take(who.limitKey()); wait > 0 {
			logger.Warn("request submission refused: too many from this caller", "user", who.User, "uid", who.UID, "remote", who.Remote, "retry_after", wait)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			writeJSON(w, http.StatusTooManyRequests, errorBody{Error: fmt.Sprintf(
				"too many request submissions from %s: at most %d at once, then one every %s; try again in %s",
				who.User, RequestBurst, RequestEvery, wait.Round(time.Second))})
			return
		}
		// The gate refuses (and records) a file over request.MaxSize; reading
		// one byte more is enough for it to tell.
		ti, err := b.SubmitRequest(r.Context(), io.LimitReader(r.Body, request.MaxSize+1), who)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, ti)
	})
	mux.HandleFunc("GET /v1/requests/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !requestID.MatchString(id) {
			writeError(w, fmt.Errorf("%w: request id %q", ErrBadRequest, id))
			return
		}
		st, err := b.Request(r.Context(), id)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}

// limiter is a token bucket per caller (Caller.limitKey).
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	now     func() time.Time
	buckets map[string]*bucket
}

// maxBuckets is how many callers the limiter remembers before it forgets
// those whose bucket has filled up again: an HTTPS listener meets many
// addresses.
const maxBuckets = 4096

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, every time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), every: every, now: now, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket and returns 0, or returns how long
// until a token is there.
func (l *limiter) take(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.every))
}

// forgetFull drops the buckets that have refilled: a caller coming back
// finds a full one anyway.
func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// Serve serves the API on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, b Backend, logger hclog.Logger) error {
	srv := &http.Server{
		Handler:           Handler(b, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			who := Caller{UID: -1, User: "unknown"}
			if uc, ok := c.(*net.UnixConn); ok {
				if uid, ok := peerUID(uc); ok {
					who = Caller{UID: uid, User: userName(uid)}
				}
			}
			return context.WithValue(ctx, callerKey{}, who)
		},
	}
	return serve(ctx, srv, l, func() error { return srv.Serve(l) }, "the API")
}

// The HTTPS listener's limits: anyone who reaches its port may talk to it.
// Bodies are cut by the routes themselves (a request file is read to at
// most request.MaxSize+1 bytes; GET has none).
const (
	httpsReadHeaderTimeout = 10 * time.Second
	httpsReadTimeout       = time.Minute     // the whole request, body included
	httpsWriteTimeout      = 2 * time.Minute // the gate may wait on the target server
	httpsIdleTimeout       = 2 * time.Minute
	httpsMaxHeaderBytes    = 16 << 10
)

// TLSConfig is the server side of the HTTPS listener: TLS 1.2 or later
// (Go's default cipher suites, all with forward secrecy), the certificate
// from getCert at each handshake, so that one reloaded on SIGHUP serves
// the next connection.
func TLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert}
}

// ServeHTTPS serves the request routes (RequestHandler) over TLS on l, a
// TCP listener, until ctx ends, then drains like Serve. The caller of
// each request is its remote address (Caller.Remote): submissions are
// limited per address, and the register records it as the source. TLS
// handshake failures (a client that does not trust the certificate, a
// scanner) are logged at debug level.
func ServeHTTPS(ctx context.Context, l net.Listener, b Backend, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), logger hclog.Logger) error {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	srv := &http.Server{
		Handler:           RequestHandler(b, logger),
		TLSConfig:         TLSConfig(getCert),
		ReadHeaderTimeout: httpsReadHeaderTimeout,
		ReadTimeout:       httpsReadTimeout,
		WriteTimeout:      httpsWriteTimeout,
		IdleTimeout:       httpsIdleTimeout,
		MaxHeaderBytes:    httpsMaxHeaderBytes,
		ErrorLog:          logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			remote := c.RemoteAddr().String()
			host, _, err := net.SplitHostPort(remote)
			if err != nil {
				host = remote
			}
			return context.WithValue(ctx, callerKey{}, Caller{UID: -1, User: "https:" + host, Remote: remote})
		},
	}
	// The certificate comes from TLSConfig.GetCertificate, not from files.
	return serve(ctx, srv, l, func() error { return srv.ServeTLS(l, "", "") }, "the HTTPS request listener")
}

// serve runs srv on l until ctx ends, then shuts it down, giving calls in
// progress 5 seconds.
func serve(ctx context.Context, srv *http.Server, l net.Listener, run func() error, what string) error {
	errc := make(chan error, 1)
	go func() { errc <- run() }()
	select {
	case err := <-errc:
		l.Close()
		return fmt.Errorf("serving %s: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	l.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping %s: %w", what, err)
	}
	return nil
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var refused *Refused
	if errors.As(err, &refused) {
		writeJSON(w, http.StatusForbidden, errorBody{Error: refused.Error(), Refusal: refused.Reason, RegisterSeq: refused.Seq})
		return
	}
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, schedule.ErrUnknown):
		code = http.StatusNotFound
	case errors.Is(err, ErrUnavailable):
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}
