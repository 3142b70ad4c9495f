package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/reconcile"
)

// The adapter's side of a reconciliation (reconcile.Reconciler): one
// connection in a transaction started WITH CONSISTENT SNAPSHOT, READ ONLY,
// so that every statement of the comparison sees the same InnoDB snapshot.
// A table's schema is its database: a TableRef's Schema, when set, must
// name the session's database.

var _ reconcile.Reconciler = (*Engine)(nil)

// OpenReconcile implements reconcile.Reconciler.
func (e *Engine) OpenReconcile(ctx context.Context, c engines.Conn, database string, opts reconcile.SessionOptions) (reconcile.Session, error) {
	cfg, err := parseDSN(c)
	if err != nil {
		return nil, err
	}
	if database == "" {
		database = cfg.DBName
	}
	cfg.DialFunc = opts.Counter.Wrap(cfg.DialFunc)
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, classify(fmt.Errorf("connecting to database %s: %w", database, err))
	}
	s := &reconcileSession{db: db, conn: conn, database: database}
	if opts.StatementTimeout > 0 {
		// MariaDB bounds every statement (max_statement_time, seconds);
		// MySQL only SELECTs (max_execution_time, milliseconds). Each
		// server refuses the other's variable.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION max_statement_time = %.3f", opts.StatementTimeout.Seconds())); err != nil {
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION max_execution_time = %d", opts.StatementTimeout.Milliseconds())); err != nil {
				s.Close()
				return nil, classify(fmt.Errorf("setting the statement timeout on database %s: %w", database, err))
			}
		}
	}
	for _, stmt := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			s.Close()
			return nil, classify(fmt.Errorf("starting a read-only snapshot on database %s: %w", database, err))
		}
	}
	return s, nil
}

type reconcileSession struct {
	db       *sql.DB
	conn     *sql.Conn
	database string
}

// asUTF8 makes x a utf8mb4 string under one binary collation: values of
// columns with other character sets and collations then concatenate
// without an "illegal mix of collations", and hash as UTF-8 bytes.
func asUTF8(x string) string { return "CONVERT(" + x + " USING utf8mb4) COLLATE utf8mb4_bin" }

// myDialect is MySQL's and MariaDB's SQL for the statements of reconcile.
var myDialect = reconcile.Dialect{
	Ident: quoteIdent,
	Value: func(col string, e reconcile.Expr) string {
		switch e.Kind {
		case reconcile.KindDecimal:
			if e.Scale >= 0 {
				return asUTF8(fmt.Sprintf("CAST(%s AS DECIMAL(65, %d))", col, min(e.Scale, 30)))
			}
		case reconcile.KindBytes:
			return asUTF8("LOWER(HEX(" + col + "))")
		case reconcile.KindBool:
			// TINYINT(1) and BIT(1): any value but 0 is true.
			return asUTF8(fmt.Sprintf("CAST((%s) <> 0 AS CHAR)", col))
		case reconcile.KindDate:
			return asUTF8(fmt.Sprintf("DATE_FORMAT(%s, '%%Y-%%m-%%d')", col))
		case reconcile.KindTime:
			return asUTF8(fmt.Sprintf("TIME_FORMAT(%s, '%%H:%%i:%%s.%%f')", col))
		case reconcile.KindTimestamp:
			// Sessions run with time_zone '+00:00': a TIMESTAMP renders
			// in UTC, a DATETIME as written.
			return asUTF8(fmt.Sprintf("DATE_FORMAT(%s, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')", col))
		case reconcile.KindText:
			return asUTF8(col)
		}
		return asUTF8("CAST(" + col + " AS CHAR)")
	},
	Concat:   func(parts []string) string { return "CONCAT(" + strings.Join(parts, ", ") + ")" },
	Hash60:   func(hex string) string { return "CAST(CONV(" + hex + ", 16, 10) AS UNSIGNED)" },
	IntText:  func(x string) string { return "CAST(" + x + " AS CHAR)" },
	NullMark: "_utf8mb4 X'1E' COLLATE utf8mb4_bin",
	Sep:      "_utf8mb4 X'1F' COLLATE utf8mb4_bin",
	SumText:  func(x string) string { return "CAST(COALESCE(SUM(" + x + "), 0) AS CHAR)" },
}

func (s *reconcileSession) dialect() reconcile.Dialect {
	d := myDialect
	d.Table = func(t engines.TableRef) string { return quoteIdent(s.schema(t)) + "." + quoteIdent(t.Name) }
	return d
}

func (s *reconcileSession) schema(t engines.TableRef) string {
	if t.Schema != "" {
		return t.Schema
	}
	return s.database
}

// Columns implements reconcile.Session.
func (s *reconcileSession) Columns(ctx context.Context, t engines.TableRef) ([]reconcile.Column, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, COALESCE(NUMERIC_SCALE, -1)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, s.schema(t), t.Name)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the columns: %w", err))
	}
	defer rows.Close()
	var cols []reconcile.Column
	for rows.Next() {
		var c reconcile.Column
		var dataType string
		var scale int
		if err := rows.Scan(&c.Name, &c.Type, &dataType, &scale); err != nil {
			return nil, classify(fmt.Errorf("reading the columns: %w", err))
		}
		c.Kind, c.Scale = myKind(strings.ToLower(dataType), strings.ToLower(c.Type), scale)
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("reading the columns: %w", err))
	}
	if len(cols) == 0 {
		// information_schema turns a failure to open a table (interrupted
		// by max_statement_time, say) into a warning and no rows: that is
		// not a missing table.
		if w := s.interruption(ctx); w != nil {
			return nil, classify(fmt.Errorf("reading the columns: %w", w))
		}
		return nil, fmt.Errorf("%s.%s: %w", s.schema(t), t.Name, reconcile.ErrNoTable)
	}
	return cols, nil
}

// interruption is the warning of the session's last statement that says
// it was interrupted or timed out (ER_QUERY_INTERRUPTED,
// ER_STATEMENT_TIMEOUT), as an error; nil when there is none.
func (s *reconcileSession) interruption(ctx context.Context) error {
	rows, err := s.conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return nil
	}
	defer rows.Close()
	for rows.Next() {
		var level, msg string
		var code uint16
		if rows.Scan(&level, &code, &msg) == nil && (code == erQueryInterrupted || code == erStatementTimeout) {
			return &mysql.MySQLError{Number: code, Message: msg}
		}
	}
	return nil
}

// myKind is how reconcile normalises a column of data type dataType
// (columnType is the full type, "tinyint(1) unsigned").
func myKind(dataType, columnType string, scale int) (reconcile.Kind, int) {
	switch dataType {
	case "tinyint":
		if strings.HasPrefix(columnType, "tinyint(1)") {
			return reconcile.KindBool, 0
		}
		return reconcile.KindInteger, 0
	case "bit":
		if columnType == "bit(1)" {
			return reconcile.KindBool, 0
		}
	case "smallint", "mediumint", "int", "integer", "bigint", "year":
		return reconcile.KindInteger, 0
	case "decimal", "numeric":
		return reconcile.KindDecimal, scale
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "uuid", "json":
		return reconcile.KindText, 0
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return reconcile.KindBytes, 0
	case "date":
		return reconcile.KindDate, 0
	case "time":
		return reconcile.KindTime, 0
	case "datetime", "timestamp":
		return reconcile.KindTimestamp, 0
	case "float", "double", "real":
		return reconcile.KindInexact, 0
	}
	return reconcile.KindOther, 0
}

// Buckets implements reconcile.Session.
func (s *reconcileSession) Buckets(ctx context.Context, q reconcile.Query) ([]reconcile.Bucket, error) {
	rows, err := s.conn.QueryContext(ctx, reconcile.BucketsSQL(s.dialect(), q))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []reconcile.Bucket
	for rows.Next() {
		var b reconcile.Bucket
		if err := rows.Scan(&b.Prefix, &b.Rows, &b.Sum); err != nil {
			return nil, classify(err)
		}
		out = append(out, b)
	}
	return out, classify(rows.Err())
}

// Rows implements reconcile.Session.
func (s *reconcileSession) Rows(ctx context.Context, q reconcile.Query) ([]reconcile.Row, error) {
	rows, err := s.conn.QueryContext(ctx, reconcile.RowsSQL(s.dialect(), q))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	nk := len(q.Key)
	var out []reconcile.Row
	for rows.Next() {
		vals := make([]sql.NullString, nk+len(q.Columns))
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, classify(err)
		}
		row := reconcile.Row{Key: make([]string, nk), Values: make([]*string, len(q.Columns))}
		for i, v := range vals {
			switch {
			case i < nk:
				row.Key[i] = v.String
			case v.Valid:
				row.Values[i-nk] = &v.String
			}
		}
		out = append(out, row)
	}
	return out, classify(rows.Err())
}

// Close implements reconcile.Session.
func (s *reconcileSession) Close() error {
	s.conn.Close()
	return s.db.Close()
}
