package mssql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// restoreTables is the single-table restore: the whole backup is restored
// under a scratch name on the target server, each table is copied into
// the target database with SELECT INTO (same server: the rows do not pass
// through dbopsd), and the scratch copy is dropped. The report says so:
// SELECT INTO brings columns and rows, not indexes, constraints, triggers
// or permissions.
func (e *Engine) restoreTables(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	b := make([]byte, 6)
	rand.Read(b)
	scratch := "dbopsd_tbl_" + hex.EncodeToString(b)
	whole := req
	whole.Database, whole.Tables, whole.Replace = scratch, nil, false
	if _, err := e.Restore(ctx, target, whole, source); err != nil {
		e.dropQuietly(ctx, target, scratch)
		return nil, fmt.Errorf("restoring tables into %s: the scratch restore %s: %w", req.Database, scratch, err)
	}
	defer e.dropQuietly(ctx, target, scratch)

	db, err := open(ctx, target, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
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
	inBackup, err := userTables(ctx, db, scratch)
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
		cp, err := copyTable(scratch, req.Database, t)
		if err != nil {
			return nil, fault.Permanent(err)
		}
		if err := exec(ctx, db, schema); err != nil {
			return nil, fmt.Errorf("creating schema %s in %s: %w", t.Schema, req.Database, err)
		}
		if err := exec(ctx, db, cp); err != nil {
			return nil, fmt.Errorf("copying table %s into %s: %w", t, req.Database, err)
		}
		rep.AddNote(engines.Note{Key: NoteTableCopied, Params: engines.Params{"table": t.String(), "database": req.Database}})
	}
	return rep, nil
}

func (e *Engine) dropQuietly(ctx context.Context, target engines.Conn, name string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if ok, err := e.DatabaseExists(dctx, target, name); err == nil && ok {
		e.DropDatabase(dctx, target, name)
	}
}
