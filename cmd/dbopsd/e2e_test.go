package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/internal/repotest"
)

func TestMain(m *testing.M) { harness.Main(m) }

// Secrets the tests put into the environment; none may appear in any output
// or file dbopsd writes (TestSecretsNeverLeak).
const (
	srcPassword    = "Src-P4ss-9f3b1d7e"
	targetPassword = "Tgt-P4ss-5c2a8e60"
	repoPassphrase = "repo-passphrase-0b7d4c19e2"
)

var dbSeq atomic.Int64

// site is one test's policy: a source database on the source server, a
// scratch restore target on the other server, a local repository.
type testSite struct {
	t      *testing.T
	dir    string
	config string
	src    *harness.Postgres
	dst    *harness.Postgres
	srcDB  string
	// every stdout/stderr the commands printed, for the secrets check
	outputs bytes.Buffer
}

// newSite creates a source database with the service-hall fixture and a
// policy file. Both servers get a password-authenticated role for dbopsd.
func newSite(t *testing.T, storageBlock string) *testSite {
	t.Helper()
	src, dst := harness.SourcePostgres(t), harness.TargetPostgres(t)
	for _, p := range []struct {
		pg   *harness.Postgres
		pass string
	}{{src, srcPassword}, {dst, targetPassword}} {
		p.pg.Exec(t, "postgres", fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops') THEN CREATE ROLE dbops LOGIN SUPERUSER; END IF;
			END $$; ALTER ROLE dbops PASSWORD '%s'`, p.pass))
	}
	s := &testSite{t: t, dir: t.TempDir(), src: src, dst: dst, srcDB: fmt.Sprintf("e2e_src_%d", dbSeq.Add(1))}
	src.Exec(t, "postgres", "CREATE DATABASE "+s.srcDB)
	src.Exec(t, s.srcDB, hallFixture)
	t.Cleanup(func() { src.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+s.srcDB+" WITH (FORCE)") })
	if storageBlock == "" {
		storageBlock = fmt.Sprintf("storage \"repo\" {\n  type = \"local\"\n  path = %q\n}", filepath.Join(s.dir, "repo"))
	}
	s.config = filepath.Join(s.dir, "dbopsd.hcl")
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
  socket    = %q
}
%s
repository {
  storage    = "repo"
  passphrase = env("E2E_REPO_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  # A test database is a few chunks; the ratio rule has its own test.
  differential_max_ratio = 0.9
}
database "hall" {
  engine   = "postgres"
  dsn      = "postgres://dbops@127.0.0.1:%d/%s?sslmode=disable"
  password = env("E2E_SRC_PASS")
  policy   = "p"
}
restore_target "scratch" {
  engine        = "postgres"
  dsn           = "postgres://dbops@127.0.0.1:%d/postgres?sslmode=disable"
  password      = env("E2E_DST_PASS")
  scratch       = true
  allow_restore = true
}
`, filepath.Join(s.dir, "state"), filepath.Join(s.dir, "dbopsd.sock"), storageBlock, src.Port, s.srcDB, dst.Port)
	if err := os.WriteFile(s.config, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2E_REPO_PASS", repoPassphrase)
	t.Setenv("E2E_SRC_PASS", srcPassword)
	t.Setenv("E2E_DST_PASS", targetPassword)
	return s
}

// run runs one dbopsd command in-process with the site's policy.
func (s *testSite) run(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", s.config, "-q")
	code = run(context.Background(), args, &out, &errb)
	s.outputs.Write(out.Bytes())
	s.outputs.Write(errb.Bytes())
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (s *testSite) ok(args ...string) string {
	s.t.Helper()
	out, errs, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("dbopsd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fails runs a command that must fail with exit 1 and returns stdout+stderr.
func (s *testSite) fails(args ...string) string {
	s.t.Helper()
	out, errs, code := s.run(args...)
	if code != 1 {
		s.t.Fatalf("dbopsd %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out + errs
}

type listed struct {
	Backups []struct {
		ID              string  `json:"id"`
		Database        string  `json:"database"`
		Type            string  `json:"type"`
		StartedAt       string  `json:"started_at"`
		DurationSeconds float64 `json:"duration_seconds"`
		StoredBytes     int64   `json:"stored_bytes"`
		Status          string  `json:"status"`
		Reason          string  `json:"reason"`
		VerifyStatus    string  `json:"verify_status"`
	} `json:"backups"`
}

func (s *testSite) list() listed {
	s.t.Helper()
	var l listed
	if err := json.Unmarshal([]byte(s.ok("list", "--json")), &l); err != nil {
		s.t.Fatal(err)
	}
	return l
}

// fingerprint is a table's row count and content digest, computed by the server.
func fingerprint(t *testing.T, pg *harness.Postgres, db, table string) string {
	return pg.QueryString(t, db, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM %s t`, table))
}

const hallFixture = `
CREATE SCHEMA hall;
CREATE TABLE hall.tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ticket_no text NOT NULL,
  citizen text, note text, raw bytea, doc jsonb, issued_at timestamptz NOT NULL);
COMMENT ON TABLE hall.tickets IS '取号记录';
INSERT INTO hall.tickets (ticket_no, citizen, note, raw, doc, issued_at)
SELECT 'A' || g, '市民' || g, CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN '' ELSE E'line\tone\nline two \\ ' || g END,
  decode(md5(g::text), 'hex'), jsonb_build_object('n', g, '事项', '社保查询'), now() - g * interval '1 minute'
FROM generate_series(1, 100000) g;
CREATE TABLE hall.ratings (id serial PRIMARY KEY, ticket_id bigint REFERENCES hall.tickets(id), score int CHECK (score BETWEEN 1 AND 5), comment text);
INSERT INTO hall.ratings (ticket_id, score, comment) SELECT g, 1 + g % 5, '满意 👍' FROM generate_series(1, 5000) g;
CREATE VIEW hall.recent AS SELECT * FROM hall.tickets WHERE issued_at > now() - interval '1 day';
`

func TestBackupListRestoreVerify(t *testing.T) {
	s := newSite(t, "")
	s.ok("config", "validate")
	s.ok("repo", "init")
	out := s.ok("backup", "--database", "hall", "--type", "full")
	if !strings.Contains(out, "full") {
		t.Errorf("backup output does not say full: %q", out)
	}
	l := s.list()
	if len(l.Backups) != 1 {
		t.Fatalf("list: %+v", l)
	}
	full := l.Backups[0]
	if full.Type != "full" || full.Database != "hall" || full.Status != "ok" || full.StoredBytes <= 0 || full.StartedAt == "" || full.DurationSeconds <= 0 {
		t.Errorf("list entry of the full: %+v", full)
	}

	// A change, then a differential.
	// New rows the size of the old ones: tiny rows would land in free space
	// all over the heap, and a logical differential would grow with them.
	s.src.Exec(t, s.srcDB, `INSERT INTO hall.tickets (ticket_no, citizen, note, raw, doc, issued_at)
		SELECT 'N' || g, '新市民' || g, E'line\tone\nline two \\ ' || g, decode(md5(g::text), 'hex'), jsonb_build_object('n', g, '事项', '社保查询'), now()
		FROM generate_series(100001, 100400) g;
		UPDATE hall.ratings SET score = 5 WHERE id <= 50`)
	s.ok("backup", "--database", "hall", "--type", "differential")
	l = s.list()
	if len(l.Backups) != 2 || l.Backups[1].Type != "differential" {
		t.Fatalf("list after differential: %+v", l)
	}
	diff := l.Backups[1]
	if diff.StoredBytes >= full.StoredBytes {
		t.Errorf("differential stored %d bytes, its full %d", diff.StoredBytes, full.StoredBytes)
	}

	// show: what the differential holds, without restoring it.
	out = s.ok("show", "--database", "hall")
	for _, want := range []string{diff.ID, "differential of full " + full.ID, "hall.tickets", "100400", "hall.ratings", "position",
		"STORED", "how tables were stored", "hall.ratings: rows store less"} {
		if !strings.Contains(out, want) {
			t.Errorf("show does not say %q:\n%s", want, out)
		}
	}

	// Redirected restore of the newest (the differential): equal data on the other server.
	s.ok("restore", "--database", "hall", "--target", "scratch", "--as", "e2e_restored")
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS e2e_restored WITH (FORCE)") })
	for _, table := range []string{"hall.tickets", "hall.ratings"} {
		if a, b := fingerprint(t, s.src, s.srcDB, table), fingerprint(t, s.dst, "e2e_restored", table); a != b {
			t.Errorf("%s differs after restore: %s vs %s", table, a, b)
		}
	}
	if c := s.dst.QueryString(t, "e2e_restored", "SELECT obj_description('hall.tickets'::regclass)"); c != "取号记录" {
		t.Errorf("table comment after restore: %q", c)
	}
	// Identity continues after restore.
	s.dst.Exec(t, "e2e_restored", "INSERT INTO hall.tickets (ticket_no, issued_at) VALUES ('after', now())")
	if id := s.dst.QueryString(t, "e2e_restored", "SELECT max(id) FROM hall.tickets"); id != "100401" {
		t.Errorf("identity after restore: next id %s, want 100401", id)
	}

	// The same name again is refused without --replace, and says how.
	msg := s.fails("restore", "--database", "hall", "--target", "scratch", "--as", "e2e_restored")
	if !strings.Contains(msg, "exists") || !strings.Contains(msg, "--replace") {
		t.Errorf("restore onto an existing database: %q", msg)
	}

	// The full, by id, with --replace: the first state again.
	s.ok("restore", "--database", "hall", "--backup", full.ID, "--target", "scratch", "--as", "e2e_restored", "--replace")
	if n := s.dst.QueryString(t, "e2e_restored", "SELECT count(*) FROM hall.tickets"); n != "100000" {
		t.Errorf("restore of the full: %s tickets", n)
	}

	// Single-table restore.
	s.ok("restore", "--database", "hall", "--target", "scratch", "--as", "e2e_one_table", "--table", "hall.ratings")
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS e2e_one_table WITH (FORCE)") })
	if a, b := fingerprint(t, s.src, s.srcDB, "hall.ratings"), fingerprint(t, s.dst, "e2e_one_table", "hall.ratings"); a != b {
		t.Errorf("single-table restore differs: %s vs %s", a, b)
	}
	if n := s.dst.QueryString(t, "e2e_one_table", "SELECT count(*) FROM pg_tables WHERE schemaname = 'hall'"); n != "1" {
		t.Errorf("single-table restore created %s tables", n)
	}

	// Verification of both backups.
	out = s.ok("verify", "--database", "hall", "--target", "scratch")
	if !strings.Contains(out, "VERIFIED") {
		t.Errorf("verify output: %q", out)
	}
	var v struct {
		Verified bool   `json:"verified"`
		Tables   int    `json:"tables"`
		Scratch  string `json:"scratch_database"`
	}
	if err := json.Unmarshal([]byte(s.ok("verify", "--database", "hall", "--backup", full.ID, "--target", "scratch", "--json")), &v); err != nil || !v.Verified || v.Tables != 2 {
		t.Errorf("verify --json: %+v %v", v, err)
	}
	if n := s.dst.QueryString(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_database WHERE datname = '%s'", v.Scratch)); n != "0" {
		t.Errorf("scratch database %s was not dropped", v.Scratch)
	}
	if l := s.list(); l.Backups[0].VerifyStatus != "ok" {
		t.Errorf("list does not show the verification: %+v", l.Backups[0])
	}

	// The job log has every attempt, with its trigger and outcome.
	var log struct {
		Jobs []struct {
			Kind, Status, Trigger string
			OSUser                string `json:"os_user"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(s.ok("log", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, j := range log.Jobs {
		kinds[j.Kind+"/"+j.Status]++
		if j.Trigger != "cli" || j.OSUser == "" {
			t.Errorf("job without trigger or user: %+v", j)
		}
	}
	if kinds["backup/ok"] != 2 || kinds["restore/ok"] != 3 || kinds["restore/failed"] != 1 || kinds["verify/ok"] != 2 {
		t.Errorf("job log: %v", kinds)
	}

	// The catalog is only an index: delete it, rebuild it from storage.
	if err := os.Remove(filepath.Join(s.dir, "state", "catalog.db")); err != nil {
		t.Fatal(err)
	}
	s.ok("catalog", "rebuild")
	if l := s.list(); len(l.Backups) != 2 {
		t.Errorf("after catalog rebuild: %+v", l)
	}
	s.ok("check", "--read-data")

	// Corrupt the largest stored object: verify and check must fail, naming the backup.
	repotest.DamageLargestChunk(t, filepath.Join(s.dir, "repo"))
	msg = s.fails("verify", "--database", "hall", "--target", "scratch")
	if !strings.Contains(msg, "FAILED") || !strings.Contains(msg, "damaged") {
		t.Errorf("verify of a corrupted backup: %q", msg)
	}
	// It prints nothing it did not do: the restore failed, so nothing
	// was restored or compared.
	if !strings.Contains(msg, "not restored") || strings.Contains(msg, "restored into") || strings.Contains(msg, "compared 0 tables") {
		t.Errorf("verify of a corrupted backup claims steps it did not do: %q", msg)
	}
	msg = s.fails("check", "--read-data")
	if !strings.Contains(msg, full.ID) {
		t.Errorf("check --read-data does not name the damaged backup %s: %q", full.ID, msg)
	}
	assertNoSecrets(t, s)
}

func TestDifferentialWithoutFullTakesFull(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")
	out := s.ok("backup", "--database", "hall", "--type", "differential")
	if !strings.Contains(out, "no full backup yet") {
		t.Errorf("backup output does not say why it took a full: %q", out)
	}
	if l := s.list(); len(l.Backups) != 1 || l.Backups[0].Type != "full" || l.Backups[0].Reason == "" {
		t.Errorf("list: %+v", l)
	}
}

// TestDifferentialTooLargeTakesFull: a differential that would store more
// than differential_max_ratio of its full becomes a full and says why.
func TestDifferentialTooLargeTakesFull(t *testing.T) {
	s := newSite(t, "")
	p := readFile(t, s.config)
	p = strings.Replace(p, "differential_max_ratio = 0.9", "differential_max_ratio = 0.05", 1)
	s.config = writeTemp(t, s.dir, "ratio.hcl", p)
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	// Rewrite every row: the differential would be as large as the full.
	s.src.Exec(t, s.srcDB, "UPDATE hall.tickets SET citizen = citizen || '.'")
	out := s.ok("backup", "--database", "hall", "--type", "differential")
	if !strings.Contains(out, "would store more than 5%") || !strings.Contains(out, ": full, ") {
		t.Errorf("backup output: %q", out)
	}
	l := s.list()
	if len(l.Backups) != 2 || l.Backups[1].Type != "full" || !strings.Contains(l.Backups[1].Reason, "differential_max_ratio") && !strings.Contains(l.Backups[1].Reason, "would store more than") {
		t.Fatalf("list: %+v", l)
	}
	var log struct {
		Jobs []struct {
			RequestedType string `json:"requested_type"`
			Status        string
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(s.ok("log", "--json")), &log); err != nil || len(log.Jobs) != 2 || log.Jobs[1].RequestedType != "differential" || log.Jobs[1].Status != "ok" {
		t.Errorf("job log: %+v %v", log, err)
	}
}

func TestBackupToMinIO(t *testing.T) {
	mc := harness.SharedMinIO(t)
	bucket := mc.Bucket(t)
	t.Setenv("E2E_S3_ACCESS", mc.AccessKey)
	t.Setenv("E2E_S3_SECRET", mc.SecretKey)
	s := newSite(t, fmt.Sprintf(`storage "repo" {
  type       = "s3"
  endpoint   = %q
  bucket     = %q
  prefix     = "chenggong"
  access_key = env("E2E_S3_ACCESS")
  secret_key = env("E2E_S3_SECRET")
  use_tls    = false
}`, mc.Endpoint, bucket))
	s.ok("repo", "init")
	s.ok("backup", "--database", "hall", "--type", "full")
	s.ok("verify", "--database", "hall", "--target", "scratch")
	s.ok("check", "--read-data")
	out := s.ok("restore", "--database", "hall", "--target", "scratch", "--as", "e2e_from_s3", "--replace")
	t.Cleanup(func() { s.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS e2e_from_s3 WITH (FORCE)") })
	if a, b := fingerprint(t, s.src, s.srcDB, "hall.tickets"), fingerprint(t, s.dst, "e2e_from_s3", "hall.tickets"); a != b {
		t.Errorf("restore from MinIO differs: %s vs %s (%s)", a, b, out)
	}
	if strings.Contains(s.outputs.String(), mc.SecretKey) {
		t.Error("the S3 secret key appears in dbopsd's output")
	}
	assertNoSecrets(t, s)
}

// TestFaults: a database that is down, a storage that is unreachable, a
// wrong passphrase, a bad policy file: each a clear error, nothing listed.
func TestFaults(t *testing.T) {
	s := newSite(t, "")
	s.ok("repo", "init")

	t.Run("database down", func(t *testing.T) {
		down := strings.Replace(readFile(t, s.config), fmt.Sprintf("127.0.0.1:%d/%s", s.src.Port, s.srcDB), "127.0.0.1:1/"+s.srcDB, 1)
		s.config = writeTemp(t, s.dir, "down.hcl", down)
		msg := s.fails("backup", "--database", "hall", "--type", "full")
		if !strings.Contains(msg, "hall") || !strings.Contains(strings.ToLower(msg), "connect") {
			t.Errorf("backup of a database that is down: %q", msg)
		}
		if l := s.list(); len(l.Backups) != 0 {
			t.Errorf("a failed backup is listed: %+v", l)
		}
	})
	s.config = filepath.Join(s.dir, "dbopsd.hcl")

	t.Run("wrong passphrase", func(t *testing.T) {
		t.Setenv("E2E_REPO_PASS", "not the passphrase")
		msg := s.fails("backup", "--database", "hall", "--type", "full")
		if !strings.Contains(msg, "wrong passphrase") {
			t.Errorf("wrong passphrase: %q", msg)
		}
	})

	t.Run("storage unreachable", func(t *testing.T) {
		bad := strings.Replace(readFile(t, s.config), fmt.Sprintf("storage \"repo\" {\n  type = \"local\"\n  path = %q\n}", filepath.Join(s.dir, "repo")),
			"storage \"repo\" {\n  type = \"s3\"\n  endpoint = \"127.0.0.1:1\"\n  bucket = \"dbops-x\"\n  access_key = env(\"E2E_S3_ACCESS\")\n  secret_key = env(\"E2E_S3_SECRET\")\n}", 1)
		t.Setenv("E2E_S3_SECRET", "s3-secret-never-printed")
		t.Setenv("E2E_S3_ACCESS", "dbops")
		s.config = writeTemp(t, s.dir, "unreachable.hcl", bad)
		defer func() { s.config = filepath.Join(s.dir, "dbopsd.hcl") }()
		msg := s.fails("backup", "--database", "hall", "--type", "full")
		if !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "s3-secret-never-printed") {
			t.Errorf("unreachable storage: %q", msg)
		}
	})

	t.Run("bad policy file", func(t *testing.T) {
		p := writeTemp(t, s.dir, "bad.hcl", strings.Replace(readFile(t, filepath.Join(s.dir, "dbopsd.hcl")), `policy   = "p"`, `policy   = "nope"`, 1))
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"config", "validate", "--config", p}, &out, &errb)
		line := 1 + strings.Count(readFile(t, p)[:strings.Index(readFile(t, p), `policy   = "nope"`)], "\n")
		if code != 1 || !strings.Contains(errb.String(), fmt.Sprintf("bad.hcl:%d:14:", line)) || !strings.Contains(errb.String(), `"nope"`) {
			t.Errorf("config validate of a bad file: exit %d\n%s", code, errb.String())
		}
	})

	t.Run("unknown database", func(t *testing.T) {
		msg := s.fails("backup", "--database", "nosuch", "--type", "full")
		if !strings.Contains(msg, "hall") {
			t.Errorf("unknown database error does not list the known ones: %q", msg)
		}
	})
	if l := s.list(); len(l.Backups) != 0 {
		t.Errorf("failed backups are listed: %+v", l)
	}
	assertNoSecrets(t, s)
}

// assertNoSecrets greps every output and every file dbopsd wrote for the
// passwords and the passphrase.
func assertNoSecrets(t *testing.T, s *testSite) {
	t.Helper()
	secrets := []string{srcPassword, targetPassword, repoPassphrase}
	for _, sec := range secrets {
		if strings.Contains(s.outputs.String(), sec) {
			t.Errorf("a secret appears in dbopsd's output")
		}
	}
	_ = filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".hcl") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("a secret appears in %s", path)
			}
		}
		return nil
	})
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTemp(t *testing.T, dir, name, content string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
