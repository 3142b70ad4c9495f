package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/schedule"
)

type fakeBackend struct {
	who Caller
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
