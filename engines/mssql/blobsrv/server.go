package blobsrv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// apiVersion is the x-ms-version the listener answers with when the client
// sends none.
const apiVersion = "2021-12-02"

// Options configures a Server.
type Options struct {
	// URL is how SQL Server reaches the listener, https://HOST (SQL Server
	// connects to port 443 only, and to a host name, not an address); blob
	// URLs are URL/CONTAINER/BLOB. HOST must be a name the server's
	// certificate is issued for.
	URL string
	// Account is the account name SAS signatures are computed over
	// ("dbopsd" when empty).
	Account string
	// Key is the account key SAS signatures are made with; a random one
	// when nil (signatures then do not outlive the process, which is the
	// point: a credential left behind on the SQL Server is useless).
	Key    []byte
	Logger hclog.Logger
	// Now is the clock the SAS validity is checked against (time.Now when
	// nil).
	Now func() time.Time
}

// Server serves the containers of running backups and restores. It is an
// http.Handler; Run serves it over HTTPS. It is safe for concurrent use.
type Server struct {
	url     string
	account string
	key     []byte
	log     hclog.Logger
	now     func() time.Time

	mu         sync.Mutex
	containers map[string]*Container
}

var _ http.Handler = (*Server)(nil)

// New returns a Server with no containers.
func New(opts Options) *Server {
	s := &Server{url: strings.TrimRight(opts.URL, "/"), account: opts.Account, key: opts.Key, log: opts.Logger, now: opts.Now,
		containers: map[string]*Container{}}
	if s.account == "" {
		s.account = "dbopsd"
	}
	if s.key == nil {
		s.key = make([]byte, 32)
		rand.Read(s.key)
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// URL is the listener's base URL, as Options gave it.
func (s *Server) URL() string { return s.url }

// Run serves s over HTTPS on addr until ctx is cancelled, then closes the
// listener and waits up to a minute for requests in flight. getCert gives
// the certificate for each handshake (so a renewed one is served without
// a restart). When ready is not nil, Run sends it the outcome of opening
// the port (nil: listening) before serving.
func (s *Server) Run(ctx context.Context, addr string, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), ready chan<- error) error {
	ln, err := net.Listen("tcp", addr)
	if ready != nil {
		ready <- err
	}
	if err != nil {
		return fmt.Errorf("blob listener: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         &tls.Config{GetCertificate: getCert, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return fmt.Errorf("blob listener on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("blob listener on %s: %w", addr, err)
	}
	return nil
}

func (s *Server) register(c *Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.containers[c.name] = c
}

func (s *Server) unregister(c *Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.containers[c.name] == c {
		delete(s.containers, c.name)
	}
}

// newContainerName returns a fresh container name (Azure's rules: lower
// case letters, digits and hyphens, 3 to 63 characters).
func newContainerName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// operation is one kind of request, with the permissions that allow it.
type operation struct {
	name string
	need string // any of these SAS permission letters
	fn   func(c *Container, w http.ResponseWriter, r *http.Request, blob string)
}

var (
	opPutBlock      = operation{"Put Block", PermWrite, (*Container).putBlock}
	opPutBlockList  = operation{"Put Block List", PermWrite, (*Container).putBlockList}
	opPutBlob       = operation{"Put Blob", PermWrite + PermCreate, (*Container).putBlob}
	opLease         = operation{"Lease Blob", PermWrite + PermRead, (*Container).lease}
	opGetBlockList  = operation{"Get Block List", PermRead + PermWrite, (*Container).getBlockList}
	opGetProperties = operation{"Get Blob Properties", PermRead, (*Container).getProperties}
	opGetBlob       = operation{"Get Blob", PermRead, (*Container).getBlob}
	opDeleteBlob    = operation{"Delete Blob", PermDelete, (*Container).deleteBlob}
	opListBlobs     = operation{"List Blobs", PermList, (*Container).listBlobs}
	opContainer     = operation{"Get Container Properties", PermRead + PermList, (*Container).containerProperties}
)

func route(r *http.Request, blob string) (operation, bool) {
	q := r.URL.Query()
	comp, restype := q.Get("comp"), q.Get("restype")
	if blob == "" {
		switch {
		case restype == "container" && comp == "list" && r.Method == http.MethodGet:
			return opListBlobs, true
		case restype == "container" && comp == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			return opContainer, true
		}
		return operation{}, false
	}
	switch {
	case r.Method == http.MethodPut && comp == "block":
		return opPutBlock, true
	case r.Method == http.MethodPut && comp == "blocklist":
		return opPutBlockList, true
	case r.Method == http.MethodGet && comp == "blocklist":
		return opGetBlockList, true
	case r.Method == http.MethodPut && comp == "lease":
		return opLease, true
	case r.Method == http.MethodPut && comp == "":
		return opPutBlob, true
	case r.Method == http.MethodHead && comp == "":
		return opGetProperties, true
	case r.Method == http.MethodGet && comp == "":
		return opGetBlob, true
	case r.Method == http.MethodDelete && comp == "":
		return opDeleteBlob, true
	}
	return operation{}, false
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("x-ms-request-id", requestID())
	if v := r.Header.Get("x-ms-version"); v != "" {
		h.Set("x-ms-version", v)
	} else {
		h.Set("x-ms-version", apiVersion)
	}
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}

	container, blob, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op, ok := route(r, blob)
	if !ok {
		writeError(w, r, http.StatusBadRequest, "UnsupportedOperation", fmt.Sprintf("%s %s: not an operation this listener serves", r.Method, r.URL.Path))
		return
	}
	if err := s.checkSAS(r.URL.Query(), container, blob, op.need, s.now(), r.TLS != nil); err != nil {
		code := errAuth.Error()
		if errors.Is(err, errPerm) {
			code = errPerm.Error()
		}
		s.log.Warn("request refused", "operation", op.name, "container", container, "blob", blob, "remote", r.RemoteAddr, "error", err)
		writeError(w, r, http.StatusForbidden, code, err.Error())
		return
	}
	s.mu.Lock()
	c := s.containers[container]
	s.mu.Unlock()
	if c == nil || !c.enter() {
		writeError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	defer c.leave()
	s.log.Trace("request", "operation", op.name, "container", container, "blob", blob)
	op.fn(c, w, r, blob)
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeError answers as Azure does: the code in x-ms-error-code and an XML
// body (none for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>", code, xmlEscape(msg))
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// BlobURL is the URL of blob in container, without a SAS.
func (s *Server) BlobURL(container, blob string) string {
	return s.url + "/" + container + "/" + (&url.URL{Path: blob}).EscapedPath()
}
