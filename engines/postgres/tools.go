package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// tool is a PostgreSQL client program found on this machine.
type tool struct {
	Path    string
	Version string // "15.4"
	Major   int
}

func (t tool) String() string { return filepath.Base(t.Path) + " " + t.Version }

type toolVersion struct {
	version string
	major   int
	err     error
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(\.\d+)?`)

// version runs `path --version` once per path.
func (e *Engine) version(ctx context.Context, path string) (string, int, error) {
	if v, ok := e.versions.Load(path); ok {
		tv := v.(toolVersion)
		return tv.version, tv.major, tv.err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = childEnv()
	out, err := cmd.Output()
	var tv toolVersion
	if err != nil {
		tv.err = fmt.Errorf("%s --version: %w", path, err)
	} else if m := versionRE.FindSubmatch(out); m == nil {
		tv.err = fmt.Errorf("%s --version: unexpected output %q", path, bytes.TrimSpace(out))
	} else {
		tv.major, _ = strconv.Atoi(string(m[1]))
		tv.version = string(m[1]) + string(m[2])
	}
	if ctx.Err() == nil { // do not remember a cancelled probe
		e.versions.Store(path, tv)
	}
	return tv.version, tv.major, tv.err
}

// findTool finds name (pg_dump, pg_restore, pg_amcheck) of major version
// minMajor or newer: in binDir, then /usr/lib/postgresql/*/bin (newest
// first), then PATH.
func (e *Engine) findTool(ctx context.Context, binDir, name string, minMajor int) (tool, error) {
	var candidates []string
	if binDir != "" {
		candidates = append(candidates, filepath.Join(binDir, name))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return dirMajor(dirs[i]) > dirMajor(dirs[j]) })
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	var seen []string
	for _, p := range candidates {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		v, major, err := e.version(ctx, p)
		if err != nil {
			seen = append(seen, err.Error())
			continue
		}
		if major >= minMajor {
			return tool{Path: p, Version: v, Major: major}, nil
		}
		seen = append(seen, p+" is version "+v)
	}
	msg := fmt.Sprintf("%s of PostgreSQL %d or newer not found", name, minMajor)
	if binDir != "" {
		msg += " in " + binDir + ","
	}
	msg += " in /usr/lib/postgresql/*/bin or on PATH"
	if len(seen) > 0 {
		msg += " (" + strings.Join(seen, "; ") + ")"
	}
	return tool{}, fault.Permanent(fmt.Errorf("%s: install postgresql-client-%d or set pg_bin_dir", msg, minMajor))
}

func dirMajor(binDir string) int {
	n, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(binDir)), ".", 2)[0])
	return n
}

// childConn is how a client program reaches a database: a connection
// string without the password (argv is visible to every user of the
// machine) and an environment that carries it.
type childConn struct {
	conninfo string
	env      []string
}

func newChildConn(c engines.Conn, database string) (childConn, error) {
	cfg, err := config(c, database) // validates the DSN, resolves the password
	if err != nil {
		return childConn{}, err
	}
	conninfo, err := stripDSN(c.DSN, cfg.Database)
	if err != nil {
		return childConn{}, fault.Permanent(fmt.Errorf("preparing the DSN for the PostgreSQL client programs: %w", err))
	}
	env := childEnv()
	env = append(env, "PGAPPNAME=dbopsd", "PGCONNECT_TIMEOUT=15")
	if cfg.Password != "" {
		env = append(env, "PGPASSWORD="+cfg.Password)
	}
	return childConn{conninfo: conninfo, env: env}, nil
}

// childEnv is the environment of every client program: not dbopsd's own,
// which holds the repository passphrase and other databases' password
// variables, but what a program needs to run (PATH, HOME for ~/.pgpass and
// ~/.postgresql, the locale, the time zone, a temporary directory) and the
// libpq variables that choose how to connect (PGHOST, PGSSLMODE, ...), the
// same ones the daemon's own connection honours. The password, if any, is
// added by the caller for the one connection it is for.
func childEnv() []string {
	env := make([]string, 0, 16)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if childEnvKeep(k) {
			env = append(env, kv)
		}
	}
	// Messages in English, so that the stderr quoted in errors is readable
	// by whoever gets the report, whatever the daemon's locale.
	return append(env, "LC_MESSAGES=C")
}

// libpqEnv are the libpq environment variables a child may inherit.
// PGPASSWORD, PGDATABASE, PGSERVICE and PGOPTIONS are not among them: the
// password and the database come from the policy, and a service or options
// from the environment would change what dbopsd connects to behind its back.
var libpqEnv = map[string]bool{
	"PGHOST": true, "PGHOSTADDR": true, "PGPORT": true, "PGUSER": true, "PGPASSFILE": true,
	"PGREQUIREAUTH": true, "PGCHANNELBINDING": true, "PGSERVICEFILE": true, "PGSYSCONFDIR": true,
	"PGSSLMODE": true, "PGREQUIRESSL": true, "PGSSLCOMPRESSION": true, "PGSSLCERT": true, "PGSSLKEY": true,
	"PGSSLCERTMODE": true, "PGSSLROOTCERT": true, "PGSSLCRL": true, "PGSSLCRLDIR": true, "PGSSLSNI": true,
	"PGSSLNEGOTIATION": true, "PGREQUIREPEER": true, "PGSSLMINPROTOCOLVERSION": true, "PGSSLMAXPROTOCOLVERSION": true,
	"PGGSSENCMODE": true, "PGKRBSRVNAME": true, "PGGSSLIB": true, "PGGSSDELEGATION": true,
	"PGTARGETSESSIONATTRS": true, "PGLOADBALANCEHOSTS": true, "PGCLIENTENCODING": true,
	"PGDATESTYLE": true, "PGTZ": true, "PGLOCALEDIR": true,
	"KRB5CCNAME": true, "KRB5_CONFIG": true, "KRB5_KTNAME": true,
}

func childEnvKeep(k string) bool {
	switch k {
	case "PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TZ", "LANG", "LANGUAGE":
		return true
	case "LC_ALL", "LC_MESSAGES":
		return false // replaced: see childEnv
	}
	return strings.HasPrefix(k, "LC_") || libpqEnv[k]
}

// stripDSN rewrites a libpq DSN (URL or key=value) without its password and
// with database as the database name.
func stripDSN(dsn, database string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("the DSN is not a valid URL") // url errors quote the DSN
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		q.Del("password")
		q.Del("dbname")
		u.RawQuery = q.Encode()
		u.Path = "/" + database
		u.RawPath = "/" + url.PathEscape(database)
		return u.String(), nil
	}
	pairs, err := keywords(dsn)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, kv := range pairs {
		if kv[0] == "password" || kv[0] == "dbname" {
			continue
		}
		fmt.Fprintf(&b, "%s=%s ", kv[0], quoteConninfo(kv[1]))
	}
	fmt.Fprintf(&b, "dbname=%s", quoteConninfo(database))
	return b.String(), nil
}

func quoteConninfo(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, `'`, `\'`) + "'"
}

// tailBuffer keeps the last max bytes written: enough of a client program's
// stderr to explain a failure, bounded whatever it prints.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// run runs a client program. Its stdout, if wanted, is streamed into stdout;
// if stdout fails, the program is killed rather than left blocked on a full
// pipe. Errors carry the tail of its stderr.
func run(ctx context.Context, t tool, args []string, cc childConn, stdout io.Writer) (stderr string, err error) {
	cmd := exec.CommandContext(ctx, t.Path, args...)
	cmd.Env = cc.env
	cmd.WaitDelay = 5 * time.Second
	errBuf := &tailBuffer{max: 8 << 10}
	cmd.Stderr = errBuf
	var outPipe io.ReadCloser
	if stdout != nil {
		if outPipe, err = cmd.StdoutPipe(); err != nil {
			return "", fmt.Errorf("%s: %w", t, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", t, err)
	}
	var copyErr error
	if outPipe != nil {
		if _, copyErr = io.Copy(stdout, outPipe); copyErr != nil {
			cmd.Process.Kill()
			io.Copy(io.Discard, outPipe)
		}
	}
	waitErr := cmd.Wait()
	stderr = errBuf.String()
	switch {
	case copyErr != nil:
		return stderr, fmt.Errorf("%s: writing its output: %w", t, copyErr)
	case waitErr != nil && ctx.Err() != nil:
		return stderr, fmt.Errorf("%s: %w", t, context.Cause(ctx))
	case waitErr != nil:
		if stderr != "" {
			return stderr, classifyStderr(fmt.Errorf("%s: %w: %s", t, waitErr, stderr), stderr)
		}
		return stderr, fmt.Errorf("%s: %w", t, waitErr)
	}
	return stderr, nil
}
