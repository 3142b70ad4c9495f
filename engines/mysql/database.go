package mysql

import (
	"context"
	"fmt"

	"github.com/dbopsd/dbopsd/engines"
)

// DatabaseExists reports whether the server of target has database name.
func (e *Engine) DatabaseExists(ctx context.Context, target engines.Conn, name string) (bool, error) {
	cfg, err := parseDSN(target)
	if err != nil {
		return false, err
	}
	db, _, err := connect(ctx, cfg, "", 1)
	if err != nil {
		return false, err
	}
	defer db.Close()
	ok, err := databaseExists(ctx, db, name)
	if err != nil {
		return false, fmt.Errorf("looking for database %s on %s: %w", name, where(cfg), err)
	}
	return ok, nil
}

func databaseExists(ctx context.Context, q querier, name string) (bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name)
	if err != nil {
		return false, classify(err)
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// DropDatabase drops database name from the server of target. Dropping a
// database that does not exist is not an error; system databases are
// refused.
func (e *Engine) DropDatabase(ctx context.Context, target engines.Conn, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	cfg, err := parseDSN(target)
	if err != nil {
		return err
	}
	db, _, err := connect(ctx, cfg, "", 1)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err != nil {
		return fmt.Errorf("dropping database %s on %s: %w", name, where(cfg), classify(err))
	}
	return nil
}
