package mssql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// restoreTables is the single-table restore: the whole backup is restored
// under a scratch name, recorded first in the scratch ledger
// (req.Scratch) so that a crash leaves nothing the stale cleanup does not
// drop, each table is copied into the target database, and the scratch
// copy is dropped. The scratch restore goes onto the target's own server,
// or onto req.ScratchTarget when set (a target that cannot take the
// whole database). On one server a table is copied with SELECT INTO (the
// rows do not pass through dbopsd); across servers with bulk copy
// (mssql.CopyIn), streamed in batches of copyBatchRows rows, each its own
// transaction. The report says which: either brings columns and rows,
// not indexes, constraints, triggers or permissions.
func (e *Engine) restoreTables(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	scratchConn := target
	if req.ScratchTarget != nil {
		scratchConn = *req.ScratchTarget
	}
	scratchServer := engines.ServerOf(engineName, scratchConn.DSN)
	across := scratchServer != engines.ServerOf(engineName, target.DSN)
	b := make([]byte, 6)
	rand.Read(b)
	scratch := "dbopsd_tbl_" + hex.EncodeToString(b)
	done := func(context.Context, bool) {}
	if req.Scratch != nil {
		d, err := req.Scratch(ctx, scratch)
		if err != nil {
			return nil, fmt.Errorf("restoring tables into %s: recording the scratch restore %s: %w", req.Database, scratch, err)
		}
		done = d
	}
	drop := func() { done(ctx, e.dropQuietly(ctx, scratchConn, scratch)) }
	whole := req
	whole.Database, whole.Tables, whole.Replace, whole.Scratch, whole.ScratchTarget = scratch, nil, false, nil, nil
	if _, err := e.Restore(ctx, scratchConn, whole, source); err != nil {
		drop()
		return nil, fmt.Errorf("restoring tables into %s: the scratch restore %s: %w", req.Database, scratch, err)
	}
	defer drop()

	db, err := open(ctx, target, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	from := db
	if across {
		if from, err = open(ctx, scratchConn, "master"); err != nil {
			return nil, err
		}
		defer from.Close()
	}
	exists, err := e.DatabaseExists(ctx, target, req.Database)
	if err != nil {
		return nil, err
	}
	if !exists {
		s, err := createDatabase(req.Database)
		if err != nil {
			return nil, fault.Permanent(err)
		}
		if err := exec(ctx, db, s); err != nil {
			return nil, fmt.Errorf("creating database %s: %w", req.Database, err)
		}
	}
	inBackup, err := userTables(ctx, from, scratch)
	if err != nil {
		return nil, err
	}
	inTarget := map[engines.TableRef]bool{}
	if exists {
		ts, err := userTables(ctx, db, req.Database)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			inTarget[t] = true
		}
	}
	have := map[engines.TableRef]bool{}
	for _, t := range inBackup {
		have[t] = true
	}
	rep := &engines.RestoreReport{}
	for _, t := range req.Tables {
		if t.Schema == "" {
			t.Schema = "dbo"
		}
		if !have[t] {
			return nil, fault.Permanent(fmt.Errorf("table %s is not in the backup", t))
		}
		if inTarget[t] {
			if !req.Replace {
				return nil, fmt.Errorf("table %s in database %s: %w", t, req.Database, engines.ErrExists)
			}
			s, err := dropTable(req.Database, t)
			if err != nil {
				return nil, fault.Permanent(err)
			}
			if err := exec(ctx, db, s); err != nil {
				return nil, fmt.Errorf("replacing table %s: %w", t, err)
			}
		}
		schema, err := createSchema(req.Database, t.Schema)
		if err != nil {
			return nil, fault.Permanent(err)
		}
		if err := exec(ctx, db, schema); err != nil {
			return nil, fmt.Errorf("creating schema %s in %s: %w", t.Schema, req.Database, err)
		}
		if across {
			n, err := copyAcross(ctx, from, db, scratch, req.Database, t)
			if err != nil {
				return nil, fmt.Errorf("copying table %s into %s: %w", t, req.Database, err)
			}
			rep.AddNote(engines.Note{Key: NoteTableBulkCopied, Params: engines.Params{"table": t.String(), "database": req.Database,
				"rows": strconv.FormatInt(n, 10), "server": scratchServer}})
			continue
		}
		cp, err := copyTable(scratch, req.Database, t)
		if err != nil {
			return nil, fault.Permanent(err)
		}
		if err := exec(ctx, db, cp); err != nil {
			return nil, fmt.Errorf("copying table %s into %s: %w", t, req.Database, err)
		}
		rep.AddNote(engines.Note{Key: NoteTableCopied, Params: engines.Params{"table": t.String(), "database": req.Database}})
	}
	return rep, nil
}

// dropQuietly drops database name on target when it is there, and
// reports whether it is gone.
func (e *Engine) dropQuietly(ctx context.Context, target engines.Conn, name string) bool {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	ok, err := e.DatabaseExists(dctx, target, name)
	if err != nil {
		return false
	}
	return !ok || e.DropDatabase(dctx, target, name) == nil
}

// copyBatchRows is how many rows one bulk copy batch, one transaction on
// the target, holds: memory stays bounded whatever the table's size, and
// a failure rolls back one batch only (the table is then incomplete and
// the restore fails saying so).
const copyBatchRows = 10_000

// copyAcross copies table t from the scratch restore on one server into
// database on another: the table created from the scratch copy's columns
// (createTable), then its rows streamed with bulk copy. It returns the
// rows copied.
func copyAcross(ctx context.Context, from, to *sql.DB, scratch, database string, t engines.TableRef) (int64, error) {
	cols, err := readColumns(ctx, from, scratch, t)
	if err != nil {
		return 0, err
	}
	create, err := createTable(database, t, cols)
	if err != nil {
		return 0, fault.Permanent(err)
	}
	if err := exec(ctx, to, create); err != nil {
		return 0, err
	}
	sel, err := selectColumns(scratch, t, cols)
	if err != nil {
		return 0, fault.Permanent(err)
	}
	rows, err := from.QueryContext(ctx, sel.sql)
	if err != nil {
		return 0, fmt.Errorf("reading the scratch copy: %w", classify(err))
	}
	defer rows.Close()
	q, err := quoteNames(database, t.Schema, t.Name)
	if err != nil {
		return 0, fault.Permanent(err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	insert := mssqldb.CopyIn(strings.Join(q, "."), mssqldb.BulkOptions{KeepNulls: true, Tablock: true}, names...)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var total int64
	for {
		n, err := copyBatch(ctx, to, insert, rows, vals, ptrs)
		total += n
		if err != nil {
			return total, fmt.Errorf("after %d rows: %w", total, err)
		}
		if n < copyBatchRows {
			return total, nil
		}
	}
}

// copyBatch copies up to copyBatchRows rows of rows in one transaction.
func copyBatch(ctx context.Context, to *sql.DB, insert string, rows *sql.Rows, vals, ptrs []any) (int64, error) {
	tx, err := to.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err)
	}
	defer tx.Rollback() // after Commit, a no-op
	st, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		return 0, fmt.Errorf("starting the bulk copy: %w", classify(err))
	}
	defer st.Close()
	var n int64
	for n < copyBatchRows && rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		if _, err := st.ExecContext(ctx, vals...); err != nil {
			return 0, fmt.Errorf("bulk copy: %w", classify(err))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading the scratch copy: %w", classify(err))
	}
	if _, err := st.ExecContext(ctx); err != nil { // ends the bulk load
		return 0, fmt.Errorf("bulk copy: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(err)
	}
	return n, nil
}

func readColumns(ctx context.Context, db *sql.DB, database string, t engines.TableRef) ([]column, error) {
	s, err := tableColumns(database, t)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	rows, err := db.QueryContext(ctx, s.sql, s.params()...)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", t, classify(err))
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		var collation sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &c.MaxLength, &c.Precision, &c.Scale, &c.Nullable, &collation); err != nil {
			return nil, err
		}
		c.Collation = collation.String
		out = append(out, c)
	}
	return out, rows.Err()
}
