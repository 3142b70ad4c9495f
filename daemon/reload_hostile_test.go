package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/internal/harness"
)

// TestReloadSurvivesHostilePolicy: a policy file nested 60,000 deep made
// the loader overflow the Go stack, which is fatal: SIGHUP killed the agent.
// A FIFO in place of the policy file blocked the reload forever. Both are
// now refused like any bad file: the agent keeps running on the old
// configuration and says where the problem is.
func TestReloadSurvivesHostilePolicy(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS reload_h WITH (FORCE)") // repeatable with -count
	pg.Exec(t, "postgres", "CREATE DATABASE reload_h")
	// A window that is never now keeps the catch-up from running.
	now := time.Now().UTC()
	window := fmt.Sprintf("%02d:00-%02d:00", (now.Hour()+6)%24, (now.Hour()+7)%24)
	policy := func(dir string) string {
		return daemonBlock(dir, pg.BinDir) + fmt.Sprintf(`
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  window       = %q
  verify       = "none"
}
database "reload_h" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
`, window, pg.DSN("reload_h"))
	}
	s := newSite(t, policy)
	a := start(t, daemon.Options{ConfigPath: s.policy, Logger: s.logger(), HandleSignals: true, SweepInterval: time.Second})
	client := api.NewClient(a.SocketPath())
	keeps := func(t *testing.T, want string) {
		t.Helper()
		st, err := client.Status(context.Background())
		if err != nil {
			t.Fatalf("the agent does not answer after the refused reload: %v", err)
		}
		if len(st.Databases) != 1 || st.Databases[0].Name != "reload_h" || !strings.Contains(st.Daemon.ReloadError, want) {
			t.Errorf("after a refused reload: databases %+v, reload error %q (want %q)", st.Databases, st.Daemon.ReloadError, want)
		}
		if a.Config().Databases["reload_h"] == nil || len(a.Config().Databases) != 1 {
			t.Error("the configuration in force changed")
		}
	}

	// SIGHUP with brackets 60,000 deep, then with parentheses 100,000 deep.
	for i, deep := range []string{
		"x = " + strings.Repeat("[", 60000) + strings.Repeat("]", 60000) + "\n",
		"x = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "\n",
	} {
		src := policy(s.dir) + deep
		s.write(t, src)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		line := strings.Count(src, "\n")
		want := fmt.Sprintf("%s:%d:", s.policy, line)
		eventually(t, 20*time.Second, "the refused reload in the log", func() bool {
			return strings.Count(s.logs.String(), "Nested too deeply") == i+1 && strings.Contains(s.logs.String(), want)
		})
		keeps(t, want+"69: Nested too deeply")
	}

	// A FIFO where the policy file was: Reload returns at once.
	if err := os.Remove(s.policy); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(s.policy, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Reload() }()
	select {
	case err := <-done:
		var ce *daemon.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "is a named pipe (FIFO), not a regular file") {
			t.Errorf("Reload of a FIFO: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Reload of a FIFO still waiting")
	}
	keeps(t, "named pipe")

	// A good file is taken again.
	if err := os.Remove(s.policy); err != nil {
		t.Fatal(err)
	}
	s.write(t, policy(s.dir))
	if err := a.Reload(); err != nil {
		t.Fatalf("a good file after the refused ones: %v", err)
	}
}
