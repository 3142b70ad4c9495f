package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/schedule"
)

// TestPanicRecorded: a job that panics after recording its start is marked
// failed in the catalog with the panic; one that panics before gets a
// failed row of its own. The registry returns the panic as the error.
func TestPanicRecorded(t *testing.T) {
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	r := NewRegistry(func() *Env { return &Env{Config: &config.Config{}, Catalog: cat, Logger: hclog.NewNullLogger()} }, hclog.NewNullLogger())
	if err := r.Register(Kind{Name: "diagnose", Run: func(ctx context.Context, env *Env, t *schedule.Task) error {
		if _, err := env.Catalog.StartJob(ctx, catalog.Job{Kind: "diagnose", Database: t.Database, Trigger: t.Trigger}); err != nil {
			return err
		}
		var m map[string]int
		m["x"]++ // a nil map: panics
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Kind{Name: "report", Run: func(context.Context, *Env, *schedule.Task) error { panic("template missing") }}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Kind{Name: "report", Run: func(context.Context, *Env, *schedule.Task) error { return nil }}); err == nil {
		t.Error("a kind was registered twice")
	}
	err = r.Run(context.Background(), &schedule.Task{Kind: "diagnose", Database: "queue", Trigger: schedule.TriggerSchedule})
	if err == nil || !strings.Contains(err.Error(), "diagnose of queue panicked: assignment to entry in nil map") {
		t.Errorf("diagnose: %v", err)
	}
	err = r.Run(context.Background(), &schedule.Task{Kind: "report", Trigger: schedule.TriggerSchedule})
	if err == nil || !strings.Contains(err.Error(), "report of the repository panicked: template missing") {
		t.Errorf("report: %v", err)
	}
	jobs, _ := cat.Jobs(context.Background(), catalog.JobFilter{})
	if len(jobs) != 2 {
		t.Fatalf("%d jobs recorded, want 2: %+v", len(jobs), jobs)
	}
	for _, j := range jobs {
		if j.Status != catalog.StatusFailed || !strings.Contains(j.Error, "panicked") || j.FinishedAt.IsZero() {
			t.Errorf("job %+v", j)
		}
	}
	if err := r.Run(context.Background(), &schedule.Task{Kind: "nope"}); err == nil || Transient(err) {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestSdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	if err := sdNotify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := conn.ReadFromUnix(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("got %q, %v", buf[:n], err)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without systemd: %v", err)
	}
}

func TestHeartbeat(t *testing.T) {
	dir := t.TempDir()
	if !readHeartbeat(dir).IsZero() {
		t.Error("a heartbeat without a file")
	}
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- heartbeat(ctx, clock, dir, time.Minute, func(err error) { t.Error(err) }) }()
	_ = clock.BlockUntilContext(ctx, 1)
	clock.Advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for !readHeartbeat(dir).Equal(clock.Now()) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := readHeartbeat(dir); !got.Equal(clock.Now()) {
		t.Errorf("heartbeat %s, want %s", got, clock.Now())
	}
	cancel()
	<-done
	if fi, err := os.Stat(filepath.Join(dir, HeartbeatFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("heartbeat file: %v %v", fi, err)
	}
}

// TestAttemptRecorded: the rows a task records, itself or through a
// library that knows nothing of retries, carry the task's attempt; so do
// the rows the registry writes for a panic.
func TestAttemptRecorded(t *testing.T) {
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	r := NewRegistry(func() *Env { return &Env{Config: &config.Config{}, Catalog: cat, Logger: hclog.NewNullLogger()} }, hclog.NewNullLogger())
	// A library runner: it records its job with no attempt of its own.
	library := func(ctx context.Context, env *Env, t *schedule.Task) error {
		_, err := env.Catalog.RecordJob(ctx, catalog.Job{Kind: "report", Database: t.Database, Trigger: t.Trigger}, nil)
		return err
	}
	if err := r.Register(Kind{Name: "report", Run: library}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Kind{Name: "diagnose", Run: func(context.Context, *Env, *schedule.Task) error { panic("boom") }}); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*schedule.Task{
		{Kind: "report", Database: "queue", Trigger: schedule.TriggerSchedule, Attempt: 1},
		{Kind: "report", Database: "queue", Trigger: schedule.TriggerSchedule, Attempt: 2},
		{Kind: "diagnose", Database: "queue", Trigger: schedule.TriggerSchedule, Attempt: 3},
	} {
		_ = r.Run(context.Background(), task)
	}
	jobs, err := cat.Jobs(context.Background(), catalog.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, fmt.Sprintf("%s#%d/%s", j.Kind, j.Attempt, j.Status))
	}
	if want := "report#1/ok report#2/ok diagnose#3/failed"; strings.Join(got, " ") != want {
		t.Errorf("job log: %s, want %s", strings.Join(got, " "), want)
	}
}
