package mysql

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
)

// Backup dumps the database named in src's DSN.
//
// # Consistency
//
// The guarantee: every transactional (InnoDB) table is read from one point
// in time, on several connections at once. A leader connection takes FLUSH
// TABLES WITH READ LOCK, which waits for running writes (at most
// LockWaitTimeout) and then holds every commit back; while it holds, each
// worker connection opens a REPEATABLE READ transaction WITH CONSISTENT
// SNAPSHOT, so all of them see the same committed state, and the leader
// reads the binlog/GTID position of exactly that state. Non-transactional
// tables (MyISAM, Aria, ...) have no snapshot: they are read while the lock
// still holds, so they too belong to that point, at the price of a longer
// lock; the snapshot says which ones they were. UNLOCK TABLES follows at
// once, and the workers read the InnoDB tables from their snapshots while the
// server works normally. The schema is read after the unlock: a DDL
// statement in that window makes the backup fail (the snapshot refuses to
// read a table rebuilt after it) or records the newer definition.
//
// When the account lacks RELOAD (or the lock times out), the backup reads
// every table on one connection from one snapshot — as mysqldump
// --single-transaction does — which keeps InnoDB tables consistent but
// reads them one after another, and non-transactional tables without any
// lock. The manifest's consistency and warnings say so.
func (e *Engine) Backup(ctx context.Context, src engines.Conn, opts engines.BackupOptions, sink engines.PartSink) (*engines.Snapshot, error) {
	par := max(opts.Parallel, 1)
	cfg, err := parseDSN(src)
	if err != nil {
		return nil, err
	}
	addr, database := where(cfg), cfg.DBName
	if err := checkName(database); err != nil {
		return nil, fmt.Errorf("backup on %s: the DSN must name the database to back up: %w", addr, err)
	}
	db, srv, err := connect(ctx, cfg, database, par+1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	b := &backupRun{
		e: e, srv: srv, db: db, database: database, par: par, sink: sink,
		log:   logger(opts.Logger).With("database", database),
		stats: map[string]*tableDigest{},
		parts: map[string]bool{},
		base:  opts.Base, steps: map[string]string{},
	}
	snap, err := b.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup of %s on %s: %w", database, addr, err)
	}
	return snap, nil
}

type tableDigest struct {
	d     engines.RowDigest
	bytes int64
}

type backupRun struct {
	e        *Engine
	srv      serverInfo
	db       *sql.DB
	database string
	par      int
	sink     engines.PartSink
	log      hclog.Logger

	mu       sync.Mutex
	stats    map[string]*tableDigest
	parts    map[string]bool
	warnings []string

	// base is the full's snapshot in a differential, whose key-range steps
	// (rowdiff.go) a differential reuses; steps are this backup's.
	base  *engines.Snapshot
	steps map[string]string
}

// dumpTask is one data part to read.
type dumpTask struct {
	t   *table
	seq int
	r   keyRange
}

func (b *backupRun) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.log.Warn(msg)
	b.mu.Lock()
	b.warnings = append(b.warnings, msg)
	b.mu.Unlock()
}

func (b *backupRun) run(ctx context.Context) (*engines.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var charset, collation string
	if err := b.db.QueryRowContext(ctx, `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, b.database).Scan(&charset, &collation); err != nil {
		return nil, fmt.Errorf("reading the database's character set: %w", classify(err))
	}
	leader, workers, closeConns, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConns()

	// The lock phase: as short as the server allows.
	noLock, err := b.globalReadLock(ctx, leader)
	if err != nil {
		return nil, err
	}
	locked := noLock == ""
	unlock := func() {
		if locked {
			leader.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
			locked = false
		}
	}
	defer unlock()
	lockStart := time.Now()
	if !locked {
		b.warn("no global read lock (%s): all tables were read on one connection from one snapshot, without parallelism", noLock)
		for _, w := range workers[1:] {
			w.Close()
		}
		workers = workers[:1]
	}
	takenAt := time.Now().UTC()
	for i, w := range workers {
		if _, err := w.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return nil, fmt.Errorf("starting the snapshot on connection %d: %w", i+1, classify(err))
		}
	}
	position := b.position(ctx, leader, workers[0], locked)

	tables, err := readCatalog(ctx, leader, b.srv, b.database)
	if err != nil {
		return nil, classify(err)
	}
	doc := &schemaDoc{Format: formatSchema, Server: b.srv.Version, Database: b.database,
		Charset: charset, Collation: collation, Tables: tables}
	nonTx, tx, err := b.sortTables(ctx, leader, tables)
	if err != nil {
		return nil, err
	}

	// Non-transactional tables: their definition and rows while the lock
	// holds (or, without it, from the one connection, unlocked).
	for _, t := range nonTx {
		if t.Create, err = showCreateTable(ctx, leader, b.database, t); err != nil {
			return nil, tableError(t.Name, "reading the definition of", err)
		}
	}
	if err := b.dump(ctx, workers, tasksOf(nonTx)); err != nil {
		return nil, err
	}
	var lockHeld time.Duration
	wasLocked := locked
	if locked {
		unlock()
		lockHeld = time.Since(lockStart).Round(time.Millisecond)
		b.log.Debug("global read lock released", "held", lockHeld)
	}
	consistency := b.consistency(wasLocked, len(workers), lockHeld, nonTx)

	if err := b.dumpTransactional(ctx, leader, workers, doc, tx); err != nil {
		return nil, err
	}
	for _, w := range workers {
		w.ExecContext(ctx, "COMMIT")
	}
	return b.snapshot(tables, position, takenAt, consistency), nil
}

// connect opens the leader connection, which takes the lock and reads the
// schema, and the workers, one per table read at once. closeConns closes
// them all.
func (b *backupRun) connect(ctx context.Context) (leader *sql.Conn, workers []*sql.Conn, closeConns func(), err error) {
	var opened []*sql.Conn
	closeConns = func() {
		for _, c := range opened {
			c.Close()
		}
	}
	if leader, err = b.db.Conn(ctx); err != nil {
		return nil, nil, nil, classify(err)
	}
	opened = append(opened, leader)
	workers = make([]*sql.Conn, b.par)
	for i := range workers {
		if workers[i], err = b.db.Conn(ctx); err != nil {
			closeConns()
			return nil, nil, nil, classify(err)
		}
		opened = append(opened, workers[i])
		if err := b.initWorker(ctx, workers[i]); err != nil {
			closeConns()
			return nil, nil, nil, err
		}
	}
	return leader, workers, closeConns, nil
}

// sortTables reads the sequences' values and sorts the tables with rows
// into non-transactional ones, read under the lock, and transactional
// ones, read from the snapshots; it warns of what is not backed up whole.
func (b *backupRun) sortTables(ctx context.Context, leader *sql.Conn, tables []*table) (nonTx, tx []*table, err error) {
	for _, t := range tables {
		switch {
		case t.Kind == kindSequence:
			if err := b.readSequence(ctx, leader, t); err != nil {
				return nil, nil, err
			}
		case t.NoData:
			b.warn("table %s (ENGINE=%s): definition only; its rows belong to other tables or another server and are not read through it", t.Name, t.Engine)
		case t.transactional():
			tx = append(tx, t)
		default:
			nonTx = append(nonTx, t)
		}
		if t.HistoryLost != "" {
			b.warn("table %s is system-versioned but its HISTORY IS NOT KEPT, only its current rows: %s", t.Name, t.HistoryLost)
		}
	}
	return nonTx, tx, nil
}

// dumpTransactional reads the transactional tables from the snapshots;
// meanwhile the leader reads the rest of the schema and writes the schema
// part.
func (b *backupRun) dumpTransactional(ctx context.Context, leader *sql.Conn, workers []*sql.Conn, doc *schemaDoc, tx []*table) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for _, t := range doc.Tables {
			if t.Create != "" {
				continue
			}
			create, err := showCreateTable(gctx, leader, b.database, t)
			if err != nil {
				return tableError(t.Name, "reading the definition of", err)
			}
			t.Create = create
		}
		warns, err := captureObjects(gctx, leader, b.database, doc)
		if err != nil {
			return classify(err)
		}
		for _, w := range warns {
			b.warn("%s", w)
		}
		return b.writeSchema(gctx, doc)
	})
	g.Go(func() error {
		tasks, err := b.plan(gctx, workers[0], tx)
		if err != nil {
			return err
		}
		return b.dump(gctx, workers, tasks)
	})
	return g.Wait()
}

// snapshot is what the backup records: where it was taken, how
// consistent it is, and each table's statistics.
func (b *backupRun) snapshot(tables []*table, position string, takenAt time.Time, consistency string) *engines.Snapshot {
	snap := &engines.Snapshot{
		Engine:        engineName,
		ServerVersion: b.srv.Version,
		Position:      position,
		TakenAt:       takenAt,
		Consistency:   consistency,
		Warnings:      b.warnings,
		Meta: map[string]string{
			"flavor":        b.srv.flavor(),
			"schema_format": formatSchema,
			"data_format":   formatTSV,
		},
	}
	b.recordSteps(snap)
	for _, t := range tables {
		if !t.hasData() {
			continue
		}
		s := b.stats[t.Name]
		if s == nil {
			s = &tableDigest{}
		}
		snap.Tables = append(snap.Tables, engines.TableStats{
			Table: engines.TableRef{Name: t.Name}, Rows: s.d.Rows(), Checksum: s.d.Sum(), Bytes: s.bytes,
		})
	}
	engines.SortTables(snap.Tables)
	return snap
}

func (b *backupRun) initWorker(ctx context.Context, c *sql.Conn) error {
	stmts := []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		// The column's own bytes, unconverted: see rowformat.go.
		"SET SESSION character_set_results = binary",
	}
	if b.srv.MariaDB {
		stmts = append(stmts, "SET SESSION max_statement_time = 0")
	} else if b.srv.atLeast(5, 7, 8) {
		stmts = append(stmts, "SET SESSION max_execution_time = 0")
	}
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("preparing a dump connection (%s): %w", s, classify(err))
		}
	}
	return nil
}

// globalReadLock takes FLUSH TABLES WITH READ LOCK, or says why not (the
// backup then falls back to one snapshot on one connection).
//
// FTWRL waits for running statements (on MySQL even for reads, which keep
// their tables open; on MariaDB 10.4+ for writes only), and while it waits
// every write on the server queues behind it. So it waits at most
// LockWaitTimeout, and where reads hold it off it is not even tried when a
// statement has already run that long (as far as the account can see).
func (b *backupRun) globalReadLock(ctx context.Context, leader *sql.Conn) (noLock string, err error) {
	secs := max(int(b.e.LockWaitTimeout/time.Second), 1)
	if b.srv.ftwrlWaitsForReads() {
		var id, running sql.NullInt64
		err = leader.QueryRowContext(ctx, `SELECT ID, TIME FROM information_schema.PROCESSLIST
			WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND TIME >= ? ORDER BY TIME DESC LIMIT 1`, secs).Scan(&id, &running)
		switch {
		case err == nil:
			return fmt.Sprintf("statement %d had been running for %ds; waiting for it would stall the server's writes", id.Int64, running.Int64), nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", fmt.Errorf("looking for long-running statements: %w", classify(err))
		}
	}
	if _, err := leader.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
		return "", classify(err)
	}
	if _, err := leader.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		switch errNumber(err) {
		case erSpecificAccess, erDBAccessDenied, erAccessDenied:
			return "the account lacks the RELOAD privilege", nil
		case erLockWaitTimeout:
			return fmt.Sprintf("running statements held FLUSH TABLES WITH READ LOCK off for %ds", secs), nil
		}
		return "", fmt.Errorf("FLUSH TABLES WITH READ LOCK: %w", classify(err))
	}
	return "", nil
}

// position reads the binlog file:pos and GTID position of the snapshot.
// Under the global read lock they are exact. Without it, MariaDB still
// knows the binlog position of a consistent snapshot (binlog_snapshot_*).
func (b *backupRun) position(ctx context.Context, leader, worker *sql.Conn, locked bool) string {
	var parts []string
	if q := b.srv.gtidQuery(); q != "" && locked {
		var g sql.NullString
		if err := leader.QueryRowContext(ctx, q).Scan(&g); err == nil && g.String != "" {
			parts = append(parts, "gtid="+g.String)
		}
	}
	file, pos := "", ""
	if locked {
		if m, err := showCreate(ctx, leader, b.srv.binlogStatusQuery()); err == nil {
			file, pos = string(m["file"]), string(m["position"])
		}
	} else if b.srv.MariaDB {
		if rows, err := worker.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'"); err == nil {
			for rows.Next() {
				var k, v string
				if rows.Scan(&k, &v) == nil {
					switch strings.ToLower(k) {
					case "binlog_snapshot_file":
						file = v
					case "binlog_snapshot_position":
						pos = v
					}
				}
			}
			rows.Close()
		}
	}
	if file != "" {
		parts = append(parts, "binlog="+file+":"+pos)
	}
	return strings.Join(parts, " ")
}

func (b *backupRun) consistency(locked bool, conns int, held time.Duration, nonTx []*table) string {
	var names []string
	for _, t := range nonTx {
		names = append(names, t.Name+" ("+t.Engine+")")
	}
	if locked {
		s := fmt.Sprintf("snapshot: transactional tables read from one consistent snapshot on %d connections, opened under a global read lock held %s", conns, held)
		if len(names) > 0 {
			s += "; non-transactional tables " + strings.Join(names, ", ") + " read while that lock was held"
			b.warn("non-transactional tables %s were read under the global read lock: consistent with the snapshot, but the server's writes waited %s", strings.Join(names, ", "), held)
		}
		return s
	}
	s := "single snapshot: transactional tables read from one consistent snapshot on one connection (no global read lock)"
	if len(names) > 0 {
		s += "; non-transactional tables " + strings.Join(names, ", ") + " read WITHOUT A LOCK: they may not match the snapshot"
		b.warn("non-transactional tables %s were read without a lock: changes made to them during the backup may be partly included", strings.Join(names, ", "))
	}
	return s
}

func (b *backupRun) readSequence(ctx context.Context, leader *sql.Conn, t *table) error {
	var next, cycles sql.NullString
	q := "SELECT next_not_cached_value, cycle_count FROM " + quoteIdent(b.database) + "." + quoteIdent(t.Name)
	if err := leader.QueryRowContext(ctx, q).Scan(&next, &cycles); err != nil {
		return tableError(t.Name, "reading sequence", err)
	}
	t.SequenceNext, t.SequenceCycles = next.String, cycles.String
	return nil
}

func tasksOf(ts []*table) []dumpTask {
	out := make([]dumpTask, 0, len(ts))
	for _, t := range ts {
		out = append(out, dumpTask{t: t})
	}
	return out
}

// plan turns tables into dump tasks, cutting large tables with an integer
// primary key into key ranges (read from the snapshot), largest first.
func (b *backupRun) plan(ctx context.Context, w *sql.Conn, ts []*table) ([]dumpTask, error) {
	sorted := append([]*table(nil), ts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].dataBytes > sorted[j].dataBytes })
	var tasks []dumpTask
	for _, t := range sorted {
		parts := 1
		if b.e.SplitBytes > 0 && t.keyCol != "" {
			parts = int((t.dataBytes + b.e.SplitBytes - 1) / b.e.SplitBytes)
		}
		var step *big.Int
		if t.keyCol != "" {
			step = b.baseStep(t.Name)
		}
		if parts < 2 && step == nil {
			tasks = append(tasks, dumpTask{t: t})
			continue
		}
		from := quoteIdent(b.database) + "." + quoteIdent(t.Name)
		if t.History {
			from += " FOR SYSTEM_TIME ALL"
		}
		var lo, hi sql.NullString
		k := quoteIdent(t.keyCol)
		if err := w.QueryRowContext(ctx, "SELECT MIN("+k+"), MAX("+k+") FROM "+from).Scan(&lo, &hi); err != nil {
			return nil, tableError(t.Name, "reading the key range of", err)
		}
		min, ok1 := new(big.Int).SetString(lo.String, 10)
		max, ok2 := new(big.Int).SetString(hi.String, 10)
		if !ok1 || !ok2 {
			tasks = append(tasks, dumpTask{t: t}) // empty table
			continue
		}
		if step == nil {
			step = splitStep(min, max, parts)
		}
		ranges, used := b.splitKeys(min, max, step, parts)
		if used != nil {
			b.steps[t.Name] = used.String()
		}
		for i, r := range ranges {
			tasks = append(tasks, dumpTask{t: t, seq: i + 1, r: r})
		}
	}
	return tasks, nil
}

// dump reads tasks on the workers, one task per worker at a time.
func (b *backupRun) dump(ctx context.Context, workers []*sql.Conn, tasks []dumpTask) error {
	if len(tasks) == 0 {
		return nil
	}
	ch := make(chan dumpTask)
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error {
			for task := range ch {
				if err := b.dumpPart(gctx, w, task); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(ch)
		for _, t := range tasks {
			select {
			case ch <- t:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

func partName(tableName string, seq int) string {
	if seq == 0 {
		return "data/" + tableName
	}
	return fmt.Sprintf("data/%s/%04d", tableName, seq)
}

// dumpPart streams one table (or key range) into one part, row by row.
func (b *backupRun) dumpPart(ctx context.Context, w *sql.Conn, task dumpTask) (err error) {
	t := task.t
	name := partName(t.Name, task.seq)
	b.mu.Lock()
	dup := b.parts[name]
	b.parts[name] = true
	b.mu.Unlock()
	if dup {
		return fmt.Errorf("two parts would be named %q: rename table %s", name, t.Name)
	}
	start := time.Now()
	rows, err := w.QueryContext(ctx, t.selectQuery(b.srv, b.database, task.r))
	if err != nil {
		return tableError(t.Name, "reading", err)
	}
	defer rows.Close()

	pw, err := b.sink.CreatePart(ctx, engines.PartInfo{
		Name: name, Kind: engines.KindTable, Table: &engines.TableRef{Name: t.Name}, Format: formatTSV, Seq: task.seq,
		Shape: engines.RowShape(t.Columns), // one escaped row per line (rowformat.go)
	})
	if err != nil {
		return fmt.Errorf("creating part %s: %w", name, err)
	}
	closed := false
	defer func() {
		if !closed {
			pw.Close()
		}
	}()
	bw := bufio.NewWriterSize(pw, 256<<10)

	var d engines.RowDigest
	bytes, err := scanRows(rows, t, &d, func(line []byte) error {
		bw.Write(line)
		if err := bw.WriteByte('\n'); err != nil { // bufio keeps the first error
			return fmt.Errorf("writing part %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing part %s: %w", name, err)
	}
	closed = true
	if err := pw.Close(); err != nil {
		return fmt.Errorf("storing part %s: %w", name, err)
	}
	b.mu.Lock()
	s := b.stats[t.Name]
	if s == nil {
		s = &tableDigest{}
		b.stats[t.Name] = s
	}
	s.d.Merge(d)
	s.bytes += bytes
	b.mu.Unlock()
	b.log.Debug("part dumped", "part", name, "rows", d.Rows(), "bytes", bytes, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *backupRun) writeSchema(ctx context.Context, doc *schemaDoc) error {
	w, err := b.sink.CreatePart(ctx, engines.PartInfo{Name: "schema", Kind: engines.KindSchema, Format: formatSchema})
	if err != nil {
		return fmt.Errorf("creating the schema part: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		w.Close()
		return fmt.Errorf("writing the schema part: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("storing the schema part: %w", err)
	}
	return nil
}

// tableError explains a failure on one table, telling the causes a DBA
// should recognise apart.
func tableError(name, doing string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s table %s: %w", doing, name, err)
	}
	switch errNumber(err) {
	case erNoSuchTable:
		return fmt.Errorf("%s table %s: the table was dropped during the backup: %w", doing, name, err)
	case erTableDefChanged:
		return fmt.Errorf("%s table %s: the table was altered during the backup: %w", doing, name, err)
	case erQueryInterrupted, erConnectionKilled, erServerShutdown:
		return classify(fmt.Errorf("%s table %s: the dump was killed or the server is shutting down: %w", doing, name, err))
	}
	if lostConnection(err) {
		return classify(fmt.Errorf("%s table %s: the connection was lost (killed, or the server went away): %w", doing, name, err))
	}
	return fmt.Errorf("%s table %s: %w", doing, name, classify(err))
}
