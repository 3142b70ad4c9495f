package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// CollectDiagnostics gathers the facts of a diagnostics run (the
// capability diagnostics.Collector) from database on the server of c: one
// connection, catalog queries under max_statement_time and
// lock_wait_timeout (innodb_lock_wait_timeout too), none per table. A query
// that fails costs its area only, recorded with the server's reason; only
// an unreachable server is an error.
func (e *Engine) CollectDiagnostics(ctx context.Context, c engines.Conn, database string, opts diagmodel.Options) (*diagmodel.Facts, error) {
	start := time.Now()
	cfg, err := parseDSN(c)
	if err != nil {
		return nil, err
	}
	if database == "" {
		database = cfg.DBName
	}
	stmt, lock := opts.Timeouts()
	cfg = cfg.Clone()
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// lock_wait_timeout counts whole seconds: the 50 ms PostgreSQL gets
	// is 1 s here.
	lockSec := strconv.Itoa(max(int(lock.Seconds()), 1))
	cfg.Params["max_statement_time"] = strconv.FormatFloat(stmt.Seconds(), 'f', 3, 64)
	cfg.Params["lock_wait_timeout"] = lockSec
	cfg.Params["innodb_lock_wait_timeout"] = lockSec
	db, err := openDB(ctx, cfg, "", 1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: e.Name(), Database: database,
		Level: opts.Level, CollectedAt: start.UTC()}
	d := &myDiag{db: db, f: f, r: diagmodel.Recorder{F: f}, database: database}
	d.collect(ctx, opts)
	sort.Strings(f.Areas)
	f.DurationMS = time.Since(start).Milliseconds()
	return f, nil
}

type myDiag struct {
	db       *sql.DB
	f        *diagmodel.Facts
	r        diagmodel.Recorder
	database string
	// process is whether the account has PROCESS, without which
	// PROCESSLIST shows its own threads only and INNODB_TRX nothing.
	process    bool
	datadir    string
	perfSchema bool
}

func (d *myDiag) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	d.f.Queries++
	return d.db.QueryContext(ctx, q, args...)
}

func (d *myDiag) row(ctx context.Context, q string, args []any, dest ...any) error {
	d.f.Queries++
	return d.db.QueryRowContext(ctx, q, args...).Scan(dest...)
}

// collectRows runs q and gathers its rows with scan: nil and the error
// when the query or a row fails.
func collectRows[T any](ctx context.Context, d *myDiag, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

var errNoProcess = errors.New("the monitoring account lacks the PROCESS privilege: other accounts' sessions and transactions are hidden")

func (d *myDiag) collect(ctx context.Context, opts diagmodel.Options) {
	var n int
	if err := d.row(ctx, `SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES
		WHERE PRIVILEGE_TYPE = 'PROCESS' AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',
		SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`, nil, &n); err == nil {
		d.process = n > 0
	}
	var ps string
	_ = d.row(ctx, `SELECT @@performance_schema`, nil, &ps)
	d.perfSchema = ps == "1" || strings.EqualFold(ps, "ON")
	d.r.Do(diagmodel.AreaServer, func() error { return d.server(ctx) })
	d.r.Do(diagmodel.AreaConnections, func() error { return d.connections(ctx) })
	if d.process {
		d.r.Do(diagmodel.AreaSessions, func() error { return d.sessions(ctx) })
		d.r.Do(diagmodel.AreaLocks, func() error { return d.locks(ctx) })
	} else {
		d.r.MissKey(diagmodel.AreaSessions, errNoProcess.Error(), "mysql.diag.no_process")
		d.r.MissKey(diagmodel.AreaLocks, errNoProcess.Error(), "mysql.diag.no_process")
	}
	d.r.Do(diagmodel.AreaCounters, func() error { return d.counters(ctx) })
	d.r.Do(diagmodel.AreaSize, func() error {
		var b int64
		if err := d.row(ctx, `SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = ?`, []any{d.database}, &b); err != nil {
			return err
		}
		d.f.DatabaseBytes = &b
		return nil
	})
	d.r.Do(diagmodel.AreaReplication, func() error { return d.replication(ctx) })
	d.r.Do(diagmodel.AreaWAL, func() error { return d.binlog(ctx) })
	d.log(ctx, opts.Log)
	if opts.Level != diagmodel.Monthly {
		return
	}
	d.r.Do(diagmodel.AreaTables, func() error { return d.tables(ctx) })
	if d.perfSchema {
		d.r.Do(diagmodel.AreaIO, func() error { return d.io(ctx) })
	} else {
		d.r.MissKey(diagmodel.AreaIO, "performance_schema is off: the server keeps no file I/O summaries",
			"mysql.diag.perf_schema_off_io")
	}
	d.r.Do(diagmodel.AreaStorage, func() error { return d.storage(ctx) })
	d.r.Do(diagmodel.AreaIndexes, func() error { return d.indexes(ctx) })
	if !d.f.Has(diagmodel.AreaIndexes) {
		d.r.Miss(diagmodel.AreaIndexUsage, d.f.Why(diagmodel.AreaIndexes))
	} else if d.perfSchema {
		d.r.Do(diagmodel.AreaIndexUsage, func() error { return d.indexUsage(ctx) })
	} else {
		d.r.MissKey(diagmodel.AreaIndexUsage, "performance_schema is off: the server keeps no per-index usage counts",
			"mysql.diag.perf_schema_off_index")
	}
	d.r.Do(diagmodel.AreaRoles, func() error { return d.roles(ctx) })
	d.r.Do(diagmodel.AreaSettings, func() error { return d.settings(ctx) })
	d.r.Do(diagmodel.AreaExtensions, func() error { return d.plugins(ctx) })
	if d.perfSchema {
		d.r.Do(diagmodel.AreaStatements, func() error { return d.statements(ctx) })
	} else {
		d.r.MissKey(diagmodel.AreaStatements, "performance_schema is off: the server keeps no statement digests",
			"mysql.diag.perf_schema_off_statements")
	}
}

func (d *myDiag) server(ctx context.Context) error {
	s := &diagmodel.Server{}
	var ssl string
	var started int64
	if err := d.row(ctx, `SELECT VERSION(), @@datadir, COALESCE(@@have_ssl, 'NO'),
		CAST(UNIX_TIMESTAMP() - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS SIGNED)`,
		nil, &s.Version, &s.DataDir, &ssl, &started); err != nil {
		return err
	}
	d.datadir = s.DataDir
	s.StartedAt = time.Unix(started, 0).UTC()
	on := ssl == "YES"
	s.SSL = &on
	d.f.Server = s
	return nil
}

func (d *myDiag) connections(ctx context.Context) error {
	c := &diagmodel.Connections{ByState: map[string]int{}, ByUser: map[string]int{}, ByApp: map[string]int{}}
	if err := d.row(ctx, `SELECT @@max_connections`, nil, &c.Max); err != nil {
		return err
	}
	rows, err := d.query(ctx, `SELECT COMMAND, USER, COALESCE(DB, ''), COUNT(*) FROM information_schema.PROCESSLIST
		WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump') AND USER NOT IN ('system user', 'event_scheduler')
		GROUP BY 1, 2, 3`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cmd, user, db string
		var n int
		if err := rows.Scan(&cmd, &user, &db, &n); err != nil {
			return err
		}
		c.Total += n
		c.ByState[strings.ToLower(cmd)] += n
		c.ByUser[user] += n
		c.ByApp[db] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	d.f.Connections = c
	return nil
}

func (d *myDiag) sessions(ctx context.Context) (err error) {
	d.f.Sessions, err = collectRows(ctx, d, `SELECT p.ID, p.USER, p.COMMAND, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), p.TIME,
		LEFT(COALESCE(t.trx_query, p.INFO, ''), 200)
		FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
		WHERE p.ID <> CONNECTION_ID()`, nil, func(r *sql.Rows) (s diagmodel.Session, err error) {
		var cmd string
		err = r.Scan(&s.PID, &s.User, &cmd, &s.XactSeconds, &s.StateSeconds, &s.Query)
		s.State = strings.ToLower(cmd)
		s.IdleInTransaction = cmd == "Sleep"
		if s.IdleInTransaction {
			s.State = "idle in transaction"
		}
		return s, err
	})
	return err
}

func (d *myDiag) locks(ctx context.Context) (err error) {
	d.f.Blocked, err = collectRows(ctx, d, `SELECT r.trx_mysql_thread_id, COALESCE(rp.USER, ''),
		COALESCE(TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()), 0), LEFT(COALESCE(r.trx_query, ''), 200),
		b.trx_mysql_thread_id, COALESCE(bp.USER, ''), COALESCE(l.lock_table, '')
		FROM information_schema.INNODB_LOCK_WAITS w
		JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
		JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
		LEFT JOIN information_schema.PROCESSLIST rp ON rp.ID = r.trx_mysql_thread_id
		LEFT JOIN information_schema.PROCESSLIST bp ON bp.ID = b.trx_mysql_thread_id
		LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id`, nil,
		func(r *sql.Rows) (b diagmodel.Blocked, err error) {
			err = r.Scan(&b.PID, &b.User, &b.WaitSeconds, &b.Query, &b.BlockerPID, &b.BlockerUser, &b.Object)
			b.Object = strings.ReplaceAll(b.Object, "`", "")
			return b, err
		})
	return err
}

var statusCounters = map[string]string{
	"INNODB_DEADLOCKS":                 diagmodel.CounterDeadlocks,
	"COM_COMMIT":                       diagmodel.CounterCommits,
	"COM_ROLLBACK":                     diagmodel.CounterRollbacks,
	"INNODB_BUFFER_POOL_READS":         diagmodel.CounterBlocksRead,
	"INNODB_BUFFER_POOL_READ_REQUESTS": diagmodel.CounterBlocksHit,
	"CREATED_TMP_DISK_TABLES":          diagmodel.CounterTempFiles,
	"BINLOG_BYTES_WRITTEN":             diagmodel.CounterBinlogBytes,
}

func (d *myDiag) counters(ctx context.Context) error {
	rows, err := d.query(ctx, `SELECT UPPER(VARIABLE_NAME), VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
		WHERE VARIABLE_NAME IN ('INNODB_DEADLOCKS', 'COM_COMMIT', 'COM_ROLLBACK', 'INNODB_BUFFER_POOL_READS',
		'INNODB_BUFFER_POOL_READ_REQUESTS', 'CREATED_TMP_DISK_TABLES', 'BINLOG_BYTES_WRITTEN')`)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			return err
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		m[statusCounters[name]] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Read requests count hits and misses; the model's hits are hits.
	m[diagmodel.CounterBlocksHit] -= m[diagmodel.CounterBlocksRead]
	d.f.Counters = m
	return nil
}

func (d *myDiag) replication(ctx context.Context) error {
	rows, err := d.show(ctx, `SHOW ALL SLAVES STATUS`)
	if err != nil {
		return err
	}
	for _, s := range rows {
		r := diagmodel.Replica{Name: s["connection_name"], Error: s["last_error"],
			State: "io " + s["slave_io_running"] + ", sql " + s["slave_sql_running"]}
		r.LagSeconds, _ = strconv.ParseFloat(s["seconds_behind_master"], 64)
		d.f.Replicas = append(d.f.Replicas, r)
	}
	return nil
}

// show runs a SHOW statement and returns its rows by lower-cased column
// name ("" for NULL): which columns SHOW ALL SLAVES STATUS and SHOW BINARY
// LOGS have, and in which order, depends on the version.
func (d *myDiag) show(ctx context.Context, stmt string) ([]map[string]string, error) {
	rows, err := d.query(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []map[string]string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			m[strings.ToLower(c)] = vals[i].String
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

var mariaSeverity = regexp.MustCompile(`\[(ERROR|Warning)\]`)

// log reads the log_error file when this host can read it, from where the
// previous run stopped.
func (d *myDiag) log(ctx context.Context, prev *diagmodel.Log) {
	var name string
	if err := d.row(ctx, `SELECT @@log_error`, nil, &name); err != nil {
		d.r.Miss(diagmodel.AreaLog, err.Error())
		return
	}
	if name == "" || name == "stderr" {
		d.r.MissKey(diagmodel.AreaLog, "log_error is not set: the server writes its log to its standard error, which dbopsd cannot read",
			"mysql.diag.log_error_unset")
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(d.datadir, name)
	}
	fh, err := os.Open(name)
	if err != nil {
		d.r.MissKey(diagmodel.AreaLog, fmt.Sprintf("the error log %s is not readable on this host: %v", name, err),
			"mysql.diag.log_unreadable", "file", name, "error", err.Error())
		return
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		d.r.Miss(diagmodel.AreaLog, err.Error())
		return
	}
	const limit = 4 << 20
	offset := max(st.Size()-limit, 0)
	if prev != nil && prev.File == name && prev.Offset <= st.Size() {
		offset = prev.Offset
	}
	buf := make([]byte, min(st.Size()-offset, limit))
	n, err := fh.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		d.r.Miss(diagmodel.AreaLog, err.Error())
		return
	}
	text := string(buf[:n])
	end := strings.LastIndexByte(text, '\n') + 1
	out := &diagmodel.Log{File: name, Offset: offset + int64(end), Counts: map[string]int{}}
	for _, line := range strings.Split(text[:end], "\n") {
		if m := mariaSeverity.FindStringSubmatch(line); m != nil {
			out.Add(strings.ToUpper(m[1]), line)
		}
	}
	d.f.Log = out
	d.r.Got(diagmodel.AreaLog)
}

func (d *myDiag) tables(ctx context.Context) (err error) {
	var perTable string
	_ = d.row(ctx, `SELECT @@innodb_file_per_table`, nil, &perTable)
	d.f.Tables, err = collectRows(ctx, d, `SELECT TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0),
		COALESCE(DATA_LENGTH, 0), COALESCE(TABLE_ROWS, 0), COALESCE(DATA_FREE, 0), COALESCE(ENGINE, '')
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 2 DESC`, []any{d.database},
		func(r *sql.Rows) (t diagmodel.Table, err error) {
			t.Schema = d.database
			var eng string
			if err := r.Scan(&t.Name, &t.Bytes, &t.DataBytes, &t.Rows, &t.FreeBytes, &eng); err != nil {
				return t, err
			}
			// DATA_FREE of an InnoDB table in the shared system tablespace is
			// the whole tablespace's free space: no measure of this table.
			if !strings.EqualFold(eng, "InnoDB") || perTable == "1" || strings.EqualFold(perTable, "ON") {
				t.BloatBytes = t.FreeBytes
			}
			return t, nil
		})
	if err != nil {
		return err
	}
	if d.perfSchema {
		d.tableIO(ctx)
	}
	return nil
}

// tableIO adds the rows each table read and wrote since the server started
// (performance_schema table_io_waits_summary_by_table), for table-unread.
// Without them the tables are still collected, their reads unknown.
func (d *myDiag) tableIO(ctx context.Context) {
	rows, err := d.query(ctx, `SELECT OBJECT_NAME, COUNT_READ, COUNT_WRITE
		FROM performance_schema.table_io_waits_summary_by_table WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA = ?`, d.database)
	if err != nil {
		return
	}
	defer rows.Close()
	type rw struct{ read, write int64 }
	io := map[string]rw{}
	for rows.Next() {
		var name string
		var x rw
		if rows.Scan(&name, &x.read, &x.write) != nil {
			return
		}
		io[name] = x
	}
	if rows.Err() != nil {
		return
	}
	for i := range d.f.Tables {
		t := &d.f.Tables[i]
		// A table not opened since the start has no row: nothing read.
		x := io[t.Name]
		t.Reads, t.Writes = &x.read, &x.write
	}
}

func (d *myDiag) indexes(ctx context.Context) (err error) {
	d.f.Indexes, err = collectRows(ctx, d, `SELECT TABLE_NAME, INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR '\t'),
		MIN(NON_UNIQUE)
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME, INDEX_NAME ORDER BY 1, 2`, []any{d.database},
		func(r *sql.Rows) (x diagmodel.Index, err error) {
			var cols string
			var nonUnique int
			err = r.Scan(&x.Table, &x.Name, &cols, &nonUnique)
			x.Schema = d.database
			x.Columns = strings.Split(cols, "\t")
			x.Unique = nonUnique == 0
			x.Primary = x.Name == "PRIMARY"
			return x, err
		})
	return err
}

func (d *myDiag) indexUsage(ctx context.Context) error {
	rows, err := d.query(ctx, `SELECT OBJECT_NAME, INDEX_NAME, COUNT_STAR
		FROM performance_schema.table_io_waits_summary_by_index_usage
		WHERE OBJECT_SCHEMA = ? AND INDEX_NAME IS NOT NULL`, d.database)
	if err != nil {
		return err
	}
	defer rows.Close()
	use := map[[2]string]int64{}
	for rows.Next() {
		var t, i string
		var n int64
		if err := rows.Scan(&t, &i, &n); err != nil {
			return err
		}
		use[[2]string{t, i}] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k := range d.f.Indexes {
		x := &d.f.Indexes[k]
		if n, ok := use[[2]string{x.Table, x.Name}]; ok {
			x.Scans = &n
		}
	}
	return nil
}

// SUPER in the access bitmap of mysql.global_priv.
const superACL = 1 << 15

func (d *myDiag) roles(ctx context.Context) (err error) {
	// Only whether an authentication string is there and of which plugin:
	// the hash itself never leaves the server.
	d.f.Roles, err = collectRows(ctx, d, `SELECT User, Host,
		COALESCE(JSON_VALUE(Priv, '$.plugin'), 'mysql_native_password'),
		COALESCE(JSON_VALUE(Priv, '$.authentication_string'), '') <> '',
		COALESCE(JSON_VALUE(Priv, '$.access'), 0)
		FROM mysql.global_priv
		WHERE COALESCE(JSON_VALUE(Priv, '$.is_role'), 'false') <> 'true'
		AND COALESCE(JSON_VALUE(Priv, '$.account_locked'), 'false') <> 'true'
		ORDER BY 1, 2`, nil, func(rows *sql.Rows) (r diagmodel.Role, err error) {
		var plugin string
		var hasAuth bool
		var access uint64
		if err := rows.Scan(&r.Name, &r.Host, &plugin, &hasAuth, &access); err != nil {
			return r, err
		}
		r.CanLogin = true
		r.Superuser = access&superACL != 0
		switch {
		case plugin == "mysql_native_password" || plugin == "mysql_old_password" || plugin == "ed25519" || plugin == "caching_sha2_password":
			r.Password = plugin
			if !hasAuth {
				r.Password = "none"
			}
		default:
			r.Password = "plugin:" + plugin
		}
		return r, nil
	})
	return err
}

func (d *myDiag) settings(ctx context.Context) (err error) {
	d.f.Settings, err = collectRows(ctx, d, `SELECT LOWER(VARIABLE_NAME), COALESCE(GLOBAL_VALUE, ''), GLOBAL_VALUE_ORIGIN
		FROM information_schema.SYSTEM_VARIABLES
		WHERE GLOBAL_VALUE_ORIGIN IN ('CONFIG', 'COMMAND-LINE', 'SQL') AND NOT (GLOBAL_VALUE <=> DEFAULT_VALUE)
		ORDER BY 1`, nil, func(r *sql.Rows) (s diagmodel.Setting, err error) {
		err = r.Scan(&s.Name, &s.Value, &s.Source)
		s.Source = strings.ToLower(s.Source)
		return s, err
	})
	return err
}

func (d *myDiag) plugins(ctx context.Context) (err error) {
	d.f.Extensions, err = collectRows(ctx, d, `SELECT CONCAT(PLUGIN_NAME, ' ', PLUGIN_VERSION) FROM information_schema.PLUGINS
		WHERE PLUGIN_LIBRARY IS NOT NULL AND PLUGIN_STATUS = 'ACTIVE' ORDER BY 1`, nil,
		func(r *sql.Rows) (s string, err error) {
			err = r.Scan(&s)
			return s, err
		})
	return err
}

func (d *myDiag) statements(ctx context.Context) (err error) {
	d.f.Statements, err = collectRows(ctx, d, `SELECT LEFT(COALESCE(DIGEST_TEXT, ''), 200), COUNT_STAR, SUM_TIMER_WAIT / 1e9
		FROM performance_schema.events_statements_summary_by_digest
		WHERE SCHEMA_NAME = ? ORDER BY SUM_TIMER_WAIT DESC LIMIT 10`, []any{d.database},
		func(r *sql.Rows) (s diagmodel.Statement, err error) {
			err = r.Scan(&s.Query, &s.Calls, &s.TotalMS)
			return s, err
		})
	return err
}

// binlog reads whether the binary log is on, how long it is kept and, when
// on, its files' sizes (SHOW BINARY LOGS: BINLOG MONITOR, formerly
// REPLICATION CLIENT). The bytes written per day come from the
// Binlog_bytes_written counter's delta.
func (d *myDiag) binlog(ctx context.Context) error {
	w := &diagmodel.WAL{}
	var on int
	var days float64
	var secs int64
	if err := d.row(ctx, `SELECT @@log_bin, COALESCE(@@expire_logs_days, 0), COALESCE(@@binlog_expire_logs_seconds, 0)`,
		nil, &on, &days, &secs); err != nil {
		return err
	}
	enabled := on == 1
	w.Binlog = &enabled
	// MariaDB keeps the two settings in step; the seconds are the finer.
	w.ExpireSeconds = max(secs, int64(days*86400))
	if enabled {
		logs, err := d.show(ctx, `SHOW BINARY LOGS`)
		if err != nil {
			return err
		}
		for _, l := range logs {
			n, _ := strconv.ParseInt(l["file_size"], 10, 64)
			w.BinlogBytes += n
		}
		w.BinlogFiles = len(logs)
	}
	d.f.WAL = w
	return nil
}

// io reads the files with the most bytes read and written from
// performance_schema.file_summary_by_instance (cumulative since the start;
// the analysis takes deltas).
func (d *myDiag) io(ctx context.Context) (err error) {
	o := &diagmodel.IO{Source: "file_summary_by_instance"}
	o.Files, err = collectRows(ctx, d, `SELECT FILE_NAME, SUM_NUMBER_OF_BYTES_READ, SUM_NUMBER_OF_BYTES_WRITE, SUM_TIMER_WAIT / 1e9
		FROM performance_schema.file_summary_by_instance
		WHERE SUM_NUMBER_OF_BYTES_READ + SUM_NUMBER_OF_BYTES_WRITE > 0
		ORDER BY SUM_NUMBER_OF_BYTES_READ + SUM_NUMBER_OF_BYTES_WRITE DESC LIMIT `+strconv.Itoa(diagmodel.IOTopFiles), nil,
		func(r *sql.Rows) (f diagmodel.FileIO, err error) {
			if err := r.Scan(&f.File, &f.ReadBytes, &f.WriteBytes, &f.WaitMS); err != nil {
				return f, err
			}
			if d.datadir != "" {
				if rel, err := filepath.Rel(d.datadir, f.File); err == nil && !strings.HasPrefix(rel, "..") {
					f.File = rel
				}
			}
			return f, nil
		})
	if err != nil {
		return err
	}
	d.f.IO = o
	return nil
}

// storageTop is how many InnoDB tablespaces storage lists, biggest first.
const storageTop = 20

// storage reads the InnoDB data layout: the system tablespace's files and
// size, whether tables have files of their own, the redo log's size, and
// the biggest tablespaces (INNODB_SYS_TABLESPACES needs PROCESS).
func (d *myDiag) storage(ctx context.Context) (err error) {
	s := &diagmodel.Storage{}
	var perTable int
	if err := d.row(ctx, `SELECT @@innodb_data_file_path, @@innodb_file_per_table, @@innodb_log_file_size`,
		nil, &s.DataFilePath, &perTable, &s.RedoBytes); err != nil {
		return err
	}
	own := perTable == 1
	s.FilePerTable = &own
	s.Tablespaces, err = collectRows(ctx, d, `SELECT NAME, COALESCE(FILE_SIZE, 0) FROM information_schema.INNODB_SYS_TABLESPACES
		ORDER BY FILE_SIZE DESC LIMIT `+strconv.Itoa(storageTop), nil,
		func(r *sql.Rows) (t diagmodel.Tablespace, err error) {
			var n int64
			err = r.Scan(&t.Name, &n)
			t.Bytes = &n
			if t.Name == "innodb_system" {
				s.SystemBytes = n
			}
			return t, err
		})
	if err != nil {
		return err
	}
	d.f.Storage = s
	return nil
}
