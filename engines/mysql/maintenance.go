package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Table maintenance (maintenance.Engine): the allowed operations rendered
// with quoted identifiers, the statistics the minimal proposer reads
// (information_schema.TABLES, DATA_FREE), the data directory for the
// disk-space check, and the run itself under lock_wait_timeout.

// MaintenanceStatement renders op as the one statement it runs.
func (e *Engine) MaintenanceStatement(op maintmodel.Operation) (string, error) {
	if err := op.Check("mysql"); err != nil {
		return "", err
	}
	t := quoteIdent(op.Table.Name)
	if op.Table.Schema != "" {
		t = quoteIdent(op.Table.Schema) + "." + t
	}
	switch op.Op {
	case maintmodel.Optimize:
		return "OPTIMIZE TABLE " + t, nil
	case maintmodel.Rebuild:
		return "ALTER TABLE " + t + " FORCE", nil
	case maintmodel.Analyze:
		return "ANALYZE TABLE " + t, nil
	case maintmodel.DropIndex:
		return "DROP INDEX " + quoteIdent(op.Index) + " ON " + t, nil
	}
	return "", fmt.Errorf("%w: %s on MariaDB/MySQL", maintmodel.ErrNotSupported, op.Op)
}

// MaintenanceFacts reads information_schema.TABLES for the base tables of
// database (or of tables only, when given). A table's schema is its
// database, left empty as in the rest of the adapter.
func (e *Engine) MaintenanceFacts(ctx context.Context, c engines.Conn, database string, tables []engines.TableRef, _ time.Duration) ([]maintmodel.TableFacts, error) {
	cfg, err := parseDSN(c)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// TotalBytes is the file (DATA_FREE included) where it can be read,
	// else the statistics' data and index lengths.
	want := map[string]bool{}
	for _, t := range tables {
		want[t.Name] = true
	}
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COALESCE(DATA_LENGTH,0)+COALESCE(INDEX_LENGTH,0), COALESCE(DATA_LENGTH,0),
			COALESCE(TABLE_ROWS,0), COALESCE(DATA_FREE,0)
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("reading the table statistics of %s: %w", database, err)
	}
	defer rows.Close()
	var out []maintmodel.TableFacts
	for rows.Next() {
		f := maintmodel.TableFacts{DeadTuples: -1, ModifiedSinceAnalyze: -1}
		if err := rows.Scan(&f.Table.Name, &f.TotalBytes, &f.TableBytes, &f.Rows, &f.DataFree); err != nil {
			return nil, fmt.Errorf("reading the table statistics of %s: %w", database, err)
		}
		if len(want) == 0 || want[f.Table.Name] {
			out = append(out, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the table statistics of %s: %w", database, err)
	}
	fileSizes(ctx, db, database, out)
	return out, nil
}

// fileSizes replaces TotalBytes by the size of each table's own tablespace
// file where the server tells it (MariaDB's INNODB_SYS_TABLESPACES, which
// needs PROCESS): information_schema.TABLES' lengths are statistics,
// refreshed only after a tenth of the table changed, while the file is what
// the disk holds, DATA_FREE included.
func fileSizes(ctx context.Context, db *sql.DB, database string, fs []maintmodel.TableFacts) {
	rows, err := db.QueryContext(ctx, `SELECT NAME, ALLOCATED_SIZE FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE CONCAT(?, '/%')`, database)
	if err != nil {
		return
	}
	defer rows.Close()
	size := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if rows.Scan(&name, &n) == nil {
			size[name] = n
		}
	}
	for i := range fs {
		if n, ok := size[database+"/"+fs[i].Table.Name]; ok && n > 0 {
			fs[i].TotalBytes = n
		}
	}
}

// MaintenanceSpace says where a rebuild of t writes its copy: the server's
// datadir (file-per-table), measurable when the server is on this machine.
func (e *Engine) MaintenanceSpace(ctx context.Context, c engines.Conn, database string, t engines.TableRef) (maintmodel.Space, error) {
	cfg, err := parseDSN(c)
	if err != nil {
		return maintmodel.Space{}, err
	}
	host := cfg.Addr
	if h, _, err := net.SplitHostPort(cfg.Addr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if cfg.Net != "unix" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return maintmodel.Space{Why: fmt.Sprintf("the server %s is not on this machine", where(cfg))}, nil
	}
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return maintmodel.Space{}, err
	}
	defer db.Close()
	var dir string
	if err := db.QueryRowContext(ctx, "SELECT @@datadir").Scan(&dir); err != nil {
		return maintmodel.Space{}, fmt.Errorf("reading @@datadir: %w", err)
	}
	return maintmodel.Space{Dir: dir, Local: true}, nil
}

// RunMaintenance runs op in database with lock_wait_timeout set to
// opts.LockTimeout (whole seconds, at least 1): a statement that waits
// longer for its metadata lock fails with maintmodel.ErrLockTimeout and
// changes nothing. OPTIMIZE and ANALYZE TABLE report in a result set rather
// than as an error; an "error" row there is returned as one. Cancelling ctx
// kills the query (the driver's KILL QUERY): an online rebuild is rolled
// back and the table stays as it was.
func (e *Engine) RunMaintenance(ctx context.Context, c engines.Conn, database string, op maintmodel.Operation, opts maintmodel.RunOptions) error {
	stmt, err := e.MaintenanceStatement(op)
	if err != nil {
		return err
	}
	cfg, err := parseDSN(c)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return connectError(cfg, database, err)
	}
	defer conn.Close()
	lock := opts.Lock()
	secs := int64((lock + time.Second - 1) / time.Second)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d, SESSION innodb_lock_wait_timeout = %d", secs, secs)); err != nil {
		return fmt.Errorf("setting lock_wait_timeout: %w", err)
	}
	timedOut := func(err error) error {
		return fmt.Errorf("%s: %w after %ds (lock_wait_timeout; another session holds a conflicting lock on %s): %v", stmt, maintmodel.ErrLockTimeout, secs, op.Table, err)
	}
	if op.Op == maintmodel.Optimize || op.Op == maintmodel.Analyze {
		rows, err := conn.QueryContext(ctx, stmt)
		if err != nil {
			if errNumber(err) == 1205 {
				return timedOut(err)
			}
			return fmt.Errorf("%s: %w", stmt, err)
		}
		defer rows.Close()
		var problems []string
		for rows.Next() {
			var tbl, opName, typ, text string
			if err := rows.Scan(&tbl, &opName, &typ, &text); err != nil {
				return fmt.Errorf("%s: reading its result: %w", stmt, err)
			}
			if strings.EqualFold(typ, "error") {
				problems = append(problems, text)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		if len(problems) > 0 {
			msg := strings.Join(problems, "; ")
			if strings.Contains(msg, "Lock wait timeout") {
				return timedOut(errors.New(msg))
			}
			return fmt.Errorf("%s: %s", stmt, msg)
		}
		return nil
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1205 {
			return timedOut(err)
		}
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}
