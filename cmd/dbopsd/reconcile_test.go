package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/internal/harness"
)

// TestReconcileCommands: `reconcile run NAME --json` reports what is
// missing on each side and what differs between a PostgreSQL and a MariaDB
// table, `reconcile show` prints the stored result as JSON and CSV, and
// --exit-code makes differences exit 1.
func TestReconcileCommands(t *testing.T) {
	pg, my := harness.SourcePostgres(t), harness.SourceMariaDB(t)
	n := dbSeq.Add(1)
	pgdb, mydb := fmt.Sprintf("rc_cli_pg_%d", n), fmt.Sprintf("rc_cli_my_%d", n)
	pg.Exec(t, "postgres", "CREATE DATABASE "+pgdb)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+pgdb+" WITH (FORCE)") })
	my.Exec(t, "", "CREATE DATABASE "+mydb)
	t.Cleanup(func() { my.Exec(t, "", "DROP DATABASE IF EXISTS "+mydb) })
	pg.Exec(t, pgdb, `CREATE TABLE hall (id int PRIMARY KEY, ticket text, fee numeric(8,2));
		INSERT INTO hall SELECT i, 'T' || i, i * 0.5 FROM generate_series(1, 300) AS i;`)
	my.Exec(t, mydb, `CREATE TABLE hall (id int PRIMARY KEY, ticket varchar(20), fee decimal(10,4));
		INSERT INTO hall SELECT seq, CONCAT('T', seq), seq * 0.5 FROM seq_1_to_300;`)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "dbopsd.hcl")
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
}
storage "repo" {
  type = "local"
  path = %q
}
repository {
  storage    = "repo"
  passphrase = env("E2E_REPO_PASS")
}
policy "p" {}
database "local" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
database "source" {
  engine = "mariadb"
  dsn    = %q
  policy = "p"
}
reconcile "hall" {
  left  = { database = "local", table = "public.hall" }
  right = { database = "source", table = "hall" }
  key   = ["id"]
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), pg.DSN(pgdb), my.DSN(mydb))
	if err := os.WriteFile(cfgPath, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2E_REPO_PASS", repoPassphrase)
	cli := func(args ...string) (string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), append(args, "--config", cfgPath, "-q"), &out, &errb)
		if code != 0 && code != 1 {
			t.Fatalf("dbopsd %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String(), code
	}

	if out, code := cli("config", "validate"); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("config validate: exit %d\n%s", code, out)
	}
	if out, code := cli("reconcile", "run", "hall", "--exit-code"); code != 0 || !strings.Contains(out, "reconcile hall: MATCH") {
		t.Fatalf("equal tables: exit %d\n%s", code, out)
	}
	my.Exec(t, mydb, `DELETE FROM hall WHERE id = 7; UPDATE hall SET fee = fee + 1 WHERE id = 9;
		INSERT INTO hall VALUES (301, 'T301', 1.5);`)
	out, code := cli("reconcile", "run", "hall", "--json")
	if code != 0 {
		t.Fatalf("differences without --exit-code: exit %d", code)
	}
	var res struct {
		MissingLeft  int64 `json:"missing_left"`
		MissingRight int64 `json:"missing_right"`
		Different    int64 `json:"different"`
		Samples      struct {
			MissingLeft  []string `json:"missing_left"`
			MissingRight []string `json:"missing_right"`
			Different    []struct {
				Key     string   `json:"key"`
				Columns []string `json:"columns"`
			} `json:"different"`
		} `json:"samples"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("reconcile run --json: %v\n%s", err, out)
	}
	if res.MissingLeft != 1 || res.MissingRight != 1 || res.Different != 1 || fmt.Sprint(res.Samples.MissingLeft) != "[301]" ||
		fmt.Sprint(res.Samples.MissingRight) != "[7]" || len(res.Samples.Different) != 1 ||
		res.Samples.Different[0].Key != "9" || fmt.Sprint(res.Samples.Different[0].Columns) != "[fee]" {
		t.Errorf("reconcile run --json = %s", out)
	}
	if _, code := cli("reconcile", "run", "hall", "--exit-code"); code != 1 {
		t.Errorf("differences with --exit-code: exit %d, want 1", code)
	}
	if shown, _ := cli("reconcile", "show", "hall", "--json"); !strings.Contains(shown, `"missing_left": 1`) {
		t.Errorf("reconcile show --json:\n%s", shown)
	}
	if csv, _ := cli("reconcile", "show", "hall", "--csv"); csv != "kind,key,columns\nmissing_left,301,\nmissing_right,7,\ndifferent,9,fee\n" {
		t.Errorf("reconcile show --csv:\n%s", csv)
	}
	// config validate checks the tables, the key and the columns on the
	// servers, and says where in the file the wrong name is written.
	bad := strings.Replace(strings.Replace(policy, `key   = ["id"]`, `key   = ["uid"]`, 1), `table = "hall" }`, `table = "hal" }`, 1)
	if err := os.WriteFile(cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var vout, verr bytes.Buffer
	code = run(context.Background(), []string{"config", "validate", "--servers", "--config", cfgPath}, &vout, &verr)
	if code != 1 || !strings.Contains(verr.String(), cfgPath+":25:11: error: Table not found") ||
		!strings.Contains(verr.String(), cfgPath+":26:11: error: Key column not found") ||
		!strings.Contains(verr.String(), `key column "uid" does not exist`) {
		t.Errorf("config validate with a wrong key and table: exit %d\n%s", code, verr.String())
	}
	if code := run(context.Background(), []string{"config", "validate", "--config", cfgPath}, &vout, &verr); code != 0 {
		t.Errorf("config validate without --servers (no connection): exit %d", code)
	}
	if err := os.WriteFile(cfgPath, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	text, _ := cli("reconcile", "show", "hall")
	t.Log("\n" + text)
	if !strings.Contains(text, "missing on the left:  1 (301)") ||
		!strings.Contains(text, "previous run") {
		t.Errorf("reconcile show:\n%s", text)
	}
}
