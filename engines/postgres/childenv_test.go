package postgres_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/postgres"
)

// TestChildEnvironment: pg_dump and pg_restore, run through a backup and a
// restore, see the one password of the connection they serve and none of
// dbopsd's other secrets (issue 17 item 11). The client programs are
// wrappers that record their environment and run the real ones.
func TestChildEnvironment(t *testing.T) {
	const (
		passphrase = "repo-passphrase-never-in-a-child"
		otherPW    = "other-database-password"
	)
	t.Setenv("DBOPS_TEST_SECRET", passphrase)
	t.Setenv("RATING_DB_PASSWORD", otherPW)
	t.Setenv("PGPASSWORD", otherPW)  // the parent's own, for some other server
	t.Setenv("PGSSLMODE", "disable") // a libpq setting children keep
	t.Setenv("TZ", "Asia/Shanghai")

	src := newSource(t)
	real := src.Conn.BinDir
	dir := t.TempDir()
	envDir := filepath.Join(dir, "env")
	if err := os.Mkdir(envDir, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pg_dump", "pg_restore"} {
		script := fmt.Sprintf("#!/bin/sh\nenv -0 > \"$(mktemp %s/%s.XXXXXX)\"\nexec %s \"$@\"\n",
			envDir, name, filepath.Join(real, name))
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src.Conn.BinDir = bin
	e := postgres.New()
	b := backupOf(t, e, src)
	target := backupConn(sourceServer(t), "postgres")
	target.BinDir = bin
	restoreInto(t, e, target, b, engines.RestoreRequest{Database: randName("childenv")})

	files, _ := filepath.Glob(filepath.Join(envDir, "*"))
	ran := map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.SplitN(filepath.Base(f), ".", 2)[0]
		ran[name]++
		env := map[string]string{}
		for _, kv := range strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		for k, v := range env {
			if strings.Contains(v, passphrase) || strings.Contains(v, otherPW) {
				t.Errorf("%s saw %s=%s", name, k, v)
			}
		}
		if _, ok := env["DBOPS_TEST_SECRET"]; ok {
			t.Errorf("%s saw DBOPS_TEST_SECRET", name)
		}
		if pw, ok := env["PGPASSWORD"]; ok && pw != backupPassword {
			t.Errorf("%s saw PGPASSWORD %q", name, pw)
		}
		for k, want := range map[string]string{"PGSSLMODE": "disable", "TZ": "Asia/Shanghai", "LC_MESSAGES": "C", "PATH": os.Getenv("PATH")} {
			if env[k] != want {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], want)
			}
		}
		// Only the version probe runs without a connection.
		if env["PGPASSWORD"] == "" && env["PGAPPNAME"] != "" {
			t.Errorf("%s ran for a connection without its password", name)
		}
	}
	// Each program ran at least twice: its version probe and its work.
	if ran["pg_dump"] < 2 || ran["pg_restore"] < 2 {
		t.Errorf("wrappers ran %v, want pg_dump and pg_restore at least twice each", ran)
	}
}
