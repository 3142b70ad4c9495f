package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/policytest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/site"
)

// The benchmarks of issue 5 (aims: config validate under 0.5 s, agent
// start-up under 1 s, idle RSS under 80 MB, for 500 databases). The
// scheduler's cost per simulated minute is schedule's
// BenchmarkSchedulerMinute.
//
//	go test -run '^$' -bench . -benchtime 5x ./daemon ./schedule
//
// BenchmarkAgentProcess runs the real binary: $DBOPS_BENCH_BINARY, or one
// built from ./cmd/dbopsd into a temporary directory.

const benchDatabases = 500

// benchSite writes the policy, initialises the repository and seeds the
// catalog with a fresh, verified backup of every database and a recent
// prune, mirror and check, so that the agent starts idle.
func benchSite(b *testing.B) (dir, policy string) {
	b.Helper()
	b.Setenv("DBOPS_BENCH_PASSPHRASE", "bench passphrase")
	dir = b.TempDir()
	policy = filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(policy, []byte(policytest.Synthetic(benchDatabases, dir)), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.Load(policy)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	ctx := context.Background()
	if _, err := site.InitRepository(ctx, cfg, hclog.NewNullLogger()); err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.Open(cfg.Daemon.StateDir)
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	now := time.Now()
	for name := range cfg.Databases {
		id := "full-" + name
		if err := cat.AddBackup(ctx, catalog.Backup{ID: id, Database: name, Engine: "postgres", Type: "full", Generation: id,
			StartedAt: now.Add(-time.Minute), FinishedAt: now, Status: catalog.StatusOK}); err != nil {
			b.Fatal(err)
		}
		if err := cat.SetVerified(ctx, id, catalog.StatusOK, now); err != nil {
			b.Fatal(err)
		}
	}
	for _, kind := range []string{"prune", "mirror", daemon.KindCheck} {
		if _, err := cat.RecordJob(ctx, catalog.Job{Kind: kind, Trigger: "schedule", StartedAt: now}, nil); err != nil {
			b.Fatal(err)
		}
	}
	return dir, policy
}

// BenchmarkValidate500 is `dbopsd config validate` of a 500-database
// policy, in process: parse, decode, validate (including the critical
// databases' two-week rule over a year of cron slots).
func BenchmarkValidate500(b *testing.B) {
	src := []byte(policytest.Synthetic(benchDatabases, b.TempDir()))
	b.ResetTimer()
	for range b.N {
		if _, diags := config.Parse(src, "policy.hcl"); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/validate")
}

// BenchmarkAgentStartup500 starts the agent in process (load, catalog,
// plan, timers, listeners, initial evaluation) until it is ready, and
// stops it; after the last start it reports the process's idle RSS, which
// includes the test binary's own.
func BenchmarkAgentStartup500(b *testing.B) {
	_, policy := benchSite(b)
	var rss float64
	b.ResetTimer()
	for i := range b.N {
		ready := make(chan struct{})
		a, err := daemon.New(daemon.Options{ConfigPath: policy, Ready: func(*daemon.Agent) { close(ready) }})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		select {
		case <-ready:
		case err := <-done:
			b.Fatalf("agent: %v", err)
		}
		if i == b.N-1 {
			b.StopTimer()
			runtime.GC()
			time.Sleep(2 * time.Second) // idle
			rss = vmRSS(b, os.Getpid(), "VmRSS")
			b.StartTimer()
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/start")
	b.ReportMetric(rss, "MB-idle-rss-in-process")
}

// BenchmarkAgentProcess500 runs `dbopsd config validate` and `dbopsd
// agent` as processes: wall time of the validation, time from exec until
// the agent answers `status` on its socket, and its RSS after ten seconds
// idle.
func BenchmarkAgentProcess500(b *testing.B) {
	bin := os.Getenv("DBOPS_BENCH_BINARY")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "dbopsd")
		build := exec.Command("go", "build", "-o", bin, "./cmd/dbopsd")
		build.Dir = moduleRoot(b)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("building dbopsd: %v\n%s", err, out)
		}
	}
	dir, policy := benchSite(b)
	var validate, startup time.Duration
	var rss, hwm float64
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if out, err := exec.Command(bin, "config", "validate", "--config", policy).CombinedOutput(); err != nil {
			b.Fatalf("config validate: %v\n%s", err, out)
		}
		validate += time.Since(t0)

		t0 = time.Now()
		cmd := exec.Command(bin, "agent", "--config", policy, "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		client := api.NewClient(filepath.Join(dir, "dbopsd.sock"))
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := client.Status(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Since(t0) > 30*time.Second {
				_ = cmd.Process.Kill()
				b.Fatalf("the agent did not answer: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		startup += time.Since(t0)
		b.StopTimer()
		time.Sleep(10 * time.Second)
		rss = vmRSS(b, cmd.Process.Pid, "VmRSS")
		hwm = vmRSS(b, cmd.Process.Pid, "VmHWM")
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("agent: %v", err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(validate.Milliseconds())/float64(b.N), "ms/validate")
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "ms/startup")
	b.ReportMetric(rss, "MB-idle-rss")
	b.ReportMetric(hwm, "MB-peak-rss")
}

// vmRSS reads a Vm* line of /proc/PID/status, in MB.
func vmRSS(b *testing.B, pid int, field string) float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

func moduleRoot(b *testing.B) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
