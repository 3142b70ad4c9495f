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
	"time"

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
	// attempt keeps the position it had when it was the last column.
	const at = 14
	if len(rows[0]) != at+2 || rows[0][at] != "attempt" || rows[1][at] != "1" || rows[3][at] != "2" || rows[0][at+1] != "manifest_missing" {
		t.Errorf("--csv: %q", rows)
	}
}

// TestLogMissingManifest: a backup job whose manifest was deleted since, not
// by prune, is not shown as ok by `dbopsd log` (text, --json, --csv), without
// a list first, also after a catalog rebuild; with the manifest back it is ok
// again.
func TestLogMissingManifest(t *testing.T) {
	s := newOpsSite(t, opsConfig{databases: []string{"hall"}, fill: fillRows(200)})
	s.ok("repo", "init")
	var ids []string
	for _, typ := range []string{"full", "differential"} {
		var b struct{ ID string }
		s.okJSON(&b, "backup", "--database", "hall", "--type", typ)
		ids = append(ids, b.ID)
		time.Sleep(2 * time.Millisecond)
	}
	newest := s.list().Backups[1]
	if newest.ID != ids[1] {
		t.Fatalf("list: newest %s, want %s", newest.ID, ids[1])
	}
	manifest := filepath.Join(s.repoDir(), "manifests", "hall", newest.Generation, newest.ID)
	saved, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		BackupID        string `json:"backup_id"`
		Status          string `json:"status"`
		ManifestMissing *struct {
			Object string    `json:"object"`
			Since  time.Time `json:"since"`
			How    string    `json:"how"`
		} `json:"manifest_missing"`
	}
	jsonLog := func() map[string]entry {
		t.Helper()
		var l struct{ Jobs []entry }
		s.okJSON(&l, "log", "--kind", "backup")
		out := map[string]entry{}
		for _, j := range l.Jobs {
			out[j.BackupID] = j
		}
		if len(out) != 2 {
			t.Fatalf("log --json: %+v", l.Jobs)
		}
		return out
	}
	// line is the text log's line of backup id.
	line := func(id string) string {
		t.Helper()
		out := s.ok("log", "--kind", "backup")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, id) {
				return l
			}
		}
		t.Fatalf("log has no line for %s:\n%s", id, out)
		return ""
	}
	object := "manifests/hall/" + newest.Generation + "/" + newest.ID

	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	l := line(ids[1])
	t.Logf("log: %s", l)
	if !strings.Contains(l, "  missing  its manifest "+object) || strings.Contains(l, " ok ") ||
		!strings.Contains(l, "missing since "+time.Now().Local().Format("2006-01-02")) || !strings.Contains(l, "not by prune") {
		t.Errorf("log, the newest manifest deleted: %s", l)
	}
	if l := line(ids[0]); !strings.Contains(l, " ok ") || strings.Contains(l, "missing") {
		t.Errorf("log, the full's line: %s", l)
	}
	j := jsonLog()
	if m := j[ids[1]].ManifestMissing; j[ids[1]].Status != "ok" || m == nil || m.Object != object ||
		m.Since.Before(before.Add(-time.Minute)) || m.Since.After(time.Now()) {
		t.Errorf("log --json, the newest manifest deleted: %+v", j[ids[1]])
	}
	if j[ids[0]].ManifestMissing != nil {
		t.Errorf("log --json, the full: %+v", j[ids[0]])
	}
	rows, err := csv.NewReader(strings.NewReader(s.ok("log", "--kind", "backup", "--csv"))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("log --csv: %q %v", rows, err)
	}
	for _, r := range rows[1:] {
		if got, want := r[len(r)-1] != "", r[3] == ids[1]; got != want || (want && !strings.Contains(r[len(r)-1], object)) {
			t.Errorf("log --csv: %q", r)
		}
	}

	// The repository unreadable (the passphrase variable unset): the log is
	// still shown, with what the catalog knew.
	os.Unsetenv("OPS_REPO_PASS")
	out, errs, code := s.run("log", "--kind", "backup")
	os.Setenv("OPS_REPO_PASS", opsPassphrase)
	if code != 0 || !strings.Contains(out, "  missing  its manifest has been missing since ") {
		t.Errorf("log without the repository: exit %d\n%s%s", code, out, errs)
	}

	// After a rebuild the catalog has forgotten; the repository's head
	// still names the backup.
	s.ok("catalog", "rebuild")
	if m := jsonLog()[ids[1]].ManifestMissing; m == nil || m.Object != object || !m.Since.IsZero() || !strings.Contains(m.How, "heads/hall") {
		t.Errorf("log --json after catalog rebuild: %+v", m)
	}
	if l := line(ids[1]); !strings.Contains(l, "missing (heads/hall") {
		t.Errorf("log after catalog rebuild: %s", l)
	}

	if err := os.WriteFile(manifest, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if j := jsonLog(); j[ids[1]].ManifestMissing != nil || j[ids[1]].Status != "ok" {
		t.Errorf("log --json with the manifest back: %+v", j[ids[1]])
	}
	if l := line(ids[1]); strings.Contains(l, "missing") {
		t.Errorf("log with the manifest back: %s", l)
	}
}
