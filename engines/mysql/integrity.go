package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// CheckIntegrity runs CHECK TABLE ... EXTENDED on every table and view of
// database. A table whose last status is not OK is a finding, with every
// message the server gave for it; notes (e.g. "The storage engine for the
// table doesn't support check") are not.
func (e *Engine) CheckIntegrity(ctx context.Context, target engines.Conn, database string) (*engines.IntegrityReport, error) {
	start := time.Now()
	cfg, err := parseDSN(target)
	if err != nil {
		return nil, err
	}
	if err := checkName(database); err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	db, srv, err := connect(ctx, cfg, "", 1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rep := &engines.IntegrityReport{Tool: "CHECK TABLE ... EXTENDED (" + srv.String() + ")"}
	names, err := queryStrings(ctx, db, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'SEQUENCE' ORDER BY TABLE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("integrity check of %s on %s: listing tables: %w", database, where(cfg), classify(err))
	}
	if len(names[0]) == 0 {
		rep.Skip(engines.Note{Key: NoteNoTables})
	}
	for _, n := range names[0] {
		f, err := checkTable(ctx, db, database, n)
		if err != nil {
			return nil, fmt.Errorf("integrity check of %s on %s: %w", database, where(cfg), err)
		}
		rep.Findings = append(rep.Findings, f...)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func checkTable(ctx context.Context, db *sql.DB, database, name string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "CHECK TABLE "+quoteIdent(database)+"."+quoteIdent(name)+" EXTENDED")
	if err != nil {
		return nil, tableError(name, "checking", err)
	}
	defer rows.Close()
	var msgs []string
	status := ""
	for rows.Next() {
		var tbl, op, typ, text sql.NullString
		if err := rows.Scan(&tbl, &op, &typ, &text); err != nil {
			return nil, tableError(name, "checking", err)
		}
		switch strings.ToLower(typ.String) {
		case "status":
			status = text.String
		case "note":
		default:
			msgs = append(msgs, typ.String+": "+text.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, tableError(name, "checking", err)
	}
	if strings.EqualFold(status, "OK") || (status == "" && len(msgs) == 0) {
		return nil, nil
	}
	f := fmt.Sprintf("table %s: CHECK TABLE status %q", name, status)
	if len(msgs) > 0 {
		f += ": " + strings.Join(msgs, "; ")
	}
	return []string{f}, nil
}
