package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
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

	// What exists decides what may be done, before anything is changed.
	exists, err := databaseExists(ctx, admin, r.req.Database)
	if err != nil {
		return err
	}
	whole := len(r.req.Tables) == 0
	var existing map[string]bool
	if whole && exists {
		if !r.req.Replace {
			return fmt.Errorf("database %s: %w", r.req.Database, engines.ErrExists)
		}
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+quoteIdent(r.req.Database)); err != nil {
			return fmt.Errorf("dropping the existing database: %w", classify(err))
		}
		exists = false
	}
	if !whole && exists {
		names, err := queryStrings(ctx, admin, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, r.req.Database)
		if err != nil {
			return fmt.Errorf("listing existing tables: %w", classify(err))
		}
		existing = map[string]bool{}
		for _, n := range names[0] {
			existing[n] = true
		}
		var clash []string
		for _, t := range r.tables {
			if existing[t.Name] {
				clash = append(clash, t.Name)
			}
		}
		if len(clash) > 0 && !r.req.Replace {
			return fmt.Errorf("table %s in database %s: %w", strings.Join(clash, ", "), r.req.Database, engines.ErrExists)
		}
	}

	// From here on, a failure removes what this restore created.
	createdDB := false
	var createdTables []string
	cleanup := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if createdDB {
			if _, err := admin.ExecContext(cctx, "DROP DATABASE IF EXISTS "+quoteIdent(r.req.Database)); err != nil {
				r.log.Error("could not drop the partly restored database", "error", err)
			}
			return
		}
		for _, t := range createdTables {
			admin.ExecContext(cctx, "DROP TABLE IF EXISTS "+quoteIdent(r.req.Database)+"."+quoteIdent(t))
		}
	}
	ok := false
	defer func() {
		if !ok {
			cleanup()
		}
	}()

	if !exists {
		stmt := "CREATE DATABASE " + quoteIdent(r.req.Database)
		if doc.Charset != "" {
			stmt += " CHARACTER SET " + doc.Charset
		}
		if doc.Collation != "" {
			stmt += " COLLATE " + doc.Collation
		}
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating the database: %w", classify(err))
		}
		createdDB = true
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

	// Tables.
	deferred := map[string][]string{}
	var recalc []recalcOption
	for _, t := range r.tables {
		if existing[t.Name] {
			if _, err := ddl.ExecContext(ctx, "DROP TABLE "+quoteIdent(t.Name)); err != nil {
				return fmt.Errorf("dropping the existing table %s: %w", t.Name, classify(err))
			}
		}
		create := t.Create
		if !whole {
			var dropped []string
			create, dropped = dropForeignKeys(create, func(ref string) bool { return r.restored[ref] || existing[ref] })
			for _, d := range dropped {
				r.skip(NoteForeignKeyNotRecreated, engines.Params{"table": t.Name, "definition": d})
			}
		}
		if t.Kind == kindTable && r.partsAtOnce(t.Name) && r.tableBytes(t.Name) >= r.deferBytes() {
			create, deferred[t.Name] = deferKeys(create, autoIncrementColumn(create))
		}
		if _, err := ddl.ExecContext(ctx, create); err != nil {
			if outOfSpace(err) {
				return spaceError("creating "+t.Kind+" "+t.Name, err)
			}
			return fmt.Errorf("creating %s %s: %w", t.Kind, t.Name, classify(err))
		}
		createdTables = append(createdTables, t.Name)
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
				return fmt.Errorf("setting sequence %s: %w", t.Name, classify(err))
			}
		}
	}

	// Rows.
	loadStart := time.Now()
	rows, err := r.load(ctx, deferred)
	if err != nil {
		return err
	}
	r.log.Info("rows loaded", "rows", rows, "took", time.Since(loadStart).Round(time.Millisecond), "strategy", r.strategy)
	if err := r.restoreRecalc(ctx, ddl, recalc); err != nil {
		return err
	}

	// Programs and views.
	if whole {
		for _, o := range doc.Routines {
			if err := r.createObject(ctx, ddl, engines.KindRoutine, o); err != nil {
				return err
			}
		}
		if err := r.createViews(ctx, ddl, doc.Views); err != nil {
			return err
		}
	} else {
		if n := len(doc.Views) + len(doc.Routines) + len(doc.Events); n > 0 {
			r.skip(NoteProgramsNotRecreated, engines.Params{"count": strconv.Itoa(n)})
		}
	}
	for _, o := range doc.Triggers {
		if !r.restored[o.Table] {
			continue
		}
		o.Create = retargetTrigger(o.Create, doc.Database, r.req.Database)
		if err := r.createObject(ctx, ddl, engines.KindTrigger, o); err != nil {
			return err
		}
	}
	if whole {
		renamed := r.req.Database != doc.Database
		for _, o := range doc.Events {
			if renamed {
				if c := disableEvent(o.Create); !bytesEqual(c, o.Create) {
					o.Create = c
					r.note(NoteEventDisabled, engines.Params{"event": o.Name})
				}
			}
			if err := r.createObject(ctx, ddl, engines.KindEvent, o); err != nil {
				return err
			}
		}
	}
	r.reportDefiners(ctx, admin)
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
		"took": time.Since(start).Round(time.Millisecond).String(), "method": method, "strategy": r.strategy})
	ok = true
	return nil
}

// partsAtOnce reports whether a table's parts load on several connections
// at once, each in its own transaction: always in the parallel strategy;
// in the bulk strategy, for a table of several parts when the restore may
// use several connections. MariaDB's bulk insert into an empty table runs
// on one core and locks the table until commit, so a large table loaded
// in one statement keeps one core of the server busy and the others idle;
// its parts loaded at once as ordinary inserts (unique_checks on, which is
// what keeps MariaDB from starting a bulk insert), with the secondary
// indexes added after, use them all. Measured on MariaDB 10.11, 2 cores,
// 1,020,000 rows in 4 parts: 4.0 s in one bulk statement, 3.5 s in
// parallel with unique_checks off (the part that finds the table empty
// starts a bulk insert, and the others wait for its table lock), 3.0-3.5 s
// with it on.
func (r *restoreRun) partsAtOnce(name string) bool {
	switch r.strategy {
	case strategyParallel:
		return true
	case strategyBulk:
		return r.par > 1 && len(r.parts[name]) > 1
	}
	return false
}

// deferIndexBytes: when a table's parts load at once, tables with at least
// this much data get their secondary indexes after the load.
const deferIndexBytes = 64 << 20

func (r *restoreRun) deferBytes() int64 {
	if r.e.deferBytes > 0 {
		return r.e.deferBytes
	}
	return deferIndexBytes
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

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func (r *restoreRun) tableBytes(name string) int64 {
	if r.req.Snapshot == nil {
		return 0
	}
	ts, _ := r.req.Snapshot.Table(engines.TableRef{Name: name})
	return ts.Bytes
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
		return nil, engines.Permanent(errors.New("the backup has no schema part"))
	}
	if info.Format != formatSchema {
		return nil, engines.Permanent(fmt.Errorf("schema part format %q: this version reads %s", info.Format, formatSchema))
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
		return nil, engines.Permanent(fmt.Errorf("schema part format %q: this version reads %s", doc.Format, formatSchema))
	}
	return &doc, nil
}

// selectTables decides which tables to restore and finds their parts.
func (r *restoreRun) selectTables() error {
	r.parts = map[string][]engines.PartInfo{}
	for _, p := range r.source.Parts() {
		if p.Kind != engines.KindTable || p.Table == nil {
			continue
		}
		if p.Format != formatTSV {
			return engines.Permanent(fmt.Errorf("part %s has format %q: this version reads %s", p.Name, p.Format, formatTSV))
		}
		r.parts[p.Table.Name] = append(r.parts[p.Table.Name], p)
	}
	for _, ps := range r.parts {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	}
	r.restored = map[string]bool{}
	if len(r.req.Tables) == 0 {
		r.tables = r.doc.Tables
	} else {
		for _, ref := range r.req.Tables {
			if ref.Schema != "" && ref.Schema != r.doc.Database {
				return engines.Permanent(fmt.Errorf("table %s: the backup is of database %s", ref, r.doc.Database))
			}
			t := r.doc.table(ref.Name)
			if t == nil {
				return engines.Permanent(fmt.Errorf("table %s is not in the backup", ref.Name))
			}
			if !r.restored[t.Name] {
				r.tables = append(r.tables, t)
			}
			r.restored[t.Name] = true
		}
	}
	for _, t := range r.tables {
		r.restored[t.Name] = true
		if t.hasData() && len(r.parts[t.Name]) == 0 {
			return engines.Permanent(fmt.Errorf("the backup holds no data part for table %s", t.Name))
		}
	}
	return nil
}

// chooseMethods picks LOAD DATA or INSERT, and the scheduling strategy.
func (r *restoreRun) chooseMethods(ctx context.Context, admin *sql.Conn) error {
	r.method = r.e.loadMethod
	if r.method == "" {
		var on sql.NullString
		if err := admin.QueryRowContext(ctx, "SELECT @@GLOBAL.local_infile").Scan(&on); err != nil {
			return classify(err)
		}
		r.method = loadData
		if on.String == "0" || strings.EqualFold(on.String, "OFF") {
			r.method = loadInsert
			r.note(NoteLocalInfileOff, nil)
		}
	}
	r.strategy = r.e.strategy
	if r.strategy == "" {
		r.strategy = strategyParallel
		if r.srv.bulkLoadsEmptyTables() {
			r.strategy = strategyBulk
		}
	}
	for _, t := range r.tables {
		if t.History && !r.srv.canInsertHistory() {
			return engines.Permanent(fmt.Errorf("table %s is system-versioned with its history in the backup, and %s cannot load history (MariaDB 10.11 or later can)", t.Name, r.srv))
		}
	}
	return nil
}

// initLoader prepares a connection for loading: no per-row unique or
// foreign key checks, no binlog when the account may turn it off, history
// writable.
func (r *restoreRun) initLoader(ctx context.Context, c *sql.Conn) error {
	for _, s := range []string{"SET SESSION unique_checks = 0", "SET SESSION foreign_key_checks = 0"} {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("preparing a load connection (%s): %w", s, classify(err))
		}
	}
	r.noBinlog(ctx, c)
	if r.srv.canInsertHistory() {
		for _, t := range r.tables {
			if t.History {
				if _, err := c.ExecContext(ctx, "SET SESSION system_versioning_insert_history = 1"); err != nil {
					return fmt.Errorf("enabling system_versioning_insert_history for table %s's history: %w", t.Name, classify(err))
				}
				break
			}
		}
	}
	if r.srv.MariaDB {
		c.ExecContext(ctx, "SET SESSION max_statement_time = 0")
	}
	return nil
}

// noBinlog keeps a connection's work out of the binary log: a restore is
// not a change to replicate, and the log would double its writes. Every
// connection of the restore does the same, so replicas get all of it or
// none.
func (r *restoreRun) noBinlog(ctx context.Context, c *sql.Conn) {
	if _, err := c.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
		r.note(NoteBinlogOn, engines.Params{"error": err.Error()})
		return
	}
	r.note(NoteBinlogOff, nil)
}

// load loads the rows of every restored table and returns how many.
func (r *restoreRun) load(ctx context.Context, deferred map[string][]string) (int64, error) {
	var total atomic.Int64
	type job struct {
		t     *table
		parts []engines.PartInfo // loaded in one transaction, in order
		// noBulk: the part shares its table with parts loading at once on
		// other connections, and must not start MariaDB's bulk insert.
		noBulk bool
	}
	var jobs []job
	var order []*table
	for _, t := range r.tables {
		if t.hasData() {
			order = append(order, t)
		}
	}
	// Largest first, so the longest load starts at once.
	sort.SliceStable(order, func(i, j int) bool { return r.tableBytes(order[i].Name) > r.tableBytes(order[j].Name) })
	remaining := map[string]*atomic.Int32{}
	for _, t := range order {
		ps := r.parts[t.Name]
		if !r.partsAtOnce(t.Name) {
			jobs = append(jobs, job{t: t, parts: ps})
			continue
		}
		remaining[t.Name] = new(atomic.Int32)
		remaining[t.Name].Store(int32(len(ps)))
		for _, p := range ps {
			jobs = append(jobs, job{t: t, parts: []engines.PartInfo{p}, noBulk: r.strategy == strategyBulk})
		}
	}

	ch := make(chan job)
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < min(r.par, max(len(jobs), 1)); i++ {
		g.Go(func() error {
			c, err := r.db.Conn(gctx)
			if err != nil {
				return classify(err)
			}
			defer c.Close()
			if err := r.initLoader(gctx, c); err != nil {
				return err
			}
			bulk := true // initLoader: unique_checks = 0
			for j := range ch {
				if bulk == j.noBulk {
					// MariaDB starts a bulk insert (which locks the table
					// until commit) only with unique_checks off.
					uc := "SET SESSION unique_checks = 0"
					if j.noBulk {
						uc = "SET SESSION unique_checks = 1"
					}
					if _, err := c.ExecContext(gctx, uc); err != nil {
						return fmt.Errorf("preparing a load connection (%s): %w", uc, classify(err))
					}
					bulk = !j.noBulk
				}
				n, err := r.loadParts(gctx, c, j.t, j.parts)
				if err != nil {
					return err
				}
				total.Add(n)
				if rem := remaining[j.t.Name]; rem != nil && rem.Add(-1) == 0 && len(deferred[j.t.Name]) > 0 {
					start := time.Now()
					stmt := "ALTER TABLE " + quoteIdent(j.t.Name) + " " + strings.Join(deferred[j.t.Name], ", ")
					if _, err := c.ExecContext(gctx, stmt); err != nil {
						if outOfSpace(err) {
							return spaceError("adding the indexes of table "+j.t.Name+" after the load", err)
						}
						return fmt.Errorf("adding the indexes of table %s after the load: %w", j.t.Name, classify(err))
					}
					r.log.Debug("indexes added after the load", "table", j.t.Name, "took", time.Since(start).Round(time.Millisecond))
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(ch)
		for _, j := range jobs {
			select {
			case ch <- j:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	err := g.Wait()
	return total.Load(), err
}

// loadParts loads parts of one table in one transaction and one
// statement: the parts, in order, make one stream (each ends with a whole
// line). One statement matters on MariaDB, whose bulk insert covers only
// the statement that finds the table empty: measured on 600k rows, three
// LOAD DATA statements in one transaction took 7.6 s, one took 4.0 s. A
// read-ahead lets the source decode (decrypt, decompress) ahead of the
// server while it parses and inserts.
func (r *restoreRun) loadParts(ctx context.Context, c *sql.Conn, t *table, parts []engines.PartInfo) (int64, error) {
	r.mu.Lock()
	method := r.method
	r.mu.Unlock()
	n, err := r.loadRetrying(ctx, c, t, parts, method)
	if err != nil && method == loadData && localInfileRefused(err) {
		// local_infile said yes, the statement was refused all the same (a
		// client-side or per-account restriction): INSERT from now on.
		r.mu.Lock()
		r.method = loadInsert
		r.mu.Unlock()
		r.note(NoteLoadDataRefused, engines.Params{"error": fmt.Sprint(errors.Unwrap(err))})
		n, err = r.loadRetrying(ctx, c, t, parts, loadInsert)
	}
	return n, err
}

// loadRetrying runs loadWith again when the server chose this load as a
// deadlock victim or it timed out on a lock (parts of one table loading on
// several connections can collide in InnoDB's locks). That is safe: the
// server rolled the whole transaction back, and loadWith reads the parts
// from their start again.
func (r *restoreRun) loadRetrying(ctx context.Context, c *sql.Conn, t *table, parts []engines.PartInfo, method string) (int64, error) {
	const attempts = 4
	for i := 1; ; i++ {
		n, err := r.loadWith(ctx, c, t, parts, method)
		if err == nil || i == attempts || !lockConflict(err) {
			return n, err
		}
		r.log.Debug("load collided with another one; retrying", "table", t.Name, "attempt", i, "error", err)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(i*i) * 100 * time.Millisecond):
		}
	}
}

// lockConflict: a deadlock (1213) or a lock wait timeout (1205).
func lockConflict(err error) bool {
	n := errNumber(err)
	return n == erLockDeadlock || n == erLockWaitTimeout
}

// spaceError says the target ran out of space while doing what. It is
// permanent: retrying the same restore fails the same way until the
// operator frees or adds space on the target.
func spaceError(what string, err error) error {
	return engines.Permanent(fmt.Errorf("target server is out of space while %s: %w", what, err))
}

func localInfileRefused(err error) bool {
	switch errNumber(err) {
	case erNotAllowedCommand, erLoadInfileDisabled, erLoadInfileClientOff, erLoadInfileCapability:
		return true
	}
	return false
}

func (r *restoreRun) loadWith(ctx context.Context, c *sql.Conn, t *table, parts []engines.PartInfo, method string) (int64, error) {
	if _, err := c.ExecContext(ctx, "START TRANSACTION"); err != nil {
		return 0, classify(err)
	}
	src := newReadAhead(ctx, &partsReader{ctx: ctx, src: r.source, parts: parts}, readAheadBuffers, readAheadSize)
	defer src.Close()
	var n int64
	var err error
	if method == loadInsert {
		n, err = insertRows(ctx, c, t, src)
	} else {
		n, err = loadDataLocal(ctx, c, t, src)
	}
	if err != nil {
		c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		if outOfSpace(err) {
			return 0, spaceError("loading table "+t.Name, err)
		}
		return 0, fmt.Errorf("loading table %s: %w", t.Name, err)
	}
	r.checkWarnings(ctx, c, t)
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		if outOfSpace(err) {
			return 0, spaceError("committing table "+t.Name, err)
		}
		return 0, fmt.Errorf("committing table %s: %w", t.Name, classify(err))
	}
	return n, nil
}

// checkWarnings turns server warnings of a load into notes: rows the
// server had to adjust show up in verification as a checksum difference,
// and this says why.
func (r *restoreRun) checkWarnings(ctx context.Context, c *sql.Conn, t *table) {
	var count int
	if err := c.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&count); err != nil || count == 0 {
		return
	}
	ws, err := queryStrings(ctx, c, "SHOW WARNINGS LIMIT 3")
	if err != nil || len(ws) < 3 {
		return
	}
	r.note(NoteLoadWarnings, engines.Params{"table": t.Name, "count": strconv.Itoa(count), "warnings": strings.Join(ws[2], "; ")})
}

var readerSeq atomic.Uint64

// loadDataLocal streams a mysql-tsv part to the server with LOAD DATA
// LOCAL INFILE; the part's bytes are the file.
func loadDataLocal(ctx context.Context, c *sql.Conn, t *table, part io.Reader) (int64, error) {
	name := fmt.Sprintf("dbopsd-%d", readerSeq.Add(1))
	mysql.RegisterReaderHandler(name, func() io.Reader { return ctxReader{ctx, part} })
	defer mysql.DeregisterReaderHandler(name)
	res, err := c.ExecContext(ctx, loadDataStatement(name, t))
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}

func loadDataStatement(reader string, t *table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c)
	}
	return "LOAD DATA LOCAL INFILE 'Reader::" + reader + "' INTO TABLE " + quoteIdent(t.Name) +
		" CHARACTER SET binary FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\'" +
		" LINES TERMINATED BY '\\n' STARTING BY '' (" + strings.Join(cols, ",") + ")"
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// insertRows loads a part with multi-row INSERTs of bound values: the way
// when the server refuses LOCAL INFILE (MySQL 8's default).
func insertRows(ctx context.Context, c *sql.Conn, t *table, part io.Reader) (int64, error) {
	// Values are the columns' own bytes: no conversion on the way in.
	if _, err := c.ExecContext(ctx, "SET SESSION character_set_client = binary"); err != nil {
		return 0, classify(err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), "SET SESSION character_set_client = utf8mb4")
	nc := len(t.Columns)
	maxRows := min(1000, 65535/max(nc, 1))
	const maxBytes = 1 << 20
	cols := make([]string, nc)
	for i, col := range t.Columns {
		cols[i] = quoteIdent(col)
	}
	head := "INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(cols, ",") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", nc), ",") + ")"
	stmtFor := func(rows int) string {
		return head + strings.TrimSuffix(strings.Repeat(tuple+",", rows), ",")
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	dec := newRowDecoder(part, nc)
	args := make([]any, 0, maxRows*nc)
	var size int
	var total int64
	flush := func() error {
		rows := len(args) / max(nc, 1)
		if rows == 0 {
			return nil
		}
		var err error
		if rows == maxRows {
			if full == nil {
				if full, err = c.PrepareContext(ctx, stmtFor(maxRows)); err != nil {
					return classify(err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = c.ExecContext(ctx, stmtFor(rows), args...)
		}
		if err != nil {
			return classify(err)
		}
		total += int64(rows)
		args, size = args[:0], 0
		return nil
	}
	for {
		vals, err := dec.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		for _, v := range vals {
			if v == nil {
				args = append(args, nil)
				continue
			}
			// A fresh slice per value: args keep pointing into it.
			cp := make([]byte, len(v))
			copy(cp, v)
			args = append(args, cp)
			size += len(v)
		}
		if len(args)/max(nc, 1) >= maxRows || size >= maxBytes {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	return total, flush()
}

// createObject recreates a routine, view, trigger or event under the
// session settings it was created with.
func (r *restoreRun) createObject(ctx context.Context, c *sql.Conn, kind string, o object) error {
	var sets []string
	if o.SQLMode != "" || kind != engines.KindView {
		sets = append(sets, "sql_mode = "+quoteString(r.srv.sqlModeFor(o.SQLMode)))
	}
	if o.CharsetClient != "" {
		sets = append(sets, "character_set_client = "+quoteString(o.CharsetClient))
	}
	if o.CollationConnection != "" {
		sets = append(sets, "collation_connection = "+quoteString(o.CollationConnection))
	}
	if o.TimeZone != "" {
		sets = append(sets, "time_zone = "+quoteString(o.TimeZone))
	}
	if len(sets) > 0 {
		if _, err := c.ExecContext(ctx, "SET SESSION "+strings.Join(sets, ", ")); err != nil {
			return fmt.Errorf("preparing to create %s %s: %w", kind, o.Name, classify(err))
		}
	}
	_, err := c.ExecContext(ctx, string(o.Create))
	if errNumber(err) == erSpecificAccess {
		// Only SUPER/SET USER may name another account as DEFINER. Without
		// it the object is created with the restoring account as definer,
		// which changes whose rights SQL SECURITY DEFINER code runs with:
		// said in the report.
		if stripped, definer := stripDefiner(o.Create); definer != "" {
			if _, err = c.ExecContext(ctx, string(stripped)); err == nil {
				r.note(NoteDefinerReplaced, engines.Params{"kind": kind, "object": o.Name, "definer": definer})
			}
		}
	}
	if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci"); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		if refusedByPrivileges(err) {
			// The tables and rows are what a restore is for; a program the
			// account may not create is reported, not fatal.
			r.skip(NoteObjectRefused, engines.Params{"kind": kind, "object": o.Name, "error": err.Error()})
			return nil
		}
		return fmt.Errorf("creating %s %s: %w", kind, o.Name, classify(err))
	}
	return nil
}

// refusedByPrivileges reports errors that say the account may not create
// an object (SUPER/SET USER for a DEFINER, SUPER for a function while
// binary logging is on, a missing grant).
func refusedByPrivileges(err error) bool {
	switch errNumber(err) {
	case erSpecificAccess, erBinlogRoutineNeedSuper, erDBAccessDenied, erTableAccessDenied:
		return true
	}
	return false
}

// createViews creates views in their recorded order, retrying those that
// fail because a view they read does not exist yet (a backup by an older
// version, or a dependency the text scan missed).
func (r *restoreRun) createViews(ctx context.Context, c *sql.Conn, views []object) error {
	pending := views
	for len(pending) > 0 {
		var retry []object
		var lastErr error
		for _, v := range pending {
			err := r.createObject(ctx, c, engines.KindView, v)
			if err != nil && errNumber(err) == erNoSuchTable {
				retry = append(retry, v)
				lastErr = err
				continue
			}
			if err != nil {
				return err
			}
		}
		if len(retry) == len(pending) {
			return lastErr
		}
		pending = retry
	}
	return nil
}

var eventEnableRE = regexp.MustCompile(`(ON COMPLETION (?:NOT )?PRESERVE) ENABLE\b`)

// disableEvent rewrites SHOW CREATE EVENT output to create the event
// disabled.
func disableEvent(create []byte) []byte {
	loc := eventEnableRE.FindSubmatchIndex(create)
	if loc == nil {
		return create
	}
	out := append([]byte{}, create[:loc[3]]...)
	out = append(out, " DISABLE"...)
	return append(out, create[loc[1]:]...)
}

// reportDefiners says which accounts the recreated views, routines,
// triggers and events run as, and which of them the target lacks.
func (r *restoreRun) reportDefiners(ctx context.Context, admin *sql.Conn) {
	objs := [][]object{r.doc.Triggers}
	if len(r.req.Tables) == 0 {
		objs = append(objs, r.doc.Views, r.doc.Routines, r.doc.Events)
	}
	for _, d := range definers(objs...) {
		m := regexp.MustCompile("^`((?:[^`]|``)*)`@`((?:[^`]|``)*)`$").FindStringSubmatch(d)
		if m == nil {
			continue
		}
		var n int
		err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
			strings.ReplaceAll(m[1], "``", "`"), strings.ReplaceAll(m[2], "``", "`")).Scan(&n)
		switch {
		case err != nil:
			r.note(NoteDefinerUnchecked, engines.Params{"definer": d})
		case n == 0:
			r.skip(NoteDefinerMissing, engines.Params{"definer": d})
		}
	}
}

// recalcOption is a table's own STATS_AUTO_RECALC ("0", "1", or "DEFAULT"
// when its DDL does not set it), put back after the load.
type recalcOption struct{ table, value string }

var statsAutoRecalcRE = regexp.MustCompile(` STATS_AUTO_RECALC=([01])\b`)

// statsAutoRecalc returns the STATS_AUTO_RECALC an InnoDB table is created
// with, and whether turning it off for the load applies.
//
// While a table loads, InnoDB's background statistics recalculation (a
// thread-pool timer task) keeps running on it: measured on MariaDB 10.11,
// 1,020,000 rows in one LOAD DATA, the server used 8.6 s of CPU with it on
// (one thread loading, one in that task, both for the whole load) and
// 4.0 s with STATS_AUTO_RECALC=0, 4.8 s of wall time against 4.2 s; on
// 3,060,000 rows, 25.8 s of server CPU against 14 s. Off during the load,
// then set back and computed once (ANALYZE) on the loaded rows.
func statsAutoRecalc(t *table) (string, bool) {
	if !strings.EqualFold(t.Engine, "InnoDB") {
		return "", false
	}
	c := parseCreateTable(t.Create)
	if !c.ok {
		return "", false
	}
	opts, _, _ := strings.Cut(c.tail, "\n") // table options; partitioning follows on later lines
	if !strings.Contains(opts, " ENGINE=InnoDB") {
		return "", false
	}
	m := statsAutoRecalcRE.FindStringSubmatch(opts)
	switch {
	case m == nil:
		return "DEFAULT", true
	case m[1] == "0":
		return "", false // off already
	}
	return m[1], true
}

// restoreRecalc sets back the tables' STATS_AUTO_RECALC and computes their
// statistics once, now that the rows are in.
func (r *restoreRun) restoreRecalc(ctx context.Context, c *sql.Conn, recalc []recalcOption) error {
	if len(recalc) == 0 {
		return nil
	}
	for _, o := range recalc {
		if _, err := c.ExecContext(ctx, "ALTER TABLE "+quoteIdent(o.table)+" STATS_AUTO_RECALC="+o.value+", ALGORITHM=INSTANT"); err != nil {
			return fmt.Errorf("setting back STATS_AUTO_RECALC of table %s: %w", o.table, classify(err))
		}
	}
	// InnoDB's own sampled statistics only (use_stat_tables=NEVER: no
	// engine-independent statistics, which read the whole table).
	if r.srv.MariaDB {
		if _, err := c.ExecContext(ctx, "SET SESSION use_stat_tables = NEVER"); err != nil {
			r.log.Debug("statistics not recomputed after the load", "error", err)
			return nil
		}
		defer c.ExecContext(context.WithoutCancel(ctx), "SET SESSION use_stat_tables = DEFAULT")
	}
	names := make([]string, len(recalc))
	for i, o := range recalc {
		names[i] = quoteIdent(o.table)
	}
	start := time.Now()
	rows, err := c.QueryContext(ctx, "ANALYZE NO_WRITE_TO_BINLOG TABLE "+strings.Join(names, ", "))
	if err != nil {
		r.log.Debug("statistics not recomputed after the load", "error", err)
		return nil
	}
	for rows.Next() {
	}
	rows.Close()
	r.log.Debug("statistics computed after the load", "tables", len(names), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
