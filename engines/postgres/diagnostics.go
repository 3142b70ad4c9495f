package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// CollectDiagnostics gathers the facts of a diagnostics run (the
// capability diagnostics.Collector) from database on the server of c. One
// connection, a bounded number of catalog queries (none per table), each
// under statement_timeout and lock_timeout in a read-only session. A query
// that fails — permission, version, timeout — costs its area only: the
// area is recorded as unavailable with the server's reason and the run
// goes on. Only an unreachable server is an error.
func (e *Engine) CollectDiagnostics(ctx context.Context, c engines.Conn, database string, opts diagmodel.Options) (*diagmodel.Facts, error) {
	start := time.Now()
	cfg, err := config(c, database)
	if err != nil {
		return nil, err
	}
	stmt, lock := opts.Timeouts()
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(stmt.Milliseconds(), 10)
	cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(max(lock.Milliseconds(), 1), 10)
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: e.Name(), Database: cfg.Database,
		Level: opts.Level, CollectedAt: start.UTC()}
	d := &pgDiag{conn: conn, f: f, r: diagmodel.Recorder{F: f}}
	d.collect(ctx, opts)
	sort.Strings(f.Areas)
	f.DurationMS = time.Since(start).Milliseconds()
	return f, nil
}

type pgDiag struct {
	conn *pgx.Conn
	f    *diagmodel.Facts
	r    diagmodel.Recorder
	// seesAll is whether the session may read other roles' activity
	// (superuser or pg_read_all_stats, which pg_monitor includes).
	seesAll bool
	// version is server_version_num (150004 for 15.4): which statistics
	// views there are.
	version int
}

func (d *pgDiag) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	d.f.Queries++
	return d.conn.Query(ctx, sql, args...)
}

func (d *pgDiag) row(ctx context.Context, sql string, dest ...any) error {
	d.f.Queries++
	return d.conn.QueryRow(ctx, sql).Scan(dest...)
}

// collectRows runs sql and gathers its rows with scan (pgx.CollectRows):
// nil and the error when a row or the query fails.
func collectRows[T any](ctx context.Context, d *pgDiag, sql string, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	rows, err := d.query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

func (d *pgDiag) collect(ctx context.Context, opts diagmodel.Options) {
	_ = d.row(ctx, `SELECT pg_has_role('pg_read_all_stats', 'MEMBER'), current_setting('server_version_num')::int`, &d.seesAll, &d.version)
	d.r.Do(diagmodel.AreaServer, func() error { return d.server(ctx) })
	d.r.Do(diagmodel.AreaConnections, func() error { return d.connections(ctx) })
	d.activity(ctx)
	d.r.Do(diagmodel.AreaCounters, func() error { return d.counters(ctx) })
	d.r.Do(diagmodel.AreaSize, func() error {
		var n int64
		if err := d.row(ctx, `SELECT pg_database_size(current_database())`, &n); err != nil {
			return err
		}
		d.f.DatabaseBytes = &n
		return nil
	})
	d.r.Do(diagmodel.AreaArchiver, func() error { return d.archiver(ctx) })
	d.r.Do(diagmodel.AreaReplication, func() error { return d.replication(ctx) })
	d.r.Do(diagmodel.AreaWAL, func() error { return d.wal(ctx) })
	d.log(ctx, opts.Log)
	if opts.Level != diagmodel.Monthly {
		return
	}
	d.r.Do(diagmodel.AreaTables, func() error { return d.tables(ctx) })
	d.r.Do(diagmodel.AreaIO, func() error { return d.io(ctx) })
	d.r.Do(diagmodel.AreaControl, func() error { return d.control(ctx) })
	d.r.Do(diagmodel.AreaStorage, func() error { return d.storage(ctx) })
	d.indexes(ctx)
	d.r.Do(diagmodel.AreaRoles, func() error { return d.roles(ctx) })
	d.r.Do(diagmodel.AreaHBA, func() error { return d.hba(ctx) })
	d.r.Do(diagmodel.AreaSettings, func() error { return d.settings(ctx) })
	d.r.Do(diagmodel.AreaExtensions, func() error { return d.extensions(ctx) })
	d.measureBloat(ctx, opts) // diagnostics_bloat.go
	d.r.Do(diagmodel.AreaWraparound, func() error {
		w := &diagmodel.Wraparound{}
		if err := d.row(ctx, `SELECT max(age(datfrozenxid))::bigint, max(mxid_age(datminmxid))::bigint FROM pg_database`,
			&w.XIDAge, &w.MultiXIDAge); err != nil {
			return err
		}
		d.f.Wraparound = w
		return nil
	})
	d.statements(ctx)
}

func (d *pgDiag) server(ctx context.Context) error {
	s := &diagmodel.Server{}
	var ssl string
	if err := d.row(ctx, `SELECT current_setting('server_version'), pg_postmaster_start_time(), current_setting('ssl')`,
		&s.Version, &s.StartedAt, &ssl); err != nil {
		return err
	}
	s.StartedAt = s.StartedAt.UTC()
	on := ssl == "on"
	s.SSL = &on
	// data_directory is for superusers and pg_read_all_settings only.
	var dir *string
	if err := d.row(ctx, `SELECT current_setting('data_directory', true)`, &dir); err == nil && dir != nil {
		s.DataDir = *dir
	}
	d.f.Server = s
	return nil
}

func (d *pgDiag) connections(ctx context.Context) error {
	c := &diagmodel.Connections{ByState: map[string]int{}, ByUser: map[string]int{}, ByApp: map[string]int{}}
	if err := d.row(ctx, `SELECT current_setting('max_connections')::int`, &c.Max); err != nil {
		return err
	}
	rows, err := d.query(ctx, `SELECT coalesce(state, ''), coalesce(usename, ''), coalesce(application_name, ''), count(*)::int
		FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2, 3`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var state, user, app string
		var n int
		if err := rows.Scan(&state, &user, &app, &n); err != nil {
			return err
		}
		if state == "" {
			state = "unknown"
		}
		c.Total += n
		c.ByState[state] += n
		c.ByUser[user] += n
		c.ByApp[app] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	d.f.Connections = c
	return nil
}

// errOthersHidden: without pg_read_all_stats, pg_stat_activity hides the
// transactions and queries of other roles, so the checks would see only
// the monitoring role's own sessions.
var errOthersHidden = errors.New("the monitoring role cannot see other roles' sessions: grant it pg_monitor (or pg_read_all_stats)")

// activity collects open transactions and lock waits.
func (d *pgDiag) activity(ctx context.Context) {
	if !d.seesAll {
		d.r.MissKey(diagmodel.AreaSessions, errOthersHidden.Error(), "postgres.diag.others_hidden")
		d.r.MissKey(diagmodel.AreaLocks, errOthersHidden.Error(), "postgres.diag.others_hidden")
		return
	}
	d.r.Do(diagmodel.AreaSessions, func() (err error) {
		d.f.Sessions, err = collectRows(ctx, d, `SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(state, ''),
			extract(epoch FROM clock_timestamp() - xact_start)::float8,
			coalesce(extract(epoch FROM clock_timestamp() - state_change), 0)::float8, left(query, 200)
			FROM pg_stat_activity
			WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
			func(r pgx.CollectableRow) (s diagmodel.Session, err error) {
				err = r.Scan(&s.PID, &s.User, &s.App, &s.State, &s.XactSeconds, &s.StateSeconds, &s.Query)
				s.IdleInTransaction = strings.HasPrefix(s.State, "idle in transaction")
				return s, err
			})
		return err
	})
	d.r.Do(diagmodel.AreaLocks, func() (err error) {
		d.f.Blocked, err = collectRows(ctx, d, `SELECT a.pid, coalesce(a.usename, ''),
			coalesce(extract(epoch FROM clock_timestamp() - a.state_change), 0)::float8, left(a.query, 200),
			b.pid, coalesce(b.usename, ''),
			coalesce((SELECT l.relation::regclass::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
				WHERE l.pid = a.pid AND c.relkind IN ('r', 'p', 'm')
				ORDER BY l.granted, l.locktype = 'tuple' DESC LIMIT 1), '')
			FROM pg_stat_activity a
			CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid)
			JOIN pg_stat_activity b ON b.pid = bp.pid`,
			func(r pgx.CollectableRow) (b diagmodel.Blocked, err error) {
				err = r.Scan(&b.PID, &b.User, &b.WaitSeconds, &b.Query, &b.BlockerPID, &b.BlockerUser, &b.Object)
				return b, err
			})
		return err
	})
}

func (d *pgDiag) counters(ctx context.Context) error {
	// PostgreSQL 17 moved the checkpoint counters from pg_stat_bgwriter to
	// pg_stat_checkpointer.
	checkpoints := `SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter`
	if d.version >= 170000 {
		checkpoints = `SELECT num_timed, num_requested FROM pg_stat_checkpointer`
	}
	var dl, commit, rollback, read, hit, tf, tb, timed, req, af int64
	if err := d.row(ctx, `SELECT s.deadlocks, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit, s.temp_files, s.temp_bytes,
		c.*, (SELECT failed_count FROM pg_stat_archiver)
		FROM pg_stat_database s, (`+checkpoints+`) c WHERE s.datname = current_database()`,
		&dl, &commit, &rollback, &read, &hit, &tf, &tb, &timed, &req, &af); err != nil {
		return err
	}
	d.f.Counters = map[string]int64{
		diagmodel.CounterDeadlocks: dl, diagmodel.CounterCommits: commit, diagmodel.CounterRollbacks: rollback,
		diagmodel.CounterBlocksRead: read, diagmodel.CounterBlocksHit: hit, diagmodel.CounterTempFiles: tf,
		diagmodel.CounterTempBytes: tb, diagmodel.CounterCheckpoints: timed + req, diagmodel.CounterArchiveFail: af,
		diagmodel.CounterCheckpointsTimed: timed, diagmodel.CounterCheckpointsReq: req,
	}
	return nil
}

func (d *pgDiag) archiver(ctx context.Context) error {
	a := &diagmodel.Archiver{}
	var mode string
	var lastArch, lastFail *time.Time
	var lastWAL *string
	if err := d.row(ctx, `SELECT current_setting('archive_mode'), archived_count, failed_count,
		last_archived_time, last_failed_time, last_failed_wal FROM pg_stat_archiver`,
		&mode, &a.Archived, &a.Failed, &lastArch, &lastFail, &lastWAL); err != nil {
		return err
	}
	a.Enabled = mode != "off"
	if lastArch != nil {
		a.LastArchivedAt = lastArch.UTC()
	}
	if lastFail != nil {
		a.LastFailedAt = lastFail.UTC()
	}
	if lastWAL != nil {
		a.LastFailedWAL = *lastWAL
	}
	var cmd *string
	if err := d.row(ctx, `SELECT current_setting('archive_command', true)`, &cmd); err == nil && cmd != nil {
		a.Command = *cmd
	}
	d.f.Archiver = a
	return nil
}

func (d *pgDiag) replication(ctx context.Context) (err error) {
	d.f.Replicas, err = collectRows(ctx, d, `SELECT coalesce(application_name, ''), coalesce(state, ''),
		coalesce(extract(epoch FROM replay_lag), 0)::float8,
		coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END, replay_lsn), 0)::bigint
		FROM pg_stat_replication`,
		func(r pgx.CollectableRow) (x diagmodel.Replica, err error) {
			err = r.Scan(&x.Name, &x.State, &x.LagSeconds, &x.LagBytes)
			return x, err
		})
	return err
}

// logSeverity finds the severity of a line written with the default
// log_line_prefix ('%m [%p] '): "... ERROR:  message".
var logSeverity = regexp.MustCompile(`\b(WARNING|ERROR|FATAL|PANIC):  `)

// logReadLimit bounds what one run reads of the server log.
const logReadLimit = 4 << 20

// log reads the server log from where the previous run stopped, through
// pg_ls_logdir and pg_read_file (superuser, or pg_monitor for the listing
// and pg_read_server_files for the reading).
func (d *pgDiag) log(ctx context.Context, prev *diagmodel.Log) {
	var collector, dir string
	if err := d.row(ctx, `SELECT current_setting('logging_collector'), current_setting('log_directory')`, &collector, &dir); err != nil {
		d.r.Miss(diagmodel.AreaLog, err.Error())
		return
	}
	if collector != "on" {
		d.r.MissKey(diagmodel.AreaLog, "logging_collector is off: the server writes its log to its standard error, which SQL cannot read",
			"postgres.diag.logging_collector_off")
		return
	}
	type file struct {
		name string
		size int64
	}
	files, err := collectRows(ctx, d, `SELECT name, size FROM pg_ls_logdir() WHERE name LIKE '%.log' ORDER BY modification, name`,
		func(r pgx.CollectableRow) (f file, err error) {
			err = r.Scan(&f.name, &f.size)
			return f, err
		})
	if err != nil {
		d.r.Miss(diagmodel.AreaLog, err.Error())
		return
	}
	out := &diagmodel.Log{Counts: map[string]int{}}
	if len(files) == 0 {
		d.f.Log = out
		d.r.Got(diagmodel.AreaLog)
		return
	}
	// Where to start: after the previous run's position when its file is
	// still there, else the newest file's last part.
	first, offset := len(files)-1, max(files[len(files)-1].size-logReadLimit, 0)
	if prev != nil {
		for i, f := range files {
			if f.name == prev.File && prev.Offset <= f.size {
				first, offset = i, prev.Offset
			}
		}
	}
	budget := int64(logReadLimit)
	for i := first; i < len(files) && budget > 0; i++ {
		f := files[i]
		if i > first {
			offset = 0
		}
		n := min(f.size-offset, budget)
		out.File, out.Offset = f.name, offset
		if n <= 0 {
			continue
		}
		var text string
		if err := d.row(ctx, fmt.Sprintf(`SELECT pg_read_file(%s, %d, %d)`, quoteLiteral(path.Join(dir, f.name)), offset, n), &text); err != nil {
			d.r.Miss(diagmodel.AreaLog, err.Error())
			return
		}
		// Count whole lines only; a line still being written is read next time.
		end := strings.LastIndexByte(text, '\n') + 1
		text = text[:end]
		out.Offset = offset + int64(end)
		budget -= int64(end)
		for _, line := range strings.Split(text, "\n") {
			if m := logSeverity.FindStringSubmatch(line); m != nil {
				out.Add(m[1], line)
			}
		}
		if end == 0 {
			break
		}
	}
	d.f.Log = out
	d.r.Got(diagmodel.AreaLog)
}

func (d *pgDiag) tables(ctx context.Context) (err error) {
	d.f.Tables, err = collectRows(ctx, d, `SELECT n.nspname, c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
		coalesce(s.n_live_tup, greatest(c.reltuples, 0)::bigint), coalesce(s.n_dead_tup, 0), s.seq_scan, s.idx_scan,
		greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze),
		s.n_tup_ins + s.n_tup_upd + s.n_tup_del
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
		ORDER BY 3 DESC`, func(r pgx.CollectableRow) (t diagmodel.Table, err error) {
		var vac, an *time.Time
		if err := r.Scan(&t.Schema, &t.Name, &t.Bytes, &t.DataBytes, &t.Rows, &t.DeadRows, &t.SeqScans, &t.IdxScans, &vac, &an, &t.Writes); err != nil {
			return t, err
		}
		if vac != nil {
			t.LastVacuum = vac.UTC()
		}
		if an != nil {
			t.LastAnalyze = an.UTC()
		}
		// A statistics-based estimate: the heap's share held by dead rows.
		if total := t.Rows + t.DeadRows; total > 0 && t.DeadRows > 0 {
			t.BloatBytes = int64(float64(t.DataBytes) * float64(t.DeadRows) / float64(total))
		}
		return t, nil
	})
	return err
}

func (d *pgDiag) indexes(ctx context.Context) {
	d.r.Do(diagmodel.AreaIndexes, func() (err error) {
		d.f.Indexes, err = collectRows(ctx, d, `SELECT n.nspname, t.relname, ic.relname,
			array(SELECT CASE WHEN k.attnum = 0 THEN 'expr' ELSE a.attname::text END
				FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
				LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)
				|| CASE WHEN i.indexprs IS NULL THEN '{}'::text[] ELSE ARRAY[pg_get_expr(i.indexprs, i.indrelid)] END
				|| CASE WHEN i.indpred IS NULL THEN '{}'::text[] ELSE ARRAY['WHERE ' || pg_get_expr(i.indpred, i.indrelid)] END,
			pg_relation_size(ic.oid), i.indisunique, i.indisprimary, NOT i.indisvalid, s.idx_scan
			FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
			ORDER BY 1, 2, 3`,
			func(r pgx.CollectableRow) (x diagmodel.Index, err error) {
				err = r.Scan(&x.Schema, &x.Table, &x.Name, &x.Columns, &x.Bytes, &x.Unique, &x.Primary, &x.Invalid, &x.Scans)
				return x, err
			})
		return err
	})
	if d.f.Has(diagmodel.AreaIndexes) {
		d.r.Got(diagmodel.AreaIndexUsage)
	} else {
		d.r.Miss(diagmodel.AreaIndexUsage, d.f.Why(diagmodel.AreaIndexes))
	}
}

func (d *pgDiag) roles(ctx context.Context) (err error) {
	// pg_authid (superusers only) is the one place that says whether a
	// role has a password and of which kind; the hash stays in the server.
	d.f.Roles, err = collectRows(ctx, d, `SELECT rolname, rolcanlogin, rolsuper,
		CASE WHEN rolpassword IS NULL OR rolpassword = '' THEN 'none'
		     WHEN rolpassword LIKE 'md5%' THEN 'md5'
		     WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
		     ELSE 'other' END
		FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1`,
		func(r pgx.CollectableRow) (x diagmodel.Role, err error) {
			err = r.Scan(&x.Name, &x.CanLogin, &x.Superuser, &x.Password)
			return x, err
		})
	return err
}

func (d *pgDiag) hba(ctx context.Context) (err error) {
	d.f.HBA, err = collectRows(ctx, d, `SELECT line_number, coalesce(type, ''), coalesce(database, '{}'), coalesce(user_name, '{}'),
		coalesce(address, '') || coalesce('/' || netmask, ''), coalesce(auth_method, ''), coalesce(error, '')
		FROM pg_hba_file_rules ORDER BY line_number`,
		func(r pgx.CollectableRow) (h diagmodel.HBARule, err error) {
			var hbaErr string
			err = r.Scan(&h.Line, &h.Type, &h.Database, &h.User, &h.Address, &h.Method, &hbaErr)
			if hbaErr != "" {
				h.Method = "error: " + hbaErr
			}
			return h, err
		})
	return err
}

func (d *pgDiag) settings(ctx context.Context) (err error) {
	d.f.Settings, err = collectRows(ctx, d, `SELECT name, coalesce(setting, ''), source FROM pg_settings
		WHERE source NOT IN ('default', 'override', 'client', 'session') AND setting IS DISTINCT FROM boot_val
		ORDER BY name`,
		func(r pgx.CollectableRow) (s diagmodel.Setting, err error) {
			err = r.Scan(&s.Name, &s.Value, &s.Source)
			return s, err
		})
	return err
}

func (d *pgDiag) extensions(ctx context.Context) (err error) {
	d.f.Extensions, err = collectRows(ctx, d, `SELECT extname || ' ' || extversion FROM pg_extension ORDER BY 1`, pgx.RowTo[string])
	return err
}

func (d *pgDiag) statements(ctx context.Context) {
	installed := false
	for _, x := range d.f.Extensions {
		if strings.HasPrefix(x, "pg_stat_statements ") {
			installed = true
		}
	}
	if !installed {
		d.r.MissKey(diagmodel.AreaStatements, "the pg_stat_statements extension is not installed in this database",
			"postgres.diag.no_pg_stat_statements")
		return
	}
	d.r.Do(diagmodel.AreaStatements, func() (err error) {
		d.f.Statements, err = collectRows(ctx, d, `SELECT left(query, 200), calls, total_exec_time FROM pg_stat_statements
			ORDER BY total_exec_time DESC LIMIT 10`,
			func(r pgx.CollectableRow) (s diagmodel.Statement, err error) {
				err = r.Scan(&s.Query, &s.Calls, &s.TotalMS)
				return s, err
			})
		return err
	})
}

// wal reads where the WAL stands, what bounds its size and what the
// replication slots hold back. pg_current_wal_lsn() fails on a standby:
// there the position is left 0 and slots are measured from the last WAL
// received.
func (d *pgDiag) wal(ctx context.Context) (err error) {
	w := &diagmodel.WAL{}
	statBytes := `NULL::bigint`
	if d.version >= 140000 {
		statBytes = `(SELECT wal_bytes::bigint FROM pg_stat_wal)`
	}
	if err := d.row(ctx, `SELECT CASE WHEN pg_is_in_recovery() THEN 0 ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint END,
		`+statBytes+`, coalesce(pg_size_bytes(current_setting('wal_keep_size', true)), 0),
		pg_size_bytes(current_setting('max_wal_size'))`,
		&w.Position, &w.StatBytes, &w.KeepBytes, &w.MaxBytes); err != nil {
		return err
	}
	w.Slots, err = collectRows(ctx, d, `SELECT slot_name, slot_type, active,
		coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
			restart_lsn), 0)::bigint
		FROM pg_replication_slots ORDER BY 1`,
		func(r pgx.CollectableRow) (s diagmodel.Slot, err error) {
			err = r.Scan(&s.Name, &s.Type, &s.Active, &s.RetainedBytes)
			return s, err
		})
	if err != nil {
		return err
	}
	d.f.WAL = w
	return nil
}

// io reads the tables that read the most blocks from disk
// (pg_statio_user_tables, every version) and, from PostgreSQL 16, the
// server's I/O by backend type (pg_stat_io). Both are cumulative; the
// analysis takes deltas.
func (d *pgDiag) io(ctx context.Context) (err error) {
	o := &diagmodel.IO{Source: "pg_statio_user_tables"}
	o.Tables, err = collectRows(ctx, d, `SELECT schemaname, relname, coalesce(heap_blks_read, 0), coalesce(heap_blks_hit, 0),
		coalesce(idx_blks_read, 0), coalesce(idx_blks_hit, 0), current_setting('block_size')::bigint
		FROM pg_statio_user_tables
		WHERE coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) + coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) > 0
		ORDER BY coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) DESC,
			coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) DESC LIMIT `+strconv.Itoa(diagmodel.IOTopTables),
		func(r pgx.CollectableRow) (t diagmodel.TableIO, err error) {
			err = r.Scan(&t.Schema, &t.Name, &t.HeapRead, &t.HeapHit, &t.IdxRead, &t.IdxHit, &o.BlockSize)
			return t, err
		})
	if err != nil {
		return err
	}
	if d.version >= 160000 {
		o.Source += "+pg_stat_io"
		o.Backends, err = collectRows(ctx, d, `SELECT backend_type, object, context, coalesce(reads, 0), coalesce(writes, 0),
			coalesce(extends, 0), coalesce(fsyncs, 0), coalesce(read_time, 0)::float8, coalesce(write_time, 0)::float8
			FROM pg_stat_io WHERE coalesce(reads, 0) + coalesce(writes, 0) + coalesce(extends, 0) > 0
			ORDER BY 1, 2, 3`,
			func(r pgx.CollectableRow) (b diagmodel.BackendIO, err error) {
				err = r.Scan(&b.BackendType, &b.Object, &b.Context, &b.Reads, &b.Writes, &b.Extends, &b.Fsyncs, &b.ReadMS, &b.WriteMS)
				return b, err
			})
		if err != nil {
			return err
		}
	}
	d.f.IO = o
	return nil
}

// control reads the control file's last checkpoint and the cluster's
// identity (pg_control_checkpoint, pg_control_system; a role without any
// grant may call them on PostgreSQL 15, as TestPostgresIO's least-privilege
// run shows) and whether data pages carry checksums.
func (d *pgDiag) control(ctx context.Context) error {
	c := &diagmodel.Control{}
	var checksums string
	if err := d.row(ctx, `SELECT k.checkpoint_time, k.timeline_id::bigint, s.system_identifier::text, s.catalog_version_no::bigint,
		CASE WHEN pg_is_in_recovery() THEN 0 ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), k.redo_lsn)::bigint END,
		current_setting('data_checksums')
		FROM pg_control_checkpoint() k, pg_control_system() s`,
		&c.CheckpointAt, &c.Timeline, &c.SystemID, &c.CatalogVersion, &c.WALSinceCheckpoint, &checksums); err != nil {
		return err
	}
	c.CheckpointAt = c.CheckpointAt.UTC()
	on := checksums == "on"
	c.Checksums = &on
	d.f.Control = c
	return nil
}

// storage reads the tablespaces, their locations and sizes.
// pg_tablespace_size needs CREATE on the tablespace or pg_read_all_stats,
// except for the database's own: others are left unmeasured.
func (d *pgDiag) storage(ctx context.Context) (err error) {
	s := &diagmodel.Storage{}
	s.Tablespaces, err = collectRows(ctx, d, `SELECT t.spcname, pg_tablespace_location(t.oid),
		CASE WHEN pg_has_role('pg_read_all_stats', 'MEMBER') OR has_tablespace_privilege(t.oid, 'CREATE')
			OR t.oid = (SELECT dattablespace FROM pg_database WHERE datname = current_database())
		THEN pg_tablespace_size(t.oid) END
		FROM pg_tablespace t ORDER BY 1`,
		func(r pgx.CollectableRow) (t diagmodel.Tablespace, err error) {
			err = r.Scan(&t.Name, &t.Location, &t.Bytes)
			return t, err
		})
	if err != nil {
		return err
	}
	d.f.Storage = s
	return nil
}
