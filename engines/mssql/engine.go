package mssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

func init() {
	engines.Register(engines.Registration{
		Name:     engineName,
		Aliases:  []string{"sqlserver"},
		New:      New,
		ParseDSN: dsnInfo,
	})
}

const engineName = "mssql"

// Engine is the SQL Server adapter. It holds no state: the blob listener it
// backs up through is the process's (listener.go).
type Engine struct{}

var _ engines.Engine = (*Engine)(nil)

// New returns the adapter.
func New() (engines.Engine, error) { return &Engine{}, nil }

// Name implements engines.Engine.
func (*Engine) Name() string { return engineName }

// open connects to the server of c, in database (empty: the DSN's, or the
// login's default). The password goes into the connection string here and
// nowhere else.
func open(ctx context.Context, c engines.Conn, database string) (*sql.DB, error) {
	u, err := url.Parse(c.DSN)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("the DSN is not a URL: %w", err))
	}
	if !c.Password.Empty() && u.User != nil {
		u.User = url.UserPassword(u.User.Username(), c.Password.Reveal())
	}
	q := u.Query()
	if database != "" {
		q.Set("database", database)
	}
	if q.Get("app name") == "" {
		q.Set("app name", "dbopsd")
	}
	u.RawQuery = q.Encode()
	conn, err := mssqldb.NewConnector(u.String())
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("reading the DSN: %v", scrubbed(err, c)))
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s: %w", engines.ServerOf(engineName, c.DSN), classify(err))
	}
	return db, nil
}

// scrubbed is err's message without the password.
func scrubbed(err error, c engines.Conn) error {
	if c.Password.Empty() {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.Password.Reveal(), "********"))
}

// exec sends s.
func exec(ctx context.Context, db *sql.DB, s stmt) error {
	if _, err := db.ExecContext(ctx, s.sql, s.params()...); err != nil {
		return fmt.Errorf("%s: %w", firstLine(s), classify(err))
	}
	return nil
}

// firstLine names a statement in an error: its first line, secrets never
// included (String replaces them).
func firstLine(s stmt) string {
	first, _, _ := strings.Cut(s.String(), "\n")
	return first
}

// DatabaseExists implements engines.Engine.
func (*Engine) DatabaseExists(ctx context.Context, target engines.Conn, name string) (bool, error) {
	db, err := open(ctx, target, "master")
	if err != nil {
		return false, err
	}
	defer db.Close()
	s := databaseExists(name)
	var n int
	if err := db.QueryRowContext(ctx, s.sql, s.params()...).Scan(&n); err != nil {
		return false, fmt.Errorf("looking for database %s: %w", name, classify(err))
	}
	return n > 0, nil
}

// DropDatabase implements engines.Engine.
func (*Engine) DropDatabase(ctx context.Context, target engines.Conn, name string) error {
	db, err := open(ctx, target, "master")
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := dropDatabase(name)
	if err != nil {
		return fault.Permanent(err)
	}
	if err := exec(ctx, db, s); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}
