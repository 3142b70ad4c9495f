package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Restore recreates a backup (or some of its tables) as req.Database on the
// server of target.
//
// Order: database; tables and sequences (with foreign_key_checks off, so
// their order does not matter); the rows; routines; views in dependency
// order; triggers (after the rows, so the load does not fire them); events.
// Rows go in with LOAD DATA LOCAL INFILE streamed from the part (or INSERT
// batches where the server refuses LOCAL INFILE), unique_checks,
// foreign_key_checks and, when the account may, sql_log_bin off. Tables
// load in parallel; how a large table loads depends on the server (see
// strategyBulk, strategyParallel and partsAtOnce). InnoDB tables load with
// STATS_AUTO_RECALC off, set back after (see statsAutoRecalc). A failed
// restore drops what it created.
func (e *Engine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	if err := checkName(req.Database); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	cfg, err := parseDSN(target)
	if err != nil {
		return nil, err
	}
	r := &restoreRun{
		e: e, cfg: cfg, req: req, source: source, par: max(req.Parallel, 1),
		log:    logger(req.Logger).With("database", req.Database),
		report: &engines.RestoreReport{},
	}
	if err := r.run(ctx); err != nil {
		return nil, fmt.Errorf("restore of %s on %s: %w", req.Database, where(cfg), err)
	}
	return r.report, nil
}

type restoreRun struct {
	e      *Engine
	cfg    *mysql.Config
	req    engines.RestoreRequest
	source engines.PartSource
	par    int
	log    hclog.Logger

	srv      serverInfo
	doc      *schemaDoc
	db       *sql.DB // default database: req.Database
	method   string
	strategy string
	tables   []*table // the tables and sequences to restore
	parts    map[string][]engines.PartInfo
	restored map[string]bool // tables being restored (by name)

	mu     sync.Mutex
	report *engines.RestoreReport
	noted  map[string]bool
}

// note records n in the report once (every load connection says the same
// about the binary log).
func (r *restoreRun) note(key string, params engines.Params) {
	n := engines.Note{Key: key, Params: params}
	msg := n.English()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.noted == nil {
		r.noted = map[string]bool{}
	}
	if !r.noted[msg] {
		r.noted[msg] = true
		r.report.AddNote(n)
		r.log.Info(msg)
	}
}

func (r *restoreRun) skip(key string, params engines.Params) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := r.report.AddSkipped(engines.Note{Key: key, Params: params})
	r.log.Warn("not restored", "what", msg)
}

// run restores in phases: what exists on the target decides what may be
// done (checkTarget); then the database, the tables and sequences
// (createTables), the rows (load, restore_load.go), the programs, views,
// triggers and events (createObjects, restore_objects.go) and what the
// report must say (finalNotes). A failure after checkTarget drops what
// this restore created.
func (r *restoreRun) run(ctx context.Context) error {
	start := time.Now()
	doc, err := readSchema(ctx, r.source)
	if err != nil {
		return err
	}
	r.doc = doc
	if err := r.selectTables(); err != nil {
		return err
	}

	adminDB, srv, err := connect(ctx, r.cfg, "", 1)
	if err != nil {
		return err
	}
	defer adminDB.Close()
	r.srv = srv
	admin, err := adminDB.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer admin.Close()
	r.noBinlog(ctx, admin)
	if err := r.chooseMethods(ctx, admin); err != nil {
		return err
	}

	exists, existing, err := r.checkTarget(ctx, admin)
	if err != nil {
		return err
	}
	var made created
	ok := false
	defer func() {
		if !ok {
			r.dropCreated(ctx, admin, &made)
		}
	}()
	if !exists {
		if err := r.createDatabase(ctx, admin); err != nil {
			return err
		}
		made.database = true
	}

	r.db, err = openDB(ctx, r.cfg, r.req.Database, r.par+1)
	if err != nil {
		return err
	}
	defer r.db.Close()
	ddl, err := r.db.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer ddl.Close()
	if err := r.initLoader(ctx, ddl); err != nil {
		return err
	}

	deferred, recalc, err := r.createTables(ctx, ddl, existing, &made)
	if err != nil {
		return err
	}
	loadStart := time.Now()
	rows, err := r.load(ctx, deferred)
	if err != nil {
		return err
	}
	r.log.Info("rows loaded", "rows", rows, "took", time.Since(loadStart).Round(time.Millisecond), "strategy", r.strategy)
	if err := r.restoreRecalc(ctx, ddl, recalc); err != nil {
		return err
	}
	if err := r.createObjects(ctx, ddl); err != nil {
		return err
	}
	r.reportDefiners(ctx, admin)
	r.finalNotes(rows, time.Since(start))
	ok = true
	return nil
}

// whole reports whether the restore is of the whole database rather than
// some tables.
func (r *restoreRun) whole() bool { return len(r.req.Tables) == 0 }

// checkTarget looks at what exists before anything is changed: whether
// the database exists and, for a table restore into it, which tables it
// has (a clash with a restored table needs Replace). A whole-database
// restore with Replace drops the existing database here.
func (r *restoreRun) checkTarget(ctx context.Context, admin *sql.Conn) (exists bool, existing map[string]bool, err error) {
	exists, err = databaseExists(ctx, admin, r.req.Database)
	if err != nil {
		return false, nil, err
	}
	switch {
	case !exists:
		return false, nil, nil
	case r.whole():
		if !r.req.Replace {
			return false, nil, fmt.Errorf("database %s: %w", r.req.Database, engines.ErrExists)
		}
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+quoteIdent(r.req.Database)); err != nil {
			return false, nil, fmt.Errorf("dropping the existing database: %w", classify(err))
		}
		return false, nil, nil
	}
	existing, err = r.existingTables(ctx, admin)
	return true, existing, err
}

// created is what a restore made, for dropCreated to remove on failure.
type created struct {
	database bool     // the database itself: drop it whole
	tables   []string // tables made in a database that existed
}

// dropCreated removes what a failed restore made, with a minute of its
// own even when ctx is what was cancelled.
func (r *restoreRun) dropCreated(ctx context.Context, admin *sql.Conn, made *created) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if made.database {
		if _, err := admin.ExecContext(cctx, "DROP DATABASE IF EXISTS "+quoteIdent(r.req.Database)); err != nil {
			r.log.Error("could not drop the partly restored database", "error", err)
		}
		return
	}
	for _, t := range made.tables {
		admin.ExecContext(cctx, "DROP TABLE IF EXISTS "+quoteIdent(r.req.Database)+"."+quoteIdent(t))
	}
}

// createDatabase creates req.Database with the backup's character set and
// collation.
func (r *restoreRun) createDatabase(ctx context.Context, admin *sql.Conn) error {
	stmt := "CREATE DATABASE " + quoteIdent(r.req.Database)
	if r.doc.Charset != "" {
		stmt += " CHARACTER SET " + r.doc.Charset
	}
	if r.doc.Collation != "" {
		stmt += " COLLATE " + r.doc.Collation
	}
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("creating the database: %w", classify(err))
	}
	return nil
}

// createTables creates the restored tables and sequences, replacing the
// existing ones of the same names, and sets the sequences' next values.
// It returns the secondary indexes deferred until after the load, by
// table, and the tables whose statistics recalculation the load turned
// off.
func (r *restoreRun) createTables(ctx context.Context, ddl *sql.Conn, existing map[string]bool, made *created) (map[string][]string, []recalcOption, error) {
	deferred := map[string][]string{}
	var recalc []recalcOption
	for _, t := range r.tables {
		if existing[t.Name] {
			if _, err := ddl.ExecContext(ctx, "DROP TABLE "+quoteIdent(t.Name)); err != nil {
				return nil, nil, fmt.Errorf("dropping the existing table %s: %w", t.Name, classify(err))
			}
		}
		create := t.Create
		if !r.whole() {
			create = r.dropMissingForeignKeys(t, create, existing)
		}
		if t.Kind == kindTable && r.partsAtOnce(t.Name) && r.tableBytes(t.Name) >= r.deferBytes() {
			create, deferred[t.Name] = deferKeys(create, autoIncrementColumn(create))
		}
		if _, err := ddl.ExecContext(ctx, create); err != nil {
			if outOfSpace(err) {
				return nil, nil, spaceError("creating "+t.Kind+" "+t.Name, err)
			}
			return nil, nil, fmt.Errorf("creating %s %s: %w", t.Kind, t.Name, classify(err))
		}
		made.tables = append(made.tables, t.Name)
		if t.Kind == kindTable && t.hasData() {
			if orig, ok := statsAutoRecalc(t); ok {
				// ALGORITHM=INSTANT: only the option changes, never a rebuild.
				if _, err := ddl.ExecContext(ctx, "ALTER TABLE "+quoteIdent(t.Name)+" STATS_AUTO_RECALC=0, ALGORITHM=INSTANT"); err == nil {
					recalc = append(recalc, recalcOption{t.Name, orig})
				} else {
					r.log.Debug("statistics recalculation left on during the load", "table", t.Name, "error", err)
				}
			}
		}
		if t.Kind == kindSequence && t.SequenceNext != "" {
			q := "SELECT SETVAL(" + quoteIdent(t.Name) + ", " + t.SequenceNext + ", 0"
			if t.SequenceCycles != "" {
				q += ", " + t.SequenceCycles
			}
			if _, err := ddl.ExecContext(ctx, q+")"); err != nil {
				return nil, nil, fmt.Errorf("setting sequence %s: %w", t.Name, classify(err))
			}
		}
	}
	return deferred, recalc, nil
}

// finalNotes adds to the report what the DBA must know: users and grants,
// system-versioned history that could not come back, and the summary.
func (r *restoreRun) finalNotes(rows int64, took time.Duration) {
	r.skip(NoteUsersAndGrants, nil)
	for _, t := range r.tables {
		switch t.HistoryLost {
		case "":
		case historyNotLoadable:
			r.note(NoteHistoryNotLoadable, engines.Params{"table": t.Name})
		case historyTransactionIDs:
			r.note(NoteHistoryTrxID, engines.Params{"table": t.Name})
		default: // said by another version
			r.note(NoteHistoryLost, engines.Params{"table": t.Name, "reason": t.HistoryLost})
		}
	}
	r.mu.Lock()
	method := r.method
	r.mu.Unlock()
	r.note(NoteRestored, engines.Params{"tables": strconv.Itoa(countTables(r.tables)), "rows": strconv.FormatInt(rows, 10),
		"took": took.Round(time.Millisecond).String(), "method": method, "strategy": r.strategy})
}

func countTables(ts []*table) int {
	n := 0
	for _, t := range ts {
		if t.Kind == kindTable {
			n++
		}
	}
	return n
}

// readSchema reads and decodes the schema part.
func readSchema(ctx context.Context, source engines.PartSource) (*schemaDoc, error) {
	var info *engines.PartInfo
	for _, p := range source.Parts() {
		if p.Kind == engines.KindSchema {
			info = &p
			break
		}
	}
	if info == nil {
		return nil, fault.Permanent(errors.New("the backup has no schema part"))
	}
	if info.Format != formatSchema {
		return nil, fault.Permanent(fmt.Errorf("schema part format %q: this version reads %s", info.Format, formatSchema))
	}
	rc, err := source.Open(ctx, info.Name)
	if err != nil {
		return nil, fmt.Errorf("opening the schema part: %w", err)
	}
	defer rc.Close()
	var doc schemaDoc
	if err := json.NewDecoder(rc).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading the schema part: %w", err)
	}
	if doc.Format != formatSchema {
		return nil, fault.Permanent(fmt.Errorf("schema part format %q: this version reads %s", doc.Format, formatSchema))
	}
	return &doc, nil
}
