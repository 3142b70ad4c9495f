package config

import (
	"errors"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/pgdsn"
	"net"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Engine names after normalisation ("mariadb" becomes "mysql", "sqlserver"
// becomes "mssql").
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	MSSQL    = "mssql"
)

// engineAliases maps what a policy may say to the engine's name.
var engineAliases = map[string]string{
	"postgres":   Postgres,
	"postgresql": Postgres,
	"mysql":      MySQL,
	"mariadb":    MySQL,
	"mssql":      MSSQL,
	"sqlserver":  MSSQL,
}

// dsnInfo is what validation learns from a DSN.
type dsnInfo struct {
	server   string // host:port (or socket path), for max_per_server
	password string // set when the DSN carries a password, which is refused
}

// errDSNPassword is returned (with the info) when a DSN parses but holds a
// password. Its text never contains the password.
var errDSNPassword = errors.New("the DSN contains a password")

// parseDSN checks dsn for engine (already normalised). Errors never contain
// the password, even when the DSN does not parse.
func parseDSN(engine, dsn string) (dsnInfo, error) {
	var (
		info dsnInfo
		err  error
	)
	switch engine {
	case Postgres:
		info, err = parsePostgresDSN(dsn)
	case MySQL:
		info, err = parseMySQLDSN(dsn)
	case MSSQL:
		info, err = parseMSSQLDSN(dsn)
	default:
		return dsnInfo{}, fmt.Errorf("unknown engine %q", engine)
	}
	if err != nil {
		return dsnInfo{}, errors.New(scrub(err.Error(), dsn))
	}
	if info.password != "" {
		return info, errDSNPassword
	}
	return info, nil
}

// Server returns the host:port (or socket directory) the database's DSN
// names, so that daemon.max_per_server can group databases by server. It
// returns "" for a DSN that does not parse (validation has refused those).
func (d *Database) Server() string {
	info, _ := parseDSN(d.Engine, d.DSN)
	return info.server
}

// Server is like Database.Server, for a restore target.
func (t *RestoreTarget) Server() string {
	info, _ := parseDSN(t.Engine, t.DSN)
	return info.server
}

func parsePostgresDSN(dsn string) (dsnInfo, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := parseURL(dsn)
		if err != nil {
			return dsnInfo{}, err
		}
		info := dsnInfo{server: withDefaultPort(u.Host, "5432")}
		info.password = urlPassword(u)
		return info, nil
	}
	kv, err := parseKeyValues(dsn)
	if err != nil {
		return dsnInfo{}, err
	}
	if len(kv) == 0 {
		return dsnInfo{}, fmt.Errorf("a PostgreSQL DSN is a URL (postgres://user@host:5432/db) or key=value pairs (host=... user=... dbname=...)")
	}
	host, port := kv["host"], kv["port"]
	if host == "" {
		host = kv["hostaddr"]
	}
	if port == "" {
		port = "5432"
	}
	info := dsnInfo{password: kv["password"]}
	if host != "" {
		info.server = net.JoinHostPort(host, port)
	}
	return info, nil
}

func parseMySQLDSN(dsn string) (dsnInfo, error) {
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		u, err := parseURL(dsn)
		if err != nil {
			return dsnInfo{}, err
		}
		if u.Host == "" {
			return dsnInfo{}, fmt.Errorf("the URL names no host")
		}
		return dsnInfo{server: withDefaultPort(u.Host, "3306"), password: urlPassword(u)}, nil
	}
	if !strings.Contains(dsn, "/") {
		return dsnInfo{}, fmt.Errorf("a MySQL DSN is user@tcp(host:3306)/db or mysql://user@host:3306/db")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return dsnInfo{}, err
	}
	return dsnInfo{server: cfg.Addr, password: cfg.Passwd}, nil
}

func parseMSSQLDSN(dsn string) (dsnInfo, error) {
	if !strings.HasPrefix(dsn, "sqlserver://") {
		return dsnInfo{}, fmt.Errorf("an SQL Server DSN is a URL: sqlserver://user@host:1433?database=NAME")
	}
	u, err := parseURL(dsn)
	if err != nil {
		return dsnInfo{}, err
	}
	if u.Host == "" {
		return dsnInfo{}, fmt.Errorf("the URL names no host")
	}
	server := u.Host
	if u.Port() == "" && strings.Trim(u.Path, "/") == "" { // a named instance finds its port itself
		server = withDefaultPort(u.Host, "1433")
	}
	return dsnInfo{server: server, password: urlPassword(u)}, nil
}

// parseURL is url.Parse without the *url.Error wrapper, whose text repeats
// the whole URL (and so any password in it).
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	return u, nil
}

// urlPassword finds a password in the userinfo or in a password= parameter.
func urlPassword(u *url.URL) string {
	if p, ok := u.User.Password(); ok && p != "" {
		return p
	}
	for k, v := range u.Query() {
		if strings.EqualFold(k, "password") && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

func withDefaultPort(host, port string) string {
	if host == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// parseKeyValues reads libpq's key=value form into a map.
func parseKeyValues(s string) (map[string]string, error) {
	pairs, err := pgdsn.Keywords(s)
	if err != nil {
		return nil, err
	}
	kv := make(map[string]string, len(pairs))
	for _, p := range pairs {
		kv[p[0]] = p[1]
	}
	return kv, nil
}

// passwordCandidates guesses where a password sits in a DSN that may not
// parse, so that error messages and snippets can blank it out.
func passwordCandidates(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok {
				add(p)
			}
		}
	} else if at := strings.LastIndex(dsn, "@"); at >= 0 {
		if _, p, ok := strings.Cut(dsn[:at], ":"); ok {
			add(p)
		}
	}
	lower := strings.ToLower(dsn)
	for _, key := range []string{"password=", "password ="} {
		for off := 0; ; {
			j := strings.Index(lower[off:], key)
			if j < 0 {
				break
			}
			v := dsn[off+j+len(key):]
			v = strings.TrimLeft(v, " ")
			end := strings.IndexAny(v, " &;\t\n")
			if end < 0 {
				end = len(v)
			}
			add(strings.Trim(v[:end], "'"))
			off += j + len(key)
		}
	}
	return out
}

// scrub removes anything that may be a password of dsn from msg.
func scrub(msg, dsn string) string {
	for _, p := range passwordCandidates(dsn) {
		msg = strings.ReplaceAll(msg, p, "***")
	}
	return msg
}
