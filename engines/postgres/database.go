package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
)

// DatabaseExists implements engines.Engine.
func (e *Engine) DatabaseExists(ctx context.Context, target engines.Conn, name string) (bool, error) {
	conn, err := maintenanceConn(ctx, target, name)
	if err != nil {
		return false, fmt.Errorf("checking whether PostgreSQL database %s exists: %w", name, err)
	}
	defer closeConn(conn)
	return databaseExists(ctx, conn, name)
}

// DropDatabase implements engines.Engine. Sessions connected to the
// database are ended; a database that does not exist is not an error.
func (e *Engine) DropDatabase(ctx context.Context, target engines.Conn, name string) error {
	conn, err := maintenanceConn(ctx, target, name)
	if err != nil {
		return fmt.Errorf("dropping PostgreSQL database %s: %w", name, err)
	}
	defer closeConn(conn)
	return dropDatabase(ctx, conn, name)
}

func databaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		return false, classify(fmt.Errorf("checking whether database %s exists: %w", name, err))
	}
	return ok, nil
}

func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var force bool
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int >= 130000").Scan(&force); err != nil {
		return classify(fmt.Errorf("dropping database %s: %w", name, err))
	}
	sql := "DROP DATABASE IF EXISTS " + quoteIdent(name)
	if force {
		sql += " WITH (FORCE)"
	} else if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return classify(fmt.Errorf("ending the sessions of database %s: %w", name, err))
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return classify(fmt.Errorf("dropping database %s: %w", name, err))
	}
	return nil
}

// createDatabase creates name as UTF8 from template0, with the source
// database's collation when the target server has it; otherwise with the
// server's default, which the returned note says.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string, m *meta) (note *engines.Note, err error) {
	base := "CREATE DATABASE " + quoteIdent(name) + " TEMPLATE template0 ENCODING 'UTF8'"
	if m.Collate != "" && m.Ctype != "" {
		_, err := conn.Exec(ctx, base+" LC_COLLATE "+quoteLiteral(m.Collate)+" LC_CTYPE "+quoteLiteral(m.Ctype))
		if err == nil {
			return nil, nil
		}
		if isCode(err, "42P04") || isPermanentCode(err) {
			return nil, createErr(name, err)
		}
		note = &engines.Note{Key: NoteDefaultCollation, Params: engines.Params{"collation": m.Collate, "error": err.Error()}}
	}
	if _, err := conn.Exec(ctx, base); err != nil {
		return nil, createErr(name, err)
	}
	return note, nil
}

func isPermanentCode(err error) bool {
	return isCode(err, "42501")
}

func createErr(name string, err error) error {
	if isCode(err, "42P04") {
		return fmt.Errorf("database %s %w on the target server: %w", name, engines.ErrExists, err)
	}
	return classify(fmt.Errorf("creating database %s: %w", name, err))
}
