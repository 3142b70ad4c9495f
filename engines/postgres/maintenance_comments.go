package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Comments (maintenance.Commenter): every change of a comment operation in
// one transaction, so that a file of comments is applied whole or not at
// all. The comment text is a literal, quoted here; the object is resolved
// in the transaction (a view gets COMMENT ON VIEW), and the comments are
// read before and after from pg_description.

// ApplyComments sets the comments of changes in database, in one
// transaction under opts.LockTimeout. On any failure nothing is changed and
// the results say what was read so far.
func (e *Engine) ApplyComments(ctx context.Context, c engines.Conn, database string, changes []maintmodel.CommentChange, opts maintmodel.RunOptions) ([]maintmodel.CommentResult, error) {
	if err := maintmodel.CheckComments("postgres", changes); err != nil {
		return nil, err
	}
	cfg, err := config(c, database)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("beginning the comments' transaction in %s: %w", database, err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	lock := opts.Lock()
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", lock.Milliseconds())); err != nil {
		return nil, classify(fmt.Errorf("setting lock_timeout: %w", err))
	}
	out := make([]maintmodel.CommentResult, 0, len(changes))
	for _, ch := range changes {
		ch.Table = table(ch.Table)
		r := maintmodel.CommentResult{CommentChange: ch}
		kind, before, err := pgComment(ctx, tx, ch)
		if err != nil {
			return out, err
		}
		r.Before = before
		r.Statement = commentStatement(kind, ch)
		if _, err := tx.Exec(ctx, r.Statement); err != nil {
			if isCode(err, "55P03") {
				return out, fmt.Errorf("%s: %w after %s (lock_timeout; another session holds a conflicting lock on %s): %v", r.Statement, maintmodel.ErrLockTimeout, lock, ch.Table, err)
			}
			return out, classify(fmt.Errorf("%s: %w", r.Statement, err))
		}
		if _, r.After, err = pgComment(ctx, tx, ch); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if err := tx.Commit(ctx); err != nil {
		return out, classify(fmt.Errorf("committing the comments in %s: %w", database, err))
	}
	for i := range out {
		out[i].Applied = true
	}
	return out, nil
}

// pgComment reads the kind of ch's relation (pg_class.relkind) and the
// comment ch is about.
func pgComment(ctx context.Context, tx pgx.Tx, ch maintmodel.CommentChange) (kind, comment string, err error) {
	var found bool
	err = tx.QueryRow(ctx, `SELECT c.relkind::text,
			CASE WHEN $3 = '' THEN coalesce(obj_description(c.oid, 'pg_class'), '')
			ELSE coalesce((SELECT col_description(c.oid, a.attnum) FROM pg_attribute a
				WHERE a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped), '') END,
			$3 = '' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`, ch.Table.Schema, ch.Table.Name, ch.Column).Scan(&kind, &comment, &found)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", "", fmt.Errorf("setting the comment of %s: table %s does not exist", ch.Object(), ch.Table)
	case err != nil:
		return "", "", classify(fmt.Errorf("reading the comment of %s: %w", ch.Object(), err))
	case !found:
		return "", "", fmt.Errorf("setting the comment of %s: table %s has no column %q", ch.Object(), ch.Table, ch.Column)
	}
	return kind, comment, nil
}

// commentStatement renders ch for a relation of kind (pg_class.relkind).
func commentStatement(kind string, ch maintmodel.CommentChange) string {
	if ch.Column != "" {
		return "COMMENT ON COLUMN " + quoteIdent(ch.Table.Schema, ch.Table.Name, ch.Column) + " IS " + escapedLiteral(ch.Text)
	}
	what := "TABLE"
	switch kind {
	case "v":
		what = "VIEW"
	case "m":
		what = "MATERIALIZED VIEW"
	case "f":
		what = "FOREIGN TABLE"
	}
	return "COMMENT ON " + what + " " + quoteTable(ch.Table) + " IS " + escapedLiteral(ch.Text)
}

// escapedLiteral quotes s as an E” literal: its meaning does not depend
// on standard_conforming_strings, where quoteLiteral's ” form would read
// a backslash as an escape on a server that has it off.
func escapedLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}
