package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/repository"
)

// crashRows makes a database whose full backup takes a few seconds, so that
// kills land at different stages.
const crashRows = 1_500_000

// TestCrashSafety kills `dbopsd backup` with SIGKILL at several moments.
// After each kill: nothing partial is listed, the repository checks clean,
// the next backup succeeds at once (the dead holder's lock is taken over),
// and `prune --grace 0` leaves no chunk that no backup names.
func TestCrashSafety(t *testing.T) {
	bin := buildDbopsd(t)
	s := newOpsSite(t, opsConfig{databases: []string{"big"}, fill: fillRows(crashRows)})
	s.ok("repo", "init")

	backup := func(typ string) (time.Duration, string) {
		t.Helper()
		cmd, out, errb := s.command(bin, "backup", "--database", "big", "--type", typ, "--json")
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("dbopsd backup --type %s: %v\nstdout:\n%s\nstderr:\n%s", typ, err, out, errb)
		}
		var b struct{ ID string }
		if err := json.Unmarshal(out.Bytes(), &b); err != nil || b.ID == "" {
			t.Fatalf("backup --json: %v: %s", err, out)
		}
		return time.Since(start), errb.String()
	}
	took, _ := backup("full")
	dataDir, manifestDir := filepath.Join(s.repoDir(), "data"), filepath.Join(s.repoDir(), "manifests")
	chunks := countFiles(t, dataDir)
	t.Logf("a full backup of %d rows takes %s and stores %d chunks", crashRows, took.Round(time.Millisecond), chunks)
	listed := 1

	// Each point kills a backup at one stage: starting (lock, snapshot),
	// storing chunks, nearly all chunks stored with the manifest about to be
	// written, and right after the manifest (before the catalog record and
	// the lock release). The local store writes a manifest to a temporary
	// file and renames it, so a kill during that write leaves either no
	// manifest or a whole one: the last two kinds of point.
	after := func(d time.Duration) func(before int, done <-chan struct{}) {
		return func(int, <-chan struct{}) { time.Sleep(d) }
	}
	// when polls until cond holds of the count of files under dir (which
	// held before files when the backup started) or the backup ends.
	when := func(dir string, cond func(now, before int) bool) func(int, <-chan struct{}) {
		return func(before int, done <-chan struct{}) {
			for !cond(countFiles(t, dir), before) {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
	}
	newChunks := func(n int) func(int, <-chan struct{}) {
		return when(dataDir, func(now, before int) bool { return now-before >= n })
	}
	newManifest := when(manifestDir, func(now, before int) bool { return now > before })
	// A differential spills rows to the state directory's tmp while it
	// decides between rows and chunks (repository/rows.go).
	tmpDir := filepath.Join(s.stateDir(), "tmp")
	spilling := when(tmpDir, func(now, _ int) bool { return now > 0 })
	points := []struct {
		name, typ string
		dir       string // what "before" counts
		until     func(before int, done <-chan struct{})
	}{
		{"full killed after 200ms", "full", dataDir, after(200 * time.Millisecond)},
		{"differential killed after 500ms", "differential", dataDir, after(500 * time.Millisecond)},
		{"full killed after 1s", "full", dataDir, after(time.Second)},
		{"full killed after its first chunk", "full", dataDir, newChunks(1)},
		{"full killed with half its chunks stored", "full", dataDir, newChunks(chunks / 2)},
		// All but the last few: the manifest follows the last chunk within
		// a millisecond, too soon to aim between them by polling.
		{"full killed with nearly all its chunks stored", "full", dataDir, newChunks(chunks - 3)},
		{"differential killed after half its time", "differential", dataDir, after(took / 2)},
		{"full killed when its manifest appears", "full", manifestDir, newManifest},
		{"differential killed when its manifest appears", "differential", manifestDir, newManifest},
		{"differential killed while it spills rows", "differential", tmpDir, spilling},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			before := countFiles(t, p.dir)
			cmd, _, errb := s.command(bin, "backup", "--database", "big", "--type", p.typ)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait(); close(done) }()
			p.until(before, done)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			err := <-waited
			t.Logf("%v; its last words: %s", err, lastLine(errb.String()))

			// Nothing partial is listed: every listed backup is whole.
			l := s.list()
			switch n := len(l.Backups); {
			case n == listed:
			case n == listed+1:
				// Killed after its manifest was written: a complete backup.
				listed++
			default:
				t.Fatalf("%d backups listed, want %d or %d: %+v", n, listed, listed+1, l)
			}
			for _, b := range l.Backups {
				if b.Status != "ok" {
					t.Errorf("listed backup %s has status %q", b.ID, b.Status)
				}
			}
			s.ok("check")

			// The next backup starts at once: a lock left by the killed
			// process is recognised as dead and taken over.
			_, lockErr := os.Stat(filepath.Join(s.repoDir(), "locks", "big"))
			leftLock := lockErr == nil
			took, stderr := backup("differential")
			listed++
			if leftLock && !strings.Contains(stderr, "taking over the backup lock") {
				t.Errorf("the killed backup's lock was not reported as taken over:\n%s", stderr)
			}
			if took > 3*time.Minute {
				t.Errorf("the next backup took %s", took)
			}
			if _, err := os.Stat(filepath.Join(s.repoDir(), "locks", "big")); err == nil {
				t.Error("the lock stays after a finished backup")
			}
			if n := countFiles(t, tmpDir); n != 0 {
				t.Errorf("%d temporary files left in %s after the next backup", n, tmpDir)
			}

			// Prune without grace removes every chunk no backup names.
			leftover := len(s.unreferenced())
			var res repository.PruneResult
			s.okJSON(&res, "prune", "--grace", "0")
			if left := s.unreferenced(); len(left) != 0 {
				t.Fatalf("%d of %d unreferenced chunks left after prune --grace 0: %v", len(left), leftover, left[:min(5, len(left))])
			}
			t.Logf("prune removed %d leftover chunks", leftover)
			if l := s.list(); len(l.Backups) != listed {
				t.Fatalf("prune changed the backups listed: %d, want %d", len(l.Backups), listed)
			}
			s.ok("check", "--read-data")
		})
	}
	// Killed writers also leave half-written files in the local store's
	// private temporary directory, which no repository operation sees.
	t.Logf("%d temporary files left in %s", countFiles(t, filepath.Join(s.repoDir(), ".tmp")), filepath.Join(s.repoDir(), ".tmp"))
}

// TestConcurrentBackups: a second backup of a database whose backup runs is
// refused, naming the holder; backups of different databases run at once.
func TestConcurrentBackups(t *testing.T) {
	bin := buildDbopsd(t)
	s := newOpsSite(t, opsConfig{databases: []string{"big", "small"}, fill: func(s *opsSite, pgdb string) {
		if strings.Contains(pgdb, "big") {
			fillRows(crashRows)(s, pgdb)
		} else {
			fillRows(2000)(s, pgdb)
		}
	}})
	s.ok("repo", "init")

	first, out1, err1 := s.command(bin, "backup", "--database", "big", "--type", "full")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until it holds its lock.
	lockPath := filepath.Join(s.repoDir(), "locks", "big")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(lockPath)
		var li repository.LockInfo
		if err == nil && json.Unmarshal(b, &li) == nil && li.PID == first.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first backup took no lock in 30 s\n%s%s", out1, err1)
		}
		time.Sleep(20 * time.Millisecond)
	}

	second, out2, err2 := s.command(bin, "backup", "--database", "big", "--type", "full")
	err := second.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("the second backup of the same database: %v\n%s%s", err, out2, err2)
	}
	host, _ := os.Hostname()
	msg := err2.String()
	for _, want := range []string{`database "big" is already being backed up`, "host " + host, fmt.Sprintf("pid %d", first.Process.Pid), "expires at"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal does not say %q:\n%s", want, msg)
		}
	}

	// Another database meanwhile: runs.
	other, out3, err3 := s.command(bin, "backup", "--database", "small", "--type", "full")
	if err := other.Run(); err != nil {
		t.Fatalf("backup of another database while one runs: %v\n%s%s", err, out3, err3)
	}
	if b, err := os.ReadFile(lockPath); err != nil || !strings.Contains(string(b), fmt.Sprintf(`"pid": %d,`, first.Process.Pid)) {
		t.Fatal("the first backup ended before the others ran: make the database bigger")
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first backup: %v\n%s%s", err, out1, err1)
	}

	// Two databases started together: both succeed.
	a, outA, errA := s.command(bin, "backup", "--database", "big", "--type", "differential")
	b, outB, errB := s.command(bin, "backup", "--database", "small", "--type", "differential")
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		cmd      *exec.Cmd
		out, err *bytes.Buffer
	}{{a, outA, errA}, {b, outB, errB}} {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("parallel backups of two databases: %v\n%s%s", err, c.out, c.err)
		}
	}
	l := s.list()
	per := map[string]int{}
	for _, b := range l.Backups {
		per[b.Database]++
	}
	if per["big"] != 2 || per["small"] != 2 {
		t.Fatalf("backups listed per database: %v", per)
	}
	s.ok("check", "--read-data")
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
