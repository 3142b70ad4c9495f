package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/catalog"
)

// TestLogShowsAttempts: `dbopsd log` on a catalog a release before attempts
// left (it migrates on opening: its jobs are first attempts), after a
// differential failed with a transient error and succeeded when the daemon
// retried it. The text table grows an ATTEMPT column only when a job shown
// was retried; --json and --csv always carry the attempt.
func TestLogShowsAttempts(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	policy := filepath.Join(dir, "dbopsd.hcl")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`daemon {
  state_dir = %q
}
storage "local" {
  type = "local"
  path = %q
}
repository {
  storage    = "local"
  passphrase = env("LOG_TEST_PASSPHRASE")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
}
database "hall" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/hall"
  policy = "p"
}
`, state, filepath.Join(dir, "repo"))), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LOG_TEST_PASSPHRASE", "log test passphrase")

	// The old catalog: a full of the release before attempts, and its file
	// as that release left it (no jobs.attempt, schema version 0).
	ctx := context.Background()
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.RecordJob(ctx, catalog.Job{Kind: "backup", Database: "hall", RequestedType: "full", Trigger: "schedule"}, nil); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(state, catalog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`ALTER TABLE jobs DROP COLUMN attempt; PRAGMA user_version = 0`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--config", policy), &out, &errb); code != 0 {
			t.Fatalf("dbopsd %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	// Before any retry: no ATTEMPT column.
	if out := run("log"); strings.Contains(out, "ATTEMPT") || !strings.Contains(out, "schedule") {
		t.Errorf("the log of a catalog without retries:\n%s", out)
	}

	// What the daemon records for a differential that failed with a
	// transient error and succeeded at its second attempt.
	cat, err = catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	for n, jobErr := range []error{errors.New("connecting to 127.0.0.1:5432: connection refused"), nil} {
		if _, err := cat.RecordJob(catalog.WithAttempt(ctx, n+1), catalog.Job{Kind: "backup", Database: "hall",
			RequestedType: "differential", Trigger: "schedule"}, jobErr); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()

	var log struct {
		Jobs []struct {
			RequestedType string `json:"requested_type"`
			Trigger       string `json:"trigger"`
			Attempt       *int   `json:"attempt"`
			Status        string `json:"status"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(run("log", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range log.Jobs {
		if j.Attempt == nil {
			t.Fatalf("a job without attempt in --json: %+v", j)
		}
		got = append(got, fmt.Sprintf("%s/%s#%d/%s", j.RequestedType, j.Trigger, *j.Attempt, j.Status))
	}
	if want := "full/schedule#1/ok differential/schedule#1/failed differential/schedule#2/ok"; strings.Join(got, " ") != want {
		t.Errorf("--json: %s, want %s", strings.Join(got, " "), want)
	}

	table := run("log")
	t.Logf("dbopsd log:\n%s", table)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 jobs:\n%s", strings.Join(lines, "\n"))
	}
	head := strings.Fields(lines[0])
	col := -1
	for i, h := range head {
		if h == "ATTEMPT" {
			col = i
		}
	}
	if col < 0 || head[col-1] != "TRIGGER" {
		t.Fatalf("no ATTEMPT column after TRIGGER: %q", lines[0])
	}
	for i, want := range []string{"1", "1", "2"} {
		// Every field before ATTEMPT is one word here (no os_user).
		if f := strings.Fields(lines[i+1]); len(f) <= col || f[col] != want {
			t.Errorf("job %d shows attempt %q, want %s: %q", i+1, f[col], want, lines[i+1])
		}
	}

	rows, err := csv.NewReader(strings.NewReader(run("log", "--csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(rows[0]) - 1
	if rows[0][last] != "attempt" || rows[1][last] != "1" || rows[3][last] != "2" {
		t.Errorf("--csv: %q", rows)
	}
}
