package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/schedule"
)

type fakeBackend struct {
	who  Caller
	body int // bytes of the last request file received
}

func (f *fakeBackend) Status(context.Context) (*Status, error) {
	return &Status{Daemon: DaemonInfo{Version: "test", PID: os.Getpid()},
		Databases: []DatabaseStatus{{Name: "queue", Policy: "important", Critical: true}}}, nil
}

func (f *fakeBackend) Run(_ context.Context, r RunRequest, who Caller) (schedule.TaskInfo, error) {
	f.who = who
	if r.Database != "queue" {
		return schedule.TaskInfo{}, fmt.Errorf("database %q: %w", r.Database, schedule.ErrUnknown)
	}
	if r.Type != "full" {
		return schedule.TaskInfo{}, fmt.Errorf("%w: --type %q", ErrBadRequest, r.Type)
	}
	return schedule.TaskInfo{ID: 7, Kind: r.Type, Database: r.Database, State: schedule.StateQueued, OSUser: who.User}, nil
}

func (f *fakeBackend) Task(_ context.Context, id int64) (schedule.TaskInfo, bool) {
	if id != 7 {
		return schedule.TaskInfo{}, false
	}
	return schedule.TaskInfo{ID: 7, State: schedule.StateOK}, true
}

func (f *fakeBackend) SubmitRequest(_ context.Context, body io.Reader, who Caller) (RequestAccepted, error) {
	f.who = who
	b, err := io.ReadAll(body)
	if err != nil {
		return RequestAccepted{}, err
	}
	f.body = len(b)
	if string(b) != "good" {
		return RequestAccepted{}, &Refused{Reason: "approvals: a drill needs 1 approval(s)", Seq: 12}
	}
	return RequestAccepted{ID: "R1", State: RequestQueued, Task: schedule.TaskInfo{ID: 9, Kind: "drill", Ref: "R1"}}, nil
}

func (f *fakeBackend) Request(_ context.Context, id string) (RequestStatus, error) {
	if id != "R1" {
		return RequestStatus{}, fmt.Errorf("%w: no request %s", ErrNotFound, id)
	}
	return RequestStatus{ID: id, State: RequestRunning, Task: &schedule.TaskInfo{ID: 9, Bytes: 10, TotalBytes: 20}}, nil
}

func TestSocketAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "dbopsd.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the socket directory holds %d entries, want only the socket", len(entries))
	}
	// A second agent is refused.
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another dbopsd agent") {
		t.Errorf("second Listen: %v", err)
	}
	b := &fakeBackend{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, b, nil) }()

	c := NewClient(path)
	st, err := c.Status(ctx)
	if err != nil || st.Daemon.PID != os.Getpid() || st.Databases[0].Name != "queue" {
		t.Fatalf("status: %+v, %v", st, err)
	}
	ti, err := c.Run(ctx, RunRequest{Database: "queue", Type: "full"})
	if err != nil || ti.ID != 7 {
		t.Fatalf("run: %+v, %v", ti, err)
	}
	me, _ := user.Current()
	if b.who.UID != os.Getuid() || b.who.User != me.Username || ti.OSUser != me.Username {
		t.Errorf("caller %+v, want uid %d user %s", b.who, os.Getuid(), me.Username)
	}
	for _, tt := range []struct {
		req  RunRequest
		code int
	}{{RunRequest{Database: "nope", Type: "full"}, 404}, {RunRequest{Database: "queue", Type: "weekly"}, 400}} {
		_, err := c.Run(ctx, tt.req)
		var ae *Error
		if !errors.As(err, &ae) || ae.Code != tt.code {
			t.Errorf("run %+v: %v, want status %d", tt.req, err, tt.code)
		}
	}
	if ti, err := c.Task(ctx, 7); err != nil || ti.State != schedule.StateOK {
		t.Errorf("task 7: %+v, %v", ti, err)
	}
	if _, err := c.Task(ctx, 8); err == nil {
		t.Error("task 8 found")
	}

	// Signed requests: accepted, refused (403 with the reason), and a file
	// far over the size limit is cut at one byte past it.
	ra, err := c.SubmitRequest(ctx, []byte("good"))
	if err != nil || ra.ID != "R1" || ra.Task.Ref != "R1" || b.who.UID != os.Getuid() {
		t.Fatalf("submit: %+v, %v (caller %+v)", ra, err, b.who)
	}
	_, err = c.SubmitRequest(ctx, []byte("bad"))
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != 403 || ae.Refusal != "approvals: a drill needs 1 approval(s)" || ae.RegisterSeq != 12 ||
		err.Error() != "request refused: approvals: a drill needs 1 approval(s)" {
		t.Errorf("refused submit: %#v", err)
	}
	if _, err := c.SubmitRequest(ctx, bytes.Repeat([]byte("x"), 1<<20)); !errors.As(err, &ae) || ae.Code != 403 || b.body != request.MaxSize+1 {
		t.Errorf("huge submit: %v, the backend read %d bytes", err, b.body)
	}
	if rs, err := c.Request(ctx, "R1"); err != nil || rs.State != RequestRunning || rs.Task.TotalBytes != 20 || rs.Finished() {
		t.Errorf("request R1: %+v, %v", rs, err)
	}
	for id, code := range map[string]int{"R2": 404, "-x": 400, "a b": 400} {
		if _, err := c.Request(ctx, id); !errors.As(err, &ae) || ae.Code != code {
			t.Errorf("request %q: %v, want status %d", id, err, code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is still there after the server stopped: %v", err)
	}
	if _, err := NewClient(path).Status(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("status without a daemon: %v", err)
	}
}

// TestRequestRateLimit: each caller gets a burst of submissions, then one
// per interval; a caller over the limit does not hold back another.
func TestRequestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(3, 30*time.Second, func() time.Time { return now })
	for i := range 3 {
		if w := l.take("uid:1000"); w != 0 {
			t.Fatalf("submission %d waits %s", i+1, w)
		}
	}
	if w := l.take("uid:1000"); w != 30*time.Second {
		t.Errorf("fourth submission: wait %s, want 30s", w)
	}
	if w := l.take("uid:1001"); w != 0 {
		t.Errorf("another caller waits %s", w)
	}
	now = now.Add(20 * time.Second)
	if w := l.take("uid:1000"); w != 10*time.Second {
		t.Errorf("after 20s: wait %s, want 10s", w)
	}
	now = now.Add(10 * time.Second)
	if w := l.take("uid:1000"); w != 0 {
		t.Errorf("after 30s: wait %s", w)
	}

	// Over HTTP: 429 with Retry-After, and the backend never sees it.
	b := &fakeBackend{}
	h := handler(b, nil, newLimiter(1, time.Minute, time.Now))
	for i, want := range []int{202, 429} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/requests", strings.NewReader("good"))
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("submission %d: status %d, want %d: %s", i+1, rec.Code, want, rec.Body)
		}
		if want == 429 && (rec.Header().Get("Retry-After") != "60" || !strings.Contains(rec.Body.String(), "too many request submissions")) {
			t.Errorf("429 answer: %v %s", rec.Header(), rec.Body)
		}
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dbopsd.sock")
	// A socket file nobody listens on, as a crashed daemon leaves it.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	l2.Close()
	// A plain file is not touched.
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
}
