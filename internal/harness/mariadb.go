package harness

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is a MariaDB server started by the harness. User root has an empty
// password over TCP on Host:Port and over the unix socket. Binary logging is
// on (ROW format, server id 1) unless the server was started WithoutBinlog,
// since backups record binlog and GTID positions.
type MariaDB struct {
	Host   string // 127.0.0.1
	Port   int
	User   string // root
	Socket string // the unix socket, in Dir
	Dir    string // the temporary directory: data/, binlogs, mariadb.log
	Binlog bool   // binary logging is on

	srv *server
}

// MariaDBOption changes how NewMariaDB starts a server.
type MariaDBOption func(*mariaDBConfig)

type mariaDBConfig struct {
	binlog     bool
	dataLimit  int // MB; 0 for no limit
	perfSchema bool
}

// WithPerformanceSchema starts the server with performance_schema on (it
// is off by default, and cannot be turned on while the server runs).
func WithPerformanceSchema() MariaDBOption {
	return func(c *mariaDBConfig) { c.perfSchema = true }
}

// WithoutBinlog starts the server with binary logging off.
func WithoutBinlog() MariaDBOption {
	return func(c *mariaDBConfig) { c.binlog = false }
}

// WithDataLimit caps the server's data space at mb megabytes (at least
// 13), without mounting anything: every InnoDB table lives in the system
// tablespace (innodb_file_per_table off), which starts at 12 MB and grows
// up to mb MB. Past that, writes fail with "The table ... is full" (error
// 1114, ER_RECORD_FILE_FULL), as on a full disk.
func WithDataLimit(mb int) MariaDBOption {
	return func(c *mariaDBConfig) { c.dataLimit = mb }
}

var sourceMariaDB, targetMariaDB lazy[*MariaDB]

// SourceMariaDB returns the MariaDB server shared by the tests of this binary
// as the source of backups, starting it on first use. Main stops it.
func SourceMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	return sourceMariaDB.get(t, func() (*MariaDB, func() error, error) { return startMariaDB(nil) })
}

// TargetMariaDB returns a second shared MariaDB server, independent of
// SourceMariaDB, for restores.
func TargetMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	return targetMariaDB.get(t, func() (*MariaDB, func() error, error) { return startMariaDB(nil) })
}

// NewMariaDB starts a MariaDB server for t alone, removed at t's cleanup.
// Use it for tests that stop or break the server.
func NewMariaDB(t testing.TB, opts ...MariaDBOption) *MariaDB {
	t.Helper()
	return private(t, func() (*MariaDB, func() error, error) { return startMariaDB(opts) })
}

// DSN is the go-sql-driver/mysql DSN for connecting to database as root over
// TCP. database may be empty.
func (m *MariaDB) DSN(database string) string {
	return m.config(database).FormatDSN()
}

// DSNMulti is DSN with multiStatements=true, for running scripts.
func (m *MariaDB) DSNMulti(database string) string {
	c := m.config(database)
	c.MultiStatements = true
	return c.FormatDSN()
}

func (m *MariaDB) config(database string) *mysql.Config {
	c := mysql.NewConfig()
	c.User = m.User
	c.Net = "tcp"
	c.Addr = net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	c.DBName = database
	return c
}

// Exec runs sql, which may hold several statements, on database (may be
// empty) as root, failing t on error.
func (m *MariaDB) Exec(t testing.TB, database, sql string) {
	t.Helper()
	if err := m.exec(context.Background(), m.DSNMulti(database), sql); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// QueryString runs sql on database and returns the first column of its first
// row as text ("" for NULL). It fails t when there is no row.
func (m *MariaDB) QueryString(t testing.TB, database, query string) string {
	t.Helper()
	db, err := sql.Open("mysql", m.DSN(database))
	if err != nil {
		t.Fatalf("harness: opening MariaDB database %q on port %d: %v", database, m.Port, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("harness: querying MariaDB database %q on port %d: %v\n%s", database, m.Port, err, clip(query))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			t.Fatalf("harness: querying MariaDB database %q on port %d: %v\n%s", database, m.Port, err, clip(query))
		}
		t.Fatalf("harness: query on MariaDB database %q returned no row: %s", database, query)
	}
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("harness: reading columns from MariaDB: %v", err)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatalf("harness: reading row from MariaDB database %q: %v\n%s", database, err, clip(query))
	}
	return vals[0].String
}

func (m *MariaDB) exec(ctx context.Context, dsn, script string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return fmt.Errorf("opening MariaDB on port %d: %w", m.Port, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, script); err != nil {
		return fmt.Errorf("running SQL on MariaDB on port %d: %w\n%s", m.Port, err, clip(script))
	}
	return nil
}

// Stop shuts the server down cleanly, keeping its data for Start. Stop
// only servers from NewMariaDB: a shared one serves other tests too.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	if err := m.srv.stop(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// Start starts a stopped server again on the same port and data.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	if err := m.srv.start(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

func mariaDBBinaries() (installDB, server string, err error) {
	dirs := []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}
	installDB, err = lookPath([]string{"mariadb-install-db", "mysql_install_db"}, dirs)
	if err == nil {
		server, err = lookPath([]string{"mariadbd", "mysqld"}, dirs)
	}
	if err != nil {
		return "", "", fmt.Errorf("MariaDB server binaries not found (%w): install them with `make deps` (Debian packages mariadb-server mariadb-client)", err)
	}
	return installDB, server, nil
}

func startMariaDB(opts []MariaDBOption) (*MariaDB, func() error, error) {
	cfg := mariaDBConfig{binlog: true}
	for _, o := range opts {
		o(&cfg)
	}
	installDB, mariadbd, err := mariaDBBinaries()
	if err != nil {
		return nil, nil, err
	}
	cred, err := runAs("mysql")
	if err != nil {
		return nil, nil, err
	}
	dir, err := serverDir("dbops-mariadb-*", cred)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing MariaDB: %w", err)
	}
	fail := func(err error) (*MariaDB, func() error, error) {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fail(fmt.Errorf("creating MariaDB tmpdir: %w", err))
	}
	if cred != nil {
		if err := os.Chown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("handing %s to the mysql user: %w", tmp, err))
		}
	}
	logPath := filepath.Join(dir, "mariadb.log")
	// Options for both the bootstrap and the server, so that InnoDB files are
	// created with the sizes the server expects.
	common := []string{
		"--datadir=" + data,
		"--tmpdir=" + tmp,
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=128M",
		"--innodb-log-file-size=16M",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
	}
	if cfg.dataLimit > 0 {
		if cfg.dataLimit <= 12 {
			return fail(fmt.Errorf("harness: WithDataLimit(%d): the limit must exceed the 12 MB the system tablespace starts with", cfg.dataLimit))
		}
		common = append(common,
			"--innodb-file-per-table=0",
			fmt.Sprintf("--innodb-data-file-path=ibdata1:12M:autoextend:max:%dM", cfg.dataLimit))
	}
	install := command{
		path: installDB,
		args: append([]string{"--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"}, common...),
		dir:  dir, cred: cred, logPath: logPath,
	}
	if err := install.run("initializing a MariaDB data directory"); err != nil {
		return fail(err)
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	m := &MariaDB{
		Host: "127.0.0.1", Port: port, User: "root",
		Socket: filepath.Join(dir, "mysqld.sock"), Dir: dir, Binlog: cfg.binlog,
	}
	args := append([]string{"--no-defaults"}, common...)
	args = append(args,
		"--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket="+m.Socket,
		"--pid-file="+filepath.Join(dir, "mariadbd.pid"),
		"--max-connections=200",
	)
	if cfg.binlog {
		args = append(args, "--log-bin="+filepath.Join(dir, "binlog"), "--server-id=1", "--binlog-format=ROW")
	} else {
		args = append(args, "--skip-log-bin")
	}
	if cfg.perfSchema {
		args = append(args, "--performance-schema=ON")
	}
	// root exists only as root@localhost after the bootstrap; with
	// --skip-name-resolve a TCP client from 127.0.0.1 or ::1 matches only
	// entries for those addresses. The probe creates them over the socket.
	socketDSN := (&mysql.Config{User: "root", Net: "unix", Addr: m.Socket, AllowNativePasswords: true,
		MultiStatements: true, Timeout: 2 * time.Second}).FormatDSN()
	rootReady := false
	m.srv = &server{
		name: fmt.Sprintf("MariaDB on port %d", port),
		dir:  dir,
		command: command{
			path: mariadbd, args: args, dir: dir, cred: cred, logPath: logPath,
		},
		stopSig: syscall.SIGTERM, // clean shutdown
		probe: func(ctx context.Context) error {
			if !rootReady {
				if err := m.exec(ctx, socketDSN, `
					CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
					GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
					CREATE USER IF NOT EXISTS 'root'@'::1';
					GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;`); err != nil {
					return err
				}
				rootReady = true
			}
			db, err := sql.Open("mysql", m.DSN(""))
			if err != nil {
				return err
			}
			defer db.Close()
			return db.PingContext(ctx)
		},
	}
	if err := m.srv.start(); err != nil {
		m.srv.close()
		return nil, nil, err
	}
	return m, m.srv.close, nil
}
