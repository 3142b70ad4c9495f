package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Comments (maintenance.Commenter). MariaDB has no statement for a
// column's comment alone: ALTER TABLE … MODIFY COLUMN restates the whole
// column, so the definition is taken at run time from SHOW CREATE TABLE
// (the server's own spelling of it), with only its COMMENT clause
// replaced. DDL commits implicitly: each change is its own statement, and
// a failure leaves the earlier ones applied (the results say which).

// ApplyComments sets the comments of changes in database, one ALTER TABLE
// each, under opts.LockTimeout.
func (e *Engine) ApplyComments(ctx context.Context, c engines.Conn, database string, changes []maintmodel.CommentChange, opts maintmodel.RunOptions) ([]maintmodel.CommentResult, error) {
	if err := maintmodel.CheckComments("mysql", changes); err != nil {
		return nil, err
	}
	for _, ch := range changes {
		if ch.Table.Schema != "" && ch.Table.Schema != database {
			return nil, fmt.Errorf("the comment of %s is on another database than %s", ch.Object(), database)
		}
	}
	cfg, err := parseDSN(c)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, connectError(cfg, database, err)
	}
	defer conn.Close()
	secs := int64((opts.Lock() + time.Second - 1) / time.Second)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
		return nil, fmt.Errorf("setting lock_wait_timeout: %w", err)
	}
	out := make([]maintmodel.CommentResult, 0, len(changes))
	for _, ch := range changes {
		ch.Table.Schema = ""
		r := maintmodel.CommentResult{CommentChange: ch}
		if r.Before, err = myComment(ctx, conn, database, ch); err != nil {
			return out, err
		}
		if r.Statement, err = myCommentStatement(ctx, conn, ch); err != nil {
			return out, err
		}
		if _, err := conn.ExecContext(ctx, r.Statement); err != nil {
			if errNumber(err) == erLockWaitTimeout {
				err = fmt.Errorf("%w after %ds (lock_wait_timeout; another session holds a conflicting lock on %s): %v", maintmodel.ErrLockTimeout, secs, ch.Table, err)
			}
			return out, fmt.Errorf("%s: %w", r.Statement, err)
		}
		r.Applied = true
		if r.After, err = myComment(ctx, conn, database, ch); err != nil {
			out = append(out, r)
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// myComment reads the comment of ch's table or column.
func myComment(ctx context.Context, conn *sql.Conn, database string, ch maintmodel.CommentChange) (string, error) {
	var s string
	var err error
	if ch.Column == "" {
		err = conn.QueryRowContext(ctx, `SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
			database, ch.Table.Name).Scan(&s)
	} else {
		err = conn.QueryRowContext(ctx, `SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
			database, ch.Table.Name, ch.Column).Scan(&s)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting the comment of %s: it does not exist in %s", ch.Object(), database)
	}
	if err != nil {
		return "", fmt.Errorf("reading the comment of %s: %w", ch.Object(), err)
	}
	return s, nil
}

// myCommentStatement renders ch: ALTER TABLE … COMMENT = for a table, and
// for a column MODIFY COLUMN with the definition SHOW CREATE TABLE gives
// now and the new COMMENT in place of the old one.
func myCommentStatement(ctx context.Context, conn *sql.Conn, ch maintmodel.CommentChange) (string, error) {
	t := quoteIdent(ch.Table.Name)
	if ch.Column == "" {
		return "ALTER TABLE " + t + " COMMENT = " + quoteString(ch.Text), nil
	}
	var name, create string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+t).Scan(&name, &create); err != nil {
		return "", fmt.Errorf("reading the definition of %s: %w", ch.Table, err)
	}
	def, err := columnDefinition(create, ch.Column)
	if err != nil {
		return "", fmt.Errorf("the comment of %s: %w", ch.Object(), err)
	}
	def, err = replaceComment(def, "COMMENT "+quoteString(ch.Text))
	if err != nil {
		return "", fmt.Errorf("the comment of %s: %w", ch.Object(), err)
	}
	return "ALTER TABLE " + t + " MODIFY COLUMN " + quoteIdent(ch.Column) + " " + def, nil
}

// columnDefinition finds column's line in a SHOW CREATE TABLE text and
// returns its definition (everything after the name, without the comma).
// The server writes one column per line, its name quoted, the comment's
// newlines escaped.
func columnDefinition(create, column string) (string, error) {
	prefix := "  " + quoteIdent(column) + " "
	for _, line := range strings.Split(create, "\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSuffix(strings.TrimPrefix(line, prefix), ","), nil
		}
	}
	return "", fmt.Errorf("SHOW CREATE TABLE has no line for column %s", quoteIdent(column))
}

// replaceComment puts comment in place of def's COMMENT '…' clause, or,
// without one, before a column CHECK constraint or at the end. It reads def
// as the server quotes it: '…' and "…" strings with ” and backslash
// escapes, `…` identifiers, parentheses; a COMMENT or CHECK word inside
// any of them is not a clause.
func replaceComment(def, comment string) (string, error) {
	type span struct{ start, end int }
	var words []span
	depth := 0
	for i := 0; i < len(def); {
		switch ch := def[i]; {
		case ch == '\'' || ch == '"' || ch == '`':
			j := i + 1
			for ; j < len(def); j++ {
				if ch != '`' && def[j] == '\\' {
					j++
					continue
				}
				if def[j] == ch {
					if j+1 < len(def) && def[j+1] == ch {
						j++
						continue
					}
					break
				}
			}
			if j >= len(def) {
				return "", fmt.Errorf("cannot read the column definition %q: an unterminated quote", def)
			}
			if depth == 0 {
				words = append(words, span{i, j + 1})
			}
			i = j + 1
		case ch == '(':
			depth++
			i++
		case ch == ')':
			depth--
			i++
		case isWordByte(ch):
			j := i
			for j < len(def) && isWordByte(def[j]) {
				j++
			}
			if depth == 0 {
				words = append(words, span{i, j})
			}
			i = j
		default:
			i++
		}
	}
	for k, w := range words {
		word := strings.ToUpper(def[w.start:w.end])
		if word == "COMMENT" && k+1 < len(words) && def[words[k+1].start] == '\'' {
			return def[:w.start] + comment + def[words[k+1].end:], nil
		}
	}
	for _, w := range words {
		if strings.ToUpper(def[w.start:w.end]) == "CHECK" {
			return def[:w.start] + comment + " " + def[w.start:], nil
		}
	}
	return def + " " + comment, nil
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
