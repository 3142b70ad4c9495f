package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/reconcile"
)

// The adapter's side of a reconciliation (reconcile.Reconciler): one
// connection in a REPEATABLE READ, READ ONLY transaction, so that every
// statement of the comparison sees the same snapshot.

var _ reconcile.Reconciler = (*Engine)(nil)

// OpenReconcile implements reconcile.Reconciler.
func (e *Engine) OpenReconcile(ctx context.Context, c engines.Conn, database string, opts reconcile.SessionOptions) (reconcile.Session, error) {
	cfg, err := config(c, database)
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = pgconn.DialFunc(opts.Counter.Wrap(reconcile.DialFunc(cfg.DialFunc)))
	// Every statement is built once and run once: preparing it would cost
	// a round trip and a plan in the server's cache for nothing.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	setup := "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
	if opts.StatementTimeout > 0 {
		setup = fmt.Sprintf("SET statement_timeout = %d; %s", opts.StatementTimeout.Milliseconds(), setup)
	}
	if _, err := conn.Exec(ctx, setup); err != nil {
		closeConn(conn)
		return nil, classify(fmt.Errorf("starting a read-only snapshot on database %s: %w", database, err))
	}
	return &reconcileSession{conn: conn, timeout: opts.StatementTimeout}, nil
}

type reconcileSession struct {
	conn    *pgx.Conn
	timeout time.Duration // the session's statement_timeout; 0 = none
}

// classify is the package's classify, and names the statement timeout
// when the server cancelled a statement without saying why: with a
// statement timeout of a few milliseconds, PostgreSQL can report its
// own timeout as "canceling statement due to user request" (57014), as
// when a cancel comes from outside; dbopsd sent none while ctx is live.
func (s *reconcileSession) classify(ctx context.Context, err error) error {
	var pe *pgconn.PgError
	if err != nil && s.timeout > 0 && ctx.Err() == nil && errors.As(err, &pe) && pe.Code == "57014" &&
		!strings.Contains(pe.Message, "statement timeout") {
		err = fmt.Errorf("%w (cancelled by the server: the session's statement timeout of %s, or a cancel from outside dbopsd)", err, s.timeout)
	}
	return classify(err)
}

// pgDialect is PostgreSQL's SQL for the statements of reconcile.
var pgDialect = reconcile.Dialect{
	Table: quoteTable,
	Ident: func(s string) string { return quoteIdent(s) },
	Value: func(col string, e reconcile.Expr) string {
		switch e.Kind {
		case reconcile.KindDecimal:
			if e.Scale < 0 {
				return fmt.Sprintf("trim_scale((%s)::numeric)::text", col)
			}
			return fmt.Sprintf("round((%s)::numeric, %d)::text", col, e.Scale)
		case reconcile.KindBytes:
			return fmt.Sprintf("encode(%s, 'hex')", col)
		case reconcile.KindBool:
			return fmt.Sprintf("(%s)::int::text", col)
		case reconcile.KindDate:
			return fmt.Sprintf("to_char(%s, 'YYYY-MM-DD')", col)
		case reconcile.KindTime:
			return fmt.Sprintf("to_char(date '2000-01-01' + (%s), 'HH24:MI:SS.US')", col)
		case reconcile.KindTimestamp:
			// The session's TimeZone is UTC (stableOutput): a timestamptz
			// renders in UTC, a timestamp as written.
			return fmt.Sprintf("to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US')", col)
		}
		return fmt.Sprintf("(%s)::text", col)
	},
	Concat:   func(parts []string) string { return "(" + strings.Join(parts, " || ") + ")" },
	Hash60:   func(hex string) string { return fmt.Sprintf("('x' || %s)::bit(60)::bigint", hex) },
	IntText:  func(x string) string { return "(" + x + ")::text" },
	NullMark: `E'\x1e'`,
	Sep:      `E'\x1f'`,
	SumText:  func(x string) string { return fmt.Sprintf("COALESCE(SUM(%s), 0)::text", x) },
}

// Columns implements reconcile.Session.
func (s *reconcileSession) Columns(ctx context.Context, t engines.TableRef) ([]reconcile.Column, error) {
	t = table(t)
	rows, err := s.conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
			COALESCE(bt.typname, t.typname), t.typtype, a.atttypmod
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, t.Schema, t.Name)
	if err != nil {
		return nil, s.classify(ctx, fmt.Errorf("reading the columns: %w", err))
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reconcile.Column, error) {
		var c reconcile.Column
		var typname, typtype string
		var typmod int32
		err := r.Scan(&c.Name, &c.Type, &typname, &typtype, &typmod)
		c.Kind, c.Scale = pgKind(typname, typtype, typmod)
		return c, err
	})
	if err != nil {
		return nil, s.classify(ctx, fmt.Errorf("reading the columns: %w", err))
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: %w", t, reconcile.ErrNoTable)
	}
	return cols, nil
}

// pgKind is how reconcile normalises a column of PostgreSQL type typname.
func pgKind(typname, typtype string, typmod int32) (reconcile.Kind, int) {
	switch typname {
	case "int2", "int4", "int8":
		return reconcile.KindInteger, 0
	case "numeric":
		if typmod < 4 {
			return reconcile.KindDecimal, -1
		}
		return reconcile.KindDecimal, int((typmod - 4) & 0xffff)
	case "text", "varchar", "bpchar", "name", "citext", "uuid":
		return reconcile.KindText, 0
	case "bytea":
		return reconcile.KindBytes, 0
	case "bool":
		return reconcile.KindBool, 0
	case "date":
		return reconcile.KindDate, 0
	case "time":
		return reconcile.KindTime, 0
	case "timestamp", "timestamptz":
		return reconcile.KindTimestamp, 0
	case "float4", "float8":
		return reconcile.KindInexact, 0
	}
	if typtype == "e" { // an enum's labels are its values
		return reconcile.KindText, 0
	}
	return reconcile.KindOther, 0
}

// Buckets implements reconcile.Session.
func (s *reconcileSession) Buckets(ctx context.Context, q reconcile.Query) ([]reconcile.Bucket, error) {
	rows, err := s.conn.Query(ctx, reconcile.BucketsSQL(pgDialect, q))
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reconcile.Bucket, error) {
		var b reconcile.Bucket
		err := r.Scan(&b.Prefix, &b.Rows, &b.Sum)
		return b, err
	})
	return bs, s.classify(ctx, err)
}

// Rows implements reconcile.Session.
func (s *reconcileSession) Rows(ctx context.Context, q reconcile.Query) ([]reconcile.Row, error) {
	rows, err := s.conn.Query(ctx, reconcile.RowsSQL(pgDialect, q))
	if err != nil {
		return nil, s.classify(ctx, err)
	}
	nk := len(q.Key)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reconcile.Row, error) {
		vals := make([]*string, nk+len(q.Columns))
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := r.Scan(dest...); err != nil {
			return reconcile.Row{}, err
		}
		row := reconcile.Row{Key: make([]string, nk), Values: vals[nk:]}
		for i := range nk {
			if vals[i] != nil {
				row.Key[i] = *vals[i]
			}
		}
		return row, nil
	})
	return out, s.classify(ctx, err)
}

// Close implements reconcile.Session.
func (s *reconcileSession) Close() error {
	closeConn(s.conn)
	return nil
}
