package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres is a PostgreSQL server started by the harness. The superuser
// "postgres" connects over TCP on Host:Port without a password; every other
// role must use scram-sha-256.
type Postgres struct {
	Host   string // 127.0.0.1
	Port   int
	User   string // postgres, the superuser
	BinDir string // where initdb, postgres, pg_dump, ... live
	Dir    string // the temporary directory: data/, the unix socket, postgres.log

	srv *server
}

var sourcePostgres, targetPostgres lazy[*Postgres]

// SourcePostgres returns the PostgreSQL server shared by the tests of this
// binary as the source of backups, starting it on first use. Main stops it.
func SourcePostgres(t testing.TB) *Postgres {
	t.Helper()
	return sourcePostgres.get(t, startPostgres)
}

// TargetPostgres returns a second shared PostgreSQL server, independent of
// SourcePostgres, for restores.
func TargetPostgres(t testing.TB) *Postgres {
	t.Helper()
	return targetPostgres.get(t, startPostgres)
}

// NewPostgres starts a PostgreSQL server for t alone, removed at t's cleanup.
// Use it for tests that stop or break the server.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	return private(t, startPostgres)
}

// DSN is the URL for connecting to database as the superuser.
func (p *Postgres) DSN(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(p.User),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Exec runs sql, which may hold several statements, on database as the
// superuser, failing t on error.
func (p *Postgres) Exec(t testing.TB, database, sql string) {
	t.Helper()
	if _, err := p.exec(context.Background(), database, sql); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// QueryString runs sql on database and returns the first column of the first
// row of its last result, as text ("" for NULL). It fails t when there is no
// row.
func (p *Postgres) QueryString(t testing.TB, database, sql string) string {
	t.Helper()
	results, err := p.exec(context.Background(), database, sql)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	if len(results) == 0 {
		t.Fatalf("harness: query on PostgreSQL database %s returned no result: %s", database, sql)
	}
	last := results[len(results)-1]
	if len(last.Rows) == 0 || len(last.Rows[0]) == 0 {
		t.Fatalf("harness: query on PostgreSQL database %s returned no row: %s", database, sql)
	}
	return string(last.Rows[0][0])
}

// exec uses the simple query protocol, which takes several statements at
// once and returns every value as text.
func (p *Postgres) exec(ctx context.Context, database, sql string) ([]*pgconn.Result, error) {
	conn, err := pgconn.Connect(ctx, p.DSN(database))
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL database %s on port %d: %w", database, p.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("running SQL on PostgreSQL database %s: %w\n%s", database, err, clip(sql))
	}
	return results, nil
}

// Stop shuts the server down (fast shutdown), keeping its data for Start.
// Stop only servers from NewPostgres: a shared one serves other tests too.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.srv.stop(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// Start starts a stopped server again on the same port and data.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.srv.start(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// pgBinDir picks $DBOPS_PG_BIN or the newest /usr/lib/postgresql/*/bin.
func pgBinDir() (string, error) {
	if d := os.Getenv("DBOPS_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("DBOPS_PG_BIN=%s has no initdb: %w", d, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install them with `make deps` (Debian packages postgresql postgresql-contrib) or set DBOPS_PG_BIN")
	}
	major := func(d string) int {
		n, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(d)), ".", 2)[0])
		return n
	}
	sort.Slice(found, func(i, j int) bool { return major(found[i]) > major(found[j]) })
	return found[0], nil
}

// pgHBA trusts the superuser on loopback and asks every other role for a
// scram-sha-256 password, so tests can exercise real password handling.
const pgHBA = `# written by the dbopsd test harness
local   all          postgres                 trust
local   all          all                      scram-sha-256
host    all          postgres  127.0.0.1/32   trust
host    all          postgres  ::1/128        trust
host    all          all       127.0.0.1/32   scram-sha-256
host    all          all       ::1/128        scram-sha-256
local   replication  postgres                 trust
host    replication  postgres  127.0.0.1/32   trust
host    replication  postgres  ::1/128        trust
host    replication  all       127.0.0.1/32   scram-sha-256
host    replication  all       ::1/128        scram-sha-256
`

func startPostgres() (*Postgres, func() error, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, nil, err
	}
	cred, err := runAs("postgres")
	if err != nil {
		return nil, nil, err
	}
	dir, err := serverDir("dbops-pg-*", cred)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing PostgreSQL: %w", err)
	}
	fail := func(err error) (*Postgres, func() error, error) {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "postgres.log")
	initdb := func(locale string) error {
		return command{
			path: filepath.Join(bin, "initdb"),
			args: []string{"-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
				"-E", "UTF8", "--locale=" + locale, "--no-sync"},
			dir: dir, cred: cred, logPath: logPath,
		}.run("initializing a PostgreSQL data directory")
	}
	if err := initdb("C.UTF-8"); err != nil {
		// Machines without the C.UTF-8 locale still have C.
		if rmErr := os.RemoveAll(data); rmErr != nil {
			return fail(fmt.Errorf("%w; then removing %s: %w", err, data, rmErr))
		}
		if err2 := initdb("C"); err2 != nil {
			return fail(fmt.Errorf("%w; retrying with locale C: %w", err, err2))
		}
	}
	hba := filepath.Join(data, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(pgHBA), 0o600); err != nil {
		return fail(fmt.Errorf("writing %s: %w", hba, err))
	}
	if cred != nil {
		if err := os.Chown(hba, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("handing %s to the postgres user: %w", hba, err))
		}
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	p := &Postgres{Host: "127.0.0.1", Port: port, User: "postgres", BinDir: bin, Dir: dir}
	p.srv = &server{
		name: fmt.Sprintf("PostgreSQL on port %d", port),
		dir:  dir,
		command: command{
			path: filepath.Join(bin, "postgres"),
			args: []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir,
				"-c", "listen_addresses=127.0.0.1",
				"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
				"-c", "max_connections=100", "-c", "shared_buffers=64MB"},
			dir: dir, cred: cred, logPath: logPath,
		},
		stopSig: syscall.SIGINT, // fast shutdown: roll back sessions, checkpoint, exit
		probe: func(ctx context.Context) error {
			// Connect only once the postmaster says it is ready (the
			// status line of postmaster.pid, as pg_ctl -w reads it): a
			// connection during start-up writes "FATAL: the database
			// system is starting up" into the server log, which the
			// diagnostics' error-log check would then rightly report.
			pid, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
			if err != nil {
				return err
			}
			if lines := strings.Split(string(pid), "\n"); len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" {
				return errors.New("postmaster.pid does not say ready yet")
			}
			conn, err := pgconn.Connect(ctx, p.DSN("postgres"))
			if err != nil {
				return err
			}
			return conn.Close(ctx)
		},
	}
	if err := p.srv.start(); err != nil {
		p.srv.close()
		return nil, nil, err
	}
	return p, p.srv.close, nil
}
