package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/harness"
)

// The first hour of a new user (issue 17 items 16 and 17): what the CLI
// says when a command, a flag, a policy file or a table name is wrong, and
// what log and show say about backups.

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCLIMistakes(t *testing.T) {
	t.Setenv("DBOPS_CONFIG", "")
	for _, tc := range []struct {
		args []string
		code int
		want string // on stderr, which has at most three lines
	}{
		{[]string{"bakup"}, 2, `unknown command "bakup"; did you mean "backup"?`},
		{[]string{"restroe", "--database", "x"}, 2, `did you mean "restore"?`},
		{[]string{"repo", "int"}, 2, `unknown command "repo int"; did you mean "repo init"?`},
		{[]string{"catalog", "rebiuld"}, 2, `did you mean "catalog rebuild"?`},
		{[]string{"frobnicate"}, 2, "unknown command \"frobnicate\"\nRun `dbopsd help` for the list of commands."},
		{[]string{"list", "--jsn"}, 2, "dbopsd list: unknown flag --jsn; did you mean --json?\nRun `dbopsd list --help` for its flags."},
		{[]string{"restore", "--database", "hall", "--tabel", "hall.staff"}, 2, "unknown flag --tabel; did you mean --table?"},
		{[]string{"backup", "-databse=hall"}, 2, "unknown flag --databse; did you mean --database?"},
		{[]string{"list", "--zzzzzz"}, 2, "dbopsd list: unknown flag --zzzzzz\n"},
		{[]string{"list", "--config", "/nonexistent/dbopsd.hcl"}, 1,
			"no policy file at /nonexistent/dbopsd.hcl (from --config): pass --config FILE or set DBOPS_CONFIG"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs, code := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errs, tc.code, tc.want)
			}
			lines := 3
			if tc.code == 1 {
				lines = 6 // the policy loader's diagnostic, then the hint
			}
			if out != "" || strings.Count(errs, "\n") > lines || strings.Contains(errs, "Usage:") {
				t.Errorf("a usage dump rather than the mistake:\nstdout:\n%s\nstderr:\n%s", out, errs)
			}
		})
	}
	// The default path and $DBOPS_CONFIG are named as such.
	if _, errs, _ := runCLI("list"); !strings.Contains(errs, "/etc/dbopsd/config.hcl (the default): pass --config FILE or set DBOPS_CONFIG") {
		t.Errorf("no policy file at the default path: %s", errs)
	}
	t.Setenv("DBOPS_CONFIG", "/nonexistent/env.hcl")
	if _, errs, _ := runCLI("list"); !strings.Contains(errs, "/nonexistent/env.hcl (from $DBOPS_CONFIG)") {
		t.Errorf("no policy file at $DBOPS_CONFIG: %s", errs)
	}
}

// TestHelpGoesToStdout: help that was asked for, top-level or a
// command's, is on stdout with exit 0.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"list", "--help"}, {"restore", "-h"}, {"repo", "init", "--help"}} {
		out, errs, code := runCLI(args...)
		if code != 0 || errs != "" || !strings.Contains(out, "Usage: dbopsd") {
			t.Errorf("dbopsd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
		}
	}
	if out, _, _ := runCLI("restore", "--help"); !strings.Contains(out, "-table") || !strings.Contains(out, "-replace") {
		t.Errorf("restore --help lacks its flags:\n%s", out)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"backup", "backup", 0}, {"bakup", "backup", 1}, {"restroe", "restore", 1}, {"", "abc", 3}, {"备份", "备分", 1}, {"abc", "xyz", 3}} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}

// TestCatalogErrorAdvice: a full disk is not advised to set state_dir; a
// state directory that cannot be made is.
func TestCatalogErrorAdvice(t *testing.T) {
	for _, err := range []error{
		&fs.PathError{Op: "write", Path: "/var/lib/dbopsd/catalog.db", Err: syscall.ENOSPC},
		errors.New("opening catalog /var/lib/dbopsd/catalog.db: database or disk is full (13)"),
	} {
		msg := catalogError(err, "/var/lib/dbopsd").Error()
		if strings.Contains(msg, "state_dir") || !strings.Contains(msg, "/var/lib/dbopsd is full") {
			t.Errorf("disk full: %s", msg)
		}
	}
	// A real one: the state directory is under a file.
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := catalog.Open(filepath.Join(file, "state"))
	if err == nil {
		t.Fatal("opened a catalog under a file")
	}
	if msg := catalogError(err, file).Error(); !strings.Contains(msg, "set daemon.state_dir or pass --state-dir") {
		t.Errorf("state directory under a file: %s", msg)
	}
}

func TestQuoteIdent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tickets", "tickets"}, {"取号记录", "取号记录"}, {"t_1", "t_1"}, {"Staff", "Staff"},
		{"a.b", `"a.b"`}, {"1st", `"1st"`}, {"", `""`}, {`say "hi"`, `"say ""hi"""`}, {"a b", `"a b"`},
		{"new\nline", `U&"new\000Aline"`}, {"tab\t\\\"", `U&"tab\0009\\"""`},
	} {
		if got := quoteIdent(tc.in); got != tc.want {
			t.Errorf("quoteIdent(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestFirstHourOnServers runs the commands against real servers: show,
// restore's refusals and log.
func TestFirstHourOnServers(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"hall"}, fill: func(s *opsSite, pgdb string) {
		fillRows(100)(s, pgdb)
		s.src.Exec(s.t, pgdb, `CREATE SCHEMA a; CREATE TABLE a."b.c" (x int); CREATE TABLE public."a.b" (y int);
CREATE TABLE public."new
line" (z int); INSERT INTO a."b.c" VALUES (1); INSERT INTO public."a.b" VALUES (2), (3);`)
	}})
	// A second database whose server is down, and a MariaDB one.
	my := harness.SourceMariaDB(t)
	mydb := fmt.Sprintf("rating_%d", opsSeq.Add(1))
	my.Exec(t, "", "CREATE DATABASE "+mydb)
	t.Cleanup(func() { my.Exec(t, "", "DROP DATABASE IF EXISTS "+mydb) })
	my.Exec(t, mydb, "CREATE TABLE evaluations (id int PRIMARY KEY, score int); INSERT INTO evaluations VALUES (1, 5), (2, 4);")
	extra := fmt.Sprintf(`
database "down" {
  engine = "postgres"
  dsn    = "postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5"
  policy = "p"
}
database "rating" {
  engine = "mariadb"
  dsn    = %q
  policy = "p"
}
`, closedPort(t), my.DSN(mydb))
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()

	s.ok("repo", "init")
	var b struct{ ID string }
	s.okJSON(&b, "backup", "--database", "hall", "--type", "full")

	t.Run("show", func(t *testing.T) {
		out := s.ok("show", "--database", "hall")
		for _, want := range []string{"database    hall (postgres)\n", "verified    not yet\n", "\na.\"b.c\" ", "\npublic.\"a.b\" ", "\npublic.U&\"new\\000Aline\" ", "\npublic.staff "} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		s.ok("verify", "--database", "hall", "--target", "scratch")
		if out := s.ok("show", "--database", "hall"); !regexp.MustCompile(`\nverified    ok at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n`).MatchString(out) {
			t.Errorf("show after verify:\n%s", out)
		}
		var j struct{ Verified string }
		s.okJSON(&j, "show", "--database", "hall")
		if !strings.HasPrefix(j.Verified, "ok at ") {
			t.Errorf("show --json verified %q", j.Verified)
		}
		s.ok("backup", "--database", "rating", "--type", "full")
		if out := s.ok("show", "--database", "rating"); !strings.Contains(out, "database    rating (mariadb)\n") {
			t.Errorf("a MariaDB database is not shown as mariadb:\n%s", out)
		}
	})

	t.Run("restore refusals", func(t *testing.T) {
		as := fmt.Sprintf("firsthour_%d", opsSeq.Add(1))
		t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+as+" WITH (FORCE)") })
		s.ok("restore", "--database", "hall", "--target", "scratch", "--as", as)
		for _, args := range [][]string{
			{"restore", "--database", "hall", "--target", "scratch", "--as", as},
			{"restore", "--database", "hall", "--target", "scratch", "--as", as, "--table", "public.staff"},
		} {
			_, errs, code := s.run(args...)
			if code == 0 || strings.Contains(errs, "Replace") || strings.Count(errs, "--replace") != 1 || !strings.Contains(errs, "already exists") {
				t.Errorf("dbopsd %s: exit %d, want the advice to add --replace once:\n%s", strings.Join(args, " "), code, errs)
			}
		}
		_, errs, code := s.run("restore", "--database", "hall", "--target", "scratch", "--as", as+"_t", "--table", "staff")
		if code == 0 || !strings.Contains(errs, "has no table staff (did you mean public.staff?)") {
			t.Errorf("--table staff: exit %d\n%s", code, errs)
		}
	})

	t.Run("log", func(t *testing.T) {
		// A backup that fails: the cause is in the log's table, whole.
		if _, errs, code := s.run("backup", "--database", "down", "--type", "full"); code == 0 {
			t.Fatalf("a backup of a server that is down succeeded:\n%s", errs)
		}
		out := s.ok("log", "--database", "down")
		if !strings.Contains(out, "connection refused") || strings.Contains(out, "…") {
			t.Errorf("log does not show the cause:\n%s", out)
		}
		if out := s.ok("log", "--database", "down", "--csv"); !strings.Contains(out, "connection refused") {
			t.Errorf("log --csv does not show the cause:\n%s", out)
		}

		// A backup killed after its manifest was written: the catalog
		// reaper closed its job as interrupted, without the backup's id.
		s.okJSON(&b, "backup", "--database", "hall", "--type", "differential")
		db, err := sql.Open("sqlite", "file:"+filepath.Join(s.stateDir(), catalog.FileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const reaped = "interrupted: process 1 on host ended without recording an outcome (killed?)"
		res, err := db.Exec(`UPDATE jobs SET status = 'failed', error = ?, backup_id = '', bytes = 0 WHERE backup_id = ? AND kind = 'backup'`, reaped, b.ID)
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("simulating the reaped job: %v, %d rows", err, n)
		}
		var l struct{ Jobs []catalog.Job }
		s.okJSON(&l, "log", "--database", "hall", "--kind", "backup")
		last := l.Jobs[len(l.Jobs)-1]
		if last.Status != "ok" || last.BackupID != b.ID || !strings.Contains(last.Error, "complete") {
			t.Errorf("the killed backup's job: %+v, want ok with backup %s", last, b.ID)
		}
		out = s.ok("log", "--database", "hall", "--kind", "backup")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if l := lines[len(lines)-1]; !strings.Contains(l, b.ID) || strings.Contains(l, " failed ") {
			t.Errorf("log shows the killed backup as\n%s\nwant ok with %s", l, b.ID)
		}
		// The list agrees.
		for _, lb := range s.list().Backups {
			if lb.ID == b.ID && lb.Status != "ok" {
				t.Errorf("list shows %s as %s", b.ID, lb.Status)
			}
		}
	})
}
