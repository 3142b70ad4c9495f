package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/schedule"
)

// Backend is what the API serves; the daemon implements it.
type Backend interface {
	Status(ctx context.Context) (*Status, error)
	Run(ctx context.Context, r RunRequest, who Caller) (schedule.TaskInfo, error)
	Task(ctx context.Context, id int64) (schedule.TaskInfo, bool)
}

// Errors a Backend returns to get a 4xx answer.
var (
	ErrBadRequest = errors.New("bad request")
	ErrNotFound   = errors.New("not found")
)

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
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	mux := http.NewServeMux()
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		l.Close()
		return fmt.Errorf("serving the API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	l.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the API: %w", err)
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
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, schedule.ErrUnknown):
		code = http.StatusNotFound
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}
