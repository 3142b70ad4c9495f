package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Table maintenance (maintenance.Engine): the allowed operations rendered
// with quoted identifiers, the statistics the minimal proposer reads
// (pg_stat_user_tables), the data directory for the disk-space check, and
// the run itself under lock_timeout with progress from
// pg_stat_progress_vacuum / _cluster / _create_index.

// MaintenanceStatement renders op as the one statement it runs.
func (e *Engine) MaintenanceStatement(op maintmodel.Operation) (string, error) {
	if err := op.Check("postgres"); err != nil {
		return "", err
	}
	t := quoteTable(op.Table)
	idx := ""
	if op.Index != "" {
		idx = quoteIdent(table(op.Table).Schema, op.Index)
	}
	switch op.Op {
	case maintmodel.Vacuum:
		return "VACUUM (ANALYZE) " + t, nil
	case maintmodel.VacuumFull:
		return "VACUUM (FULL, ANALYZE) " + t, nil
	case maintmodel.Analyze:
		return "ANALYZE " + t, nil
	case maintmodel.Reindex:
		if idx != "" {
			return "REINDEX INDEX CONCURRENTLY " + idx, nil
		}
		return "REINDEX TABLE CONCURRENTLY " + t, nil
	case maintmodel.DropIndex:
		return "DROP INDEX CONCURRENTLY " + idx, nil
	}
	return "", fmt.Errorf("%w: %s on PostgreSQL", maintmodel.ErrNotSupported, op.Op)
}

// MaintenanceFacts reads the statistics of every user table of database
// (or of tables only, when given).
func (e *Engine) MaintenanceFacts(ctx context.Context, c engines.Conn, database string, tables []engines.TableRef, lock time.Duration) ([]maintmodel.TableFacts, error) {
	cfg, err := config(c, database)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	// pg_total_relation_size takes ACCESS SHARE on the table: behind a
	// session holding ACCESS EXCLUSIVE it would wait for ever.
	lock = maintmodel.RunOptions{LockTimeout: lock}.Lock()
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", lock.Milliseconds())); err != nil {
		return nil, classify(fmt.Errorf("setting lock_timeout: %w", err))
	}
	schemas, names := []string{}, []string{}
	for _, t := range tables {
		t = table(t)
		schemas, names = append(schemas, t.Schema), append(names, t.Name)
	}
	rows, err := conn.Query(ctx, `SELECT s.schemaname, s.relname,
			pg_total_relation_size(s.relid), pg_relation_size(s.relid), greatest(c.reltuples, 0)::bigint,
			s.n_dead_tup, s.n_mod_since_analyze,
			greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze)
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE cardinality($1::text[]) = 0 OR (s.schemaname, s.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY 1, 2`, schemas, names)
	if isCode(err, "55P03") {
		return nil, fmt.Errorf("measuring the tables of %s: %w after %s (another session holds a conflicting lock): %v", database, maintmodel.ErrLockTimeout, lock, err)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("reading the table statistics of %s: %w", database, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (maintmodel.TableFacts, error) {
		f := maintmodel.TableFacts{DataFree: -1}
		var vac, ana *time.Time
		err := r.Scan(&f.Table.Schema, &f.Table.Name, &f.TotalBytes, &f.TableBytes, &f.Rows, &f.DeadTuples, &f.ModifiedSinceAnalyze, &vac, &ana)
		if vac != nil {
			f.LastVacuum = vac.UTC()
		}
		if ana != nil {
			f.LastAnalyze = ana.UTC()
		}
		return f, err
	})
	if isCode(err, "55P03") {
		return nil, fmt.Errorf("measuring the tables of %s: %w after %s (another session holds a conflicting lock): %v", database, maintmodel.ErrLockTimeout, lock, err)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("reading the table statistics of %s: %w", database, err))
	}
	return out, nil
}

// MaintenanceSpace says where a rewrite of t writes its copy: the
// tablespace's directory, or the data directory. It is measurable only when
// the server is on this machine (a Unix socket or a loopback address) and
// the role may read the setting (superuser or pg_read_all_settings).
func (e *Engine) MaintenanceSpace(ctx context.Context, c engines.Conn, database string, t engines.TableRef) (maintmodel.Space, error) {
	cfg, err := config(c, database)
	if err != nil {
		return maintmodel.Space{}, err
	}
	if !localHost(cfg.Host) {
		return maintmodel.Space{Why: fmt.Sprintf("the server %s is not on this machine; PostgreSQL offers no portable way to ask it for free space", cfg.Host)}, nil
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return maintmodel.Space{}, err
	}
	defer closeConn(conn)
	t = table(t)
	var dir *string
	err = conn.QueryRow(ctx, `SELECT CASE WHEN c.reltablespace = 0 THEN current_setting('data_directory', true)
			ELSE nullif(pg_tablespace_location(c.reltablespace), '') END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, t.Schema, t.Name).Scan(&dir)
	if errors.Is(err, pgx.ErrNoRows) {
		return maintmodel.Space{}, fmt.Errorf("table %s does not exist in %s", t, database)
	}
	if err != nil {
		return maintmodel.Space{}, classify(fmt.Errorf("looking up where table %s lives: %w", t, err))
	}
	if dir == nil || *dir == "" {
		return maintmodel.Space{Why: "the role may not read data_directory (needs pg_read_all_settings)"}, nil
	}
	return maintmodel.Space{Dir: *dir, Local: true}, nil
}

func localHost(h string) bool {
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// RunMaintenance runs op in database under opts.LockTimeout. A statement
// that waits longer for its lock fails with maintmodel.ErrLockTimeout and
// changes nothing. Cancelling ctx cancels the statement on the server: a
// VACUUM FULL rolls back to the old table; a REINDEX CONCURRENTLY leaves an
// invalid "_ccnew" index behind, which is dropped here.
func (e *Engine) RunMaintenance(ctx context.Context, c engines.Conn, database string, op maintmodel.Operation, opts maintmodel.RunOptions) error {
	stmt, err := e.MaintenanceStatement(op)
	if err != nil {
		return err
	}
	cfg, err := config(c, database)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	lock := opts.Lock()
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", lock.Milliseconds())); err != nil {
		return classify(fmt.Errorf("setting lock_timeout: %w", err))
	}
	pid := conn.PgConn().PID()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.maintenanceProgress(ctx, cfg, pid, opts, stop)
	}()
	_, err = conn.Exec(ctx, stmt)
	close(stop)
	<-done
	if err == nil {
		return nil
	}
	if isCode(err, "55P03") {
		return fmt.Errorf("%s: %w after %s (lock_timeout; another session holds a conflicting lock on %s): %v", stmt, maintmodel.ErrLockTimeout, lock, op.Table, err)
	}
	if op.Op == maintmodel.Reindex {
		e.dropInvalidCopies(op.Table, cfg)
	}
	return classify(fmt.Errorf("%s: %w", stmt, err))
}

// maintenanceProgress logs, every opts.ProgressEvery, what the server's
// progress views say about backend pid, until stop.
func (e *Engine) maintenanceProgress(ctx context.Context, cfg *pgx.ConnConfig, pid uint32, opts maintmodel.RunOptions, stop <-chan struct{}) {
	if opts.Progress == nil {
		return
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if conn == nil {
			var err error
			if conn, err = connect(ctx, cfg); err != nil {
				opts.Progress("progress not available: " + err.Error())
				return
			}
		}
		var line string
		err := conn.QueryRow(ctx, `
			SELECT 'vacuum: ' || phase || ', ' || heap_blks_scanned || ' of ' || heap_blks_total || ' blocks scanned, ' || heap_blks_vacuumed || ' vacuumed'
				FROM pg_stat_progress_vacuum WHERE pid = $1
			UNION ALL
			SELECT command || ': ' || phase || ', ' || heap_blks_scanned || ' of ' || heap_blks_total || ' blocks, ' || heap_tuples_written || ' tuples written'
				FROM pg_stat_progress_cluster WHERE pid = $1
			UNION ALL
			SELECT command || ': ' || phase || ', ' || blocks_done || ' of ' || blocks_total || ' blocks, ' || tuples_done || ' of ' || tuples_total || ' tuples'
				FROM pg_stat_progress_create_index WHERE pid = $1
			UNION ALL
			SELECT 'waiting for a lock (' || wait_event || ')' FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'
			LIMIT 1`, int32(pid)).Scan(&line)
		if err == nil {
			opts.Progress(line)
		}
	}
}

// dropInvalidCopies drops the invalid indexes a cancelled or failed
// REINDEX CONCURRENTLY leaves on t (named <index>_ccnew…), so that writes
// stop maintaining them. Best effort, on a fresh context: the run's own
// may be cancelled.
func (e *Engine) dropInvalidCopies(t engines.TableRef, cfg *pgx.ConnConfig) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := connect(ctx, cfg)
	if err != nil {
		return
	}
	defer closeConn(conn)
	t = table(t)
	rows, err := conn.Query(ctx, `SELECT n.nspname, ic.relname FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = tc.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = $1 AND tc.relname = $2 AND ic.relname LIKE '%\_ccnew%'`, t.Schema, t.Name)
	if err != nil {
		return
	}
	var drop []string
	for rows.Next() {
		var s, n string
		if rows.Scan(&s, &n) == nil {
			drop = append(drop, quoteIdent(s, n))
		}
	}
	rows.Close()
	for _, idx := range drop {
		_, _ = conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+idx)
	}
}
