package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Loading the rows: how (LOAD DATA LOCAL INFILE or INSERT batches) and in
// which strategy (bulk or parallel) the server is best loaded, the load
// connections, and the statistics recalculation turned off around it.

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

func (r *restoreRun) tableBytes(name string) int64 {
	if r.req.Snapshot == nil {
		return 0
	}
	ts, _ := r.req.Snapshot.Table(engines.TableRef{Name: name})
	return ts.Bytes
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
			return fault.Permanent(fmt.Errorf("table %s is system-versioned with its history in the backup, and %s cannot load history (MariaDB 10.11 or later can)", t.Name, r.srv))
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
	return fault.Permanent(fmt.Errorf("target server is out of space while %s: %w", what, classify(err)))
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
