package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// parseDSN accepts the go-sql-driver form (user@tcp(host:3306)/db?param=v,
// user@unix(/run/mysqld/mysqld.sock)/db) or a URL (mysql://user@host:3306/db
// or mariadb://...). The password comes from Conn.Password; one written into
// the DSN itself is used only when Conn.Password is empty.
func parseDSN(c engines.Conn) (*mysql.Config, error) {
	dsn := strings.TrimSpace(c.DSN)
	var cfg *mysql.Config
	if i := strings.Index(dsn, "://"); i > 0 {
		scheme := strings.ToLower(dsn[:i])
		if scheme != "mysql" && scheme != "mariadb" {
			return nil, fault.Permanent(fmt.Errorf("mysql DSN: scheme %q: want mysql:// or mariadb://", scheme))
		}
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Error quotes the whole URL, password included: keep it out.
			return nil, fault.Permanent(errors.New("mysql DSN: not a valid URL"))
		}
		host := u.Host
		if host == "" {
			host = "127.0.0.1"
		}
		if u.Port() == "" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), "3306")
		}
		user := ""
		if u.User != nil {
			user = u.User.Username()
		}
		// Let the driver parse the query parameters (tls=, timeout=, ...).
		tail := strings.TrimPrefix(u.Path, "/")
		if u.RawQuery != "" {
			tail += "?" + u.RawQuery
		}
		cfg, err = mysql.ParseDSN(user + "@tcp(" + host + ")/" + tail)
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("mysql DSN: %w", err))
		}
		if p, ok := u.User.Password(); ok {
			cfg.Passwd = p
		}
	} else {
		var err error
		cfg, err = mysql.ParseDSN(dsn)
		if err != nil {
			// The driver's messages never quote the DSN.
			return nil, fault.Permanent(fmt.Errorf("mysql DSN: %w", err))
		}
	}
	if !c.Password.Empty() {
		cfg.Passwd = c.Password.Reveal()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	// Values travel as the server renders them; the adapter never wants the
	// driver to reinterpret times or interpolate parameters client side.
	cfg.ParseTime = false
	cfg.InterpolateParams = false
	cfg.MultiStatements = false
	cfg.Loc = time.UTC
	cfg.Logger = nopLogger{}
	return cfg, nil
}

// where names the server of cfg for messages: host:port or the socket, never
// the user or password.
func where(cfg *mysql.Config) string {
	return cfg.Addr
}

type nopLogger struct{}

func (nopLogger) Print(...any) {}

// session holds the settings every adapter connection starts with: times
// in UTC so TIMESTAMP values travel unshifted, and an sql_mode that neither
// rewrites zero AUTO_INCREMENT values nor substitutes storage engines.
var sessionParams = map[string]string{
	"time_zone": "'+00:00'",
	"sql_mode":  "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
	// A slow sink (an upload) must not make the server drop a dump
	// connection that waits to send the next rows.
	"net_write_timeout": "3600",
	"net_read_timeout":  "3600",
}

// openDB opens a pool to the server of cfg with database as the default
// database ("" for none) and checks that it answers.
func openDB(ctx context.Context, cfg *mysql.Config, database string, maxConns int) (*sql.DB, error) {
	c := cfg.Clone()
	c.DBName = database
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	for k, v := range sessionParams {
		if _, set := c.Params[k]; !set {
			c.Params[k] = v
		}
	}
	if err := c.Apply(mysql.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("mysql DSN: %w", err))
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, connectError(cfg, database, err)
	}
	return db, nil
}

// connectError explains a failed connection attempt.
func connectError(cfg *mysql.Config, database string, err error) error {
	what := "connecting to MySQL/MariaDB at " + where(cfg)
	if database != "" {
		what += " (database " + database + ")"
	}
	return classify(fmt.Errorf("%s: %w", what, err))
}

// MySQL/MariaDB error numbers the adapter tells apart.
const (
	erDBAccessDenied         = 1044
	erAccessDenied           = 1045
	erBadDB                  = 1049
	erTableAccessDenied      = 1142
	erColumnAccessDenied     = 1143
	erNoSuchTable            = 1146
	erLockWaitTimeout        = 1205
	erSpecificAccess         = 1227
	erNotAllowedCommand      = 1148
	erTableDefChanged        = 1412
	erAccessDeniedNoPass     = 1698
	erQueryInterrupted       = 1317
	erStatementTimeout       = 1969 // MariaDB: max_statement_time exceeded
	erServerShutdown         = 1053
	erConnectionKilled       = 1927
	erLoadInfileDisabled     = 3948 // MySQL 8
	erLoadInfileCapability   = 4166 // MariaDB 10.5+
	erLockDeadlock           = 1213
	erLoadInfileClientOff    = 2068 // MySQL 8 client-side refusal
	erBinlogRoutineNeedSuper = 1419
	erRecordFileFull         = 1114 // "The table ... is full": tablespace or disk
	erDiskFull               = 1021 // ER_DISK_FULL
	eeWrite                  = 3    // EE_WRITE, "Error writing file ..."
)

// errNumber is the server error number in err, or 0.
func errNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// quoteIdent quotes a MySQL identifier.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteString quotes a string literal for statements that take no
// placeholders (SET, SHOW). NO_BACKSLASH_ESCAPES is never set on adapter
// sessions, so backslashes are escaped too.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// systemDatabase reports the server's own databases, which the adapter
// never backs up into, restores over or drops.
func systemDatabase(name string) bool {
	switch strings.ToLower(name) {
	case "mysql", "information_schema", "performance_schema", "sys":
		return true
	}
	return false
}
