package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
)

// The prune, mirror and crash tests share this site: a policy file with
// databases on the harness's source PostgreSQL, a scratch target on its
// target server, and storage blocks the test chooses.

const opsPassphrase = "ops-repo-passphrase-5e1f"

var opsSeq atomic.Int64

type opsSite struct {
	t      *testing.T
	dir    string
	config string
	src    *harness.Postgres
	dst    *harness.Postgres
	// dbs maps a policy database name to its PostgreSQL database.
	dbs map[string]string
}

type opsConfig struct {
	// storages holds storage blocks; "repo" is the repository's unless
	// set, a local directory.
	storages    string
	mirrors     []string
	generations int
	// databases are the policy names; each gets its own PostgreSQL
	// database, filled by fill.
	databases []string
	fill      func(s *opsSite, pgdb string)
}

func newOpsSite(t *testing.T, c opsConfig) *opsSite {
	t.Helper()
	s := &opsSite{t: t, dir: t.TempDir(), src: harness.SourcePostgres(t), dst: harness.TargetPostgres(t), dbs: map[string]string{}}
	if c.storages == "" {
		c.storages = fmt.Sprintf("storage \"repo\" {\n  type = \"local\"\n  path = %q\n}\n", s.repoDir())
	}
	if c.generations == 0 {
		c.generations = 20
	}
	var dbBlocks strings.Builder
	for _, name := range c.databases {
		pgdb := fmt.Sprintf("ops_%s_%d", name, opsSeq.Add(1))
		s.dbs[name] = pgdb
		s.src.Exec(t, "postgres", "CREATE DATABASE "+pgdb)
		t.Cleanup(func() { s.src.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+pgdb+" WITH (FORCE)") })
		if c.fill != nil {
			c.fill(s, pgdb)
		}
		fmt.Fprintf(&dbBlocks, "database %q {\n  engine = \"postgres\"\n  dsn    = \"postgres://postgres@127.0.0.1:%d/%s?sslmode=disable\"\n  policy = \"p\"\n}\n", name, s.src.Port, pgdb)
	}
	mirrors := ""
	if len(c.mirrors) > 0 {
		b, _ := json.Marshal(c.mirrors)
		mirrors = "  mirrors    = " + string(b) + "\n"
	}
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
  socket    = %q
}
%s
repository {
  storage    = "repo"
%s  passphrase = env("OPS_REPO_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "biweekly"
  # Test databases are a few chunks: any change rewrites a large fraction
  # of them, and the ratio rule (tested on its own) would take fulls.
  differential_max_ratio = 1
  retention {
    generations = %d
  }
}
%s
restore_target "scratch" {
  engine        = "postgres"
  dsn           = "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
  scratch       = true
  allow_restore = true
}
`, s.stateDir(), filepath.Join(s.dir, "dbopsd.sock"), c.storages, mirrors, c.generations, dbBlocks.String(), s.dst.Port)
	s.config = filepath.Join(s.dir, "dbopsd.hcl")
	if err := os.WriteFile(s.config, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPS_REPO_PASS", opsPassphrase)
	return s
}

func (s *opsSite) repoDir() string  { return filepath.Join(s.dir, "repo") }
func (s *opsSite) stateDir() string { return filepath.Join(s.dir, "state") }

// run runs a command in-process.
func (s *opsSite) run(args ...string) (string, string, int) {
	s.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", s.config, "-q")
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func (s *opsSite) ok(args ...string) string {
	s.t.Helper()
	out, errs, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("dbopsd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// okJSON runs a command with --json and decodes its output into v.
func (s *opsSite) okJSON(v any, args ...string) {
	s.t.Helper()
	out := s.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("dbopsd %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type opsBackup struct {
	ID         string `json:"id"`
	Database   string `json:"database"`
	Type       string `json:"type"`
	Generation string `json:"generation"`
	Status     string `json:"status"`
}

type opsList struct {
	Backups []opsBackup `json:"backups"`
}

func (s *opsSite) list(extra ...string) opsList {
	s.t.Helper()
	var l opsList
	s.okJSON(&l, append([]string{"list"}, extra...)...)
	return l
}

// buildDbopsd builds the dbopsd binary into a temporary directory.
func buildDbopsd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dbopsd")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// command prepares the binary with the site's policy.
func (s *opsSite) command(bin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, append(args, "--config", s.config, "-q")...)
	cmd.Env = append(os.Environ(), "OPS_REPO_PASS="+opsPassphrase)
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// openRepo opens the site's local repository directly.
func (s *opsSite) openRepo() *repository.Repo {
	s.t.Helper()
	st, err := local.New(s.repoDir())
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := repository.Open(context.Background(), st, secret.New(opsPassphrase))
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// unreferenced lists the chunks of the local repository that no manifest
// names.
func (s *opsSite) unreferenced() []string {
	s.t.Helper()
	ctx := context.Background()
	r := s.openRepo()
	refs, err := r.ListManifests(ctx, "")
	if err != nil {
		s.t.Fatal(err)
	}
	named := map[string]bool{}
	for _, ref := range refs {
		m, err := r.LoadManifest(ctx, ref)
		if err != nil {
			s.t.Fatal(err)
		}
		for k := range m.ChunkKeys() {
			named[k] = true
		}
	}
	var out []string
	err = r.Storage().List(ctx, repository.DataPrefix, func(oi storage.ObjectInfo) error {
		if !named[oi.Key] {
			out = append(out, oi.Key)
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// fillRows creates a table of n rows of about 120 bytes each.
func fillRows(n int) func(s *opsSite, pgdb string) {
	return func(s *opsSite, pgdb string) {
		s.src.Exec(s.t, pgdb, fmt.Sprintf(`CREATE TABLE tickets (id bigint PRIMARY KEY, window_no int, citizen text, note text);
INSERT INTO tickets SELECT g, g %% 40, '市民' || g, md5(g::text) || md5((g * 7)::text) || repeat('x', g %% 17)
FROM generate_series(1, %d) g;
CREATE TABLE staff (id int PRIMARY KEY, name text);
INSERT INTO staff SELECT g, '工作人员' || g FROM generate_series(1, 50) g;`, n))
	}
}
