package postgres

import (
	"fmt"
	"net"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
)

// dsnInfo reads a PostgreSQL DSN as a policy writes it, a URL
// (postgres://user@host:5432/db) or libpq's key=value pairs, for the
// registry (Registration.ParseDSN).
func dsnInfo(dsn string) (engines.DSN, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := engines.ParseDSNURL(dsn)
		if err != nil {
			return engines.DSN{}, err
		}
		d := engines.DSN{
			Server:   engines.HostPort(u.Host, "5432"),
			Database: strings.TrimPrefix(u.Path, "/"),
			Password: secret.New(engines.URLPassword(u)),
		}
		if db := u.Query().Get("dbname"); db != "" {
			d.Database = db
		}
		return d, nil
	}
	pairs, err := keywords(dsn)
	if err != nil {
		return engines.DSN{}, err
	}
	if len(pairs) == 0 {
		return engines.DSN{}, fmt.Errorf("a PostgreSQL DSN is a URL (postgres://user@host:5432/db) or key=value pairs (host=... user=... dbname=...)")
	}
	kv := make(map[string]string, len(pairs))
	for _, p := range pairs {
		kv[p[0]] = p[1]
	}
	host, port := kv["host"], kv["port"]
	if host == "" {
		host = kv["hostaddr"]
	}
	if port == "" {
		port = "5432"
	}
	d := engines.DSN{Database: kv["dbname"], Password: secret.New(kv["password"])}
	if host != "" {
		d.Server = net.JoinHostPort(host, port)
	}
	return d, nil
}

// keywords splits libpq's keyword/value connection string s ("host=db1
// user=dbops dbname='the name'") into key/value pairs in order, as libpq
// does: values may be single-quoted, and a backslash escapes the next
// character. Error messages name keys, never values (a value may be a
// password).
func keywords(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("%q is missing \"=\" (key=value pairs expected)", key)
		}
		i++
		skipSpace()
		val := make([]byte, 0, 16)
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val = append(val, s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				val = append(val, c)
			}
			if !closed {
				return nil, fmt.Errorf("the value of %q has no closing quote", key)
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val = append(val, s[i])
				i++
			}
		}
		if key == "" {
			return nil, fmt.Errorf("a value has no key (key=value pairs expected)")
		}
		out = append(out, [2]string{key, string(val)})
	}
}
