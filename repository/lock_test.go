package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/storage"
)

// fastLock keeps lock tests quick: the verify delay is what every taker
// waits, the TTL what a refresh interval is derived from.
var fastLock = LockOptions{VerifyDelay: 50 * time.Millisecond}

func putLock(t *testing.T, r *Repo, li LockInfo) {
	t.Helper()
	if err := r.writeLock(context.Background(), li); err != nil {
		t.Fatal(err)
	}
}

func TestLockRefusesSecondBackup(t *testing.T) {
	r, _ := testRepo(t)
	ctx := context.Background()
	opts := fastLock
	opts.BackupID = "20261126T193012.345Z-3f9a"
	l, err := r.AcquireLock(ctx, "queue", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.AcquireLock(ctx, "queue", fastLock)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock of the same database: got %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{`"queue" is already being backed up`, "host " + host, "pid " + itoa(os.Getpid()), opts.BackupID, "expires at"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// Another database locks independently.
	other, err := r.AcquireLock(ctx, "staff", fastLock)
	if err != nil {
		t.Fatalf("lock of another database: %v", err)
	}
	live, err := r.LiveLocks(ctx, time.Now())
	if err != nil || len(live) != 2 || live["queue"].BackupID != opts.BackupID {
		t.Fatalf("LiveLocks = %+v, %v", live, err)
	}
	for _, x := range []*Lock{l, other} {
		if err := x.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if locks, err := r.Locks(ctx); err != nil || len(locks) != 0 {
		t.Fatalf("locks left after release: %+v %v", locks, err)
	}
	l, err = r.AcquireLock(ctx, "queue", fastLock)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l.Release(ctx)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestLockContention: many takers at the same instant, exactly one wins.
func TestLockContention(t *testing.T) {
	r, _ := testRepo(t)
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*Lock
		refused := 0
		startGun := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGun
				l, err := r.AcquireLock(context.Background(), "queue", LockOptions{VerifyDelay: 200 * time.Millisecond})
				mu.Lock()
				defer mu.Unlock()
				var le *LockedError
				switch {
				case err == nil:
					won = append(won, l)
				case errors.As(err, &le):
					refused++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		close(startGun)
		wg.Wait()
		if len(won) != 1 || refused != 7 {
			t.Fatalf("round %d: %d takers won the lock, %d were refused", round, len(won), refused)
		}
		if err := won[0].Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLockTakeOver(t *testing.T) {
	host, _ := os.Hostname()
	// A process that has exited: its pid is free.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := cmd.Process.Pid
	future := time.Now().Add(time.Hour)
	cases := []struct {
		name    string
		lock    LockInfo
		takes   bool
		warning string
	}{
		{"expired on another host", LockInfo{Host: "db-backup-2", PID: 1, Token: "x", Expires: time.Now().Add(-time.Second)}, true, "the lock expired"},
		{"dead process on this host", LockInfo{Host: host, PID: deadPID, Token: "x", Expires: future}, true, "no longer exists"},
		{"before a reboot of this host", LockInfo{Host: host, PID: os.Getpid(), Boot: "another-boot", Token: "x", Expires: future}, bootID() != "", "rebooted"},
		{"live on another host", LockInfo{Host: "db-backup-2", PID: 1, Token: "x", Expires: future}, false, ""},
		{"live process on this host", LockInfo{Host: host, PID: os.Getpid(), Boot: bootID(), Token: "x", Expires: future}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := testRepo(t)
			var logs bytes.Buffer
			r.SetLogger(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}))
			tc.lock.Database, tc.lock.Created = "queue", time.Now().Add(-time.Hour)
			putLock(t, r, tc.lock)
			l, err := r.AcquireLock(context.Background(), "queue", fastLock)
			if !tc.takes {
				var le *LockedError
				if !errors.As(err, &le) {
					t.Fatalf("got %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("taking over: %v", err)
			}
			defer l.Release(context.Background())
			if !strings.Contains(logs.String(), "taking over") || !strings.Contains(logs.String(), tc.warning) {
				t.Errorf("no warning saying %q: %s", tc.warning, logs.String())
			}
		})
	}
}

func TestLockDamaged(t *testing.T) {
	r, dir := testRepo(t)
	ctx := context.Background()
	if err := r.st.Put(ctx, lockKey("queue"), strings.NewReader("{garbage"), 8, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.AcquireLock(ctx, "queue", fastLock)
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a fresh damaged lock: got %v, want a refusal naming it damaged", err)
	}
	old := time.Now().Add(-DefaultLockTTL - time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "locks", "queue"), old, old); err != nil {
		t.Fatal(err)
	}
	l, err := r.AcquireLock(ctx, "queue", fastLock)
	if err != nil {
		t.Fatalf("a damaged lock older than the TTL: %v", err)
	}
	l.Release(ctx)
}

func TestLockRefreshAndLoss(t *testing.T) {
	r, _ := testRepo(t)
	ctx := context.Background()
	lost := make(chan error, 1)
	opts := LockOptions{TTL: 600 * time.Millisecond, VerifyDelay: 10 * time.Millisecond, OnLost: func(err error) { lost <- err }}
	l, err := r.AcquireLock(ctx, "queue", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetBackup(ctx, "20261126T193012.345Z-3f9a", "20261101T010000.000Z-0001"); err != nil {
		t.Fatal(err)
	}
	first := l.Info().Expires
	// Well past the TTL, the refreshed lock is still live and ours.
	time.Sleep(1500 * time.Millisecond)
	live, err := r.LiveLocks(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	li, ok := live["queue"]
	if !ok || li.Token != l.Info().Token || !li.Expires.After(first) || li.Generation != "20261101T010000.000Z-0001" {
		t.Fatalf("after 1.5 s of a 0.6 s lock: live=%v %+v (first expiry %s)", ok, li, first)
	}
	select {
	case err := <-lost:
		t.Fatalf("lock lost while refreshed: %v", err)
	default:
	}

	// Someone else overwrites it (a taker slower than the verify delay):
	// the holder notices at its next refresh and gives way.
	intruder := LockInfo{Database: "queue", Host: "db-backup-2", PID: 7, Token: "intruder", Expires: time.Now().Add(time.Hour)}
	putLock(t, r, intruder)
	select {
	case err := <-lost:
		if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "db-backup-2") {
			t.Fatalf("loss reported as %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("an overwritten lock was not noticed")
	}
	if !errors.Is(l.Err(), ErrLockLost) {
		t.Fatalf("Err() = %v", l.Err())
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	cur, err := r.readLock(ctx, lockKey("queue"))
	if err != nil || cur.Token != "intruder" {
		t.Fatalf("release removed a lock that was not its own: %+v %v", cur, err)
	}
}
