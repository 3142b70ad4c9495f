package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/schedule"
)

// statusBackend answers GET /v1/status with a fixed status; nothing else.
type statusBackend struct{ st *api.Status }

var _ api.Backend = statusBackend{}

func (b statusBackend) Status(context.Context) (*api.Status, error) { return b.st, nil }
func (statusBackend) Run(context.Context, api.RunRequest, api.Caller) (schedule.TaskInfo, error) {
	return schedule.TaskInfo{}, errors.New("not in this test")
}
func (statusBackend) Task(context.Context, int64) (schedule.TaskInfo, bool) {
	return schedule.TaskInfo{}, false
}
func (statusBackend) SubmitRequest(context.Context, io.Reader, api.Caller) (api.RequestAccepted, error) {
	return api.RequestAccepted{}, errors.New("not in this test")
}
func (statusBackend) Request(context.Context, string) (api.RequestStatus, error) {
	return api.RequestStatus{}, api.ErrNotFound
}

// serveStatus serves st on a socket of its own, for --socket.
func serveStatus(t *testing.T, st *api.Status) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dbopsd.sock")
	l, err := api.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, l, statusBackend{st}, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return path
}

// TestStatusAttemptsAndRequestListener: dbopsd status shows a job's
// attempt only when it was retried, as dbopsd log does, and --json always
// has it; with the HTTPS request listener, its address and when its
// certificate expires, loud when that is within 14 days or past.
func TestStatusAttemptsAndRequestListener(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	started := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	status := func(certNotAfter time.Time) *api.Status {
		st := &api.Status{
			Daemon: api.DaemonInfo{Version: "test", PID: 42, Started: now.Add(-time.Hour), Now: now, Config: "/etc/dbopsd/config.hcl",
				ConfigLoaded: now.Add(-time.Hour), MaxParallel: 2, PerServer: 1, Timezone: "UTC"},
			Databases: []api.DatabaseStatus{{Name: "queue", Engine: "postgres", Policy: "standard", Critical: true,
				LastFull: &api.JobSummary{JobID: 7, Type: "full", Started: started, Status: "ok", Trigger: "retry", Attempt: 2},
				LastDifferential: &api.JobSummary{JobID: 9, Started: started, Status: "failed", Trigger: "retry", Attempt: 3,
					Error: "dial tcp 10.1.1.11:5432: connect: connection refused"},
				LastVerify: &api.JobSummary{JobID: 8, Started: started, Status: "ok", Trigger: "schedule", Attempt: 1},
				Entries:    []api.EntryStatus{}}},
			Running: []schedule.TaskInfo{}, Queued: []schedule.TaskInfo{},
		}
		if !certNotAfter.IsZero() {
			st.Daemon.RequestListener = &api.RequestListenerInfo{Address: "0.0.0.0:9443", CertSubject: "CN=dbops.example.gov.cn", CertNotAfter: certNotAfter}
		}
		return st
	}

	for _, tc := range []struct {
		name     string
		notAfter time.Time
		want     []string
		wantNot  []string
	}{
		{name: "no listener", wantNot: []string{"HTTPS"}},
		{name: "certificate valid", notAfter: now.Add(60 * 24 * time.Hour),
			want:    []string{"signed requests over HTTPS on 0.0.0.0:9443; certificate valid until 2026-05-01 09:00\n"},
			wantNot: []string{"EXPIRE", "renew"}},
		{name: "certificate expires soon", notAfter: now.Add(5 * 24 * time.Hour),
			want: []string{"signed requests over HTTPS on 0.0.0.0:9443; certificate valid until 2026-03-07 09:00: EXPIRES IN 5 DAYS, renew it: replace tls_cert and tls_key, then SIGHUP"}},
		{name: "certificate expired", notAfter: now.Add(-time.Hour),
			want: []string{"signed requests over HTTPS on 0.0.0.0:9443; CERTIFICATE EXPIRED 2026-03-02 08:00, clients refuse it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := serveStatus(t, status(tc.notAfter))
			out, _ := cliOK(t, "status", "--socket", sock)
			for _, want := range append([]string{
				"2026-03-02 01:00 ok (full, attempt 2)",
				"2026-03-02 01:00 failed (attempt 3)",
				"queue: job 9 (attempt 3) failed: dial tcp 10.1.1.11:5432",
			}, tc.want...) {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			// The verification was a first attempt: said nowhere.
			for _, not := range append([]string{"attempt 1"}, tc.wantNot...) {
				if strings.Contains(out, not) {
					t.Errorf("status says %q:\n%s", not, out)
				}
			}

			js, _ := cliOK(t, "status", "--socket", sock, "--json")
			var got struct {
				Daemon struct {
					RequestListener *struct {
						Address      string    `json:"address"`
						CertNotAfter time.Time `json:"cert_not_after"`
					} `json:"request_listener"`
				} `json:"daemon"`
				Databases []struct {
					LastFull         map[string]any `json:"last_full"`
					LastDifferential map[string]any `json:"last_differential"`
					LastVerify       map[string]any `json:"last_verify"`
				} `json:"databases"`
			}
			if err := json.Unmarshal([]byte(js), &got); err != nil {
				t.Fatalf("%v:\n%s", err, js)
			}
			if len(got.Databases) != 1 {
				t.Fatalf("status --json: %s", js)
			}
			db := got.Databases[0]
			for _, j := range []struct {
				what string
				job  map[string]any
				want float64
			}{{"last_full", db.LastFull, 2}, {"last_differential", db.LastDifferential, 3}, {"last_verify", db.LastVerify, 1}} {
				if j.job["attempt"] != j.want {
					t.Errorf("status --json %s attempt %v, want %v", j.what, j.job["attempt"], j.want)
				}
			}
			rl := got.Daemon.RequestListener
			switch {
			case tc.notAfter.IsZero() && rl != nil:
				t.Errorf("status --json has a request_listener without one: %s", js)
			case !tc.notAfter.IsZero() && (rl == nil || rl.Address != "0.0.0.0:9443" || !rl.CertNotAfter.Equal(tc.notAfter)):
				t.Errorf("status --json request_listener %+v, want 0.0.0.0:9443 until %s", rl, tc.notAfter)
			}
		})
	}
}
