package mssql

import (
	"context"
	"database/sql"
	"fmt"
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
// connection under SET LOCK_TIMEOUT, every statement under the options'
// statement timeout, catalog and DMV queries only, none per table. A
// statement that fails costs its area only, recorded with the server's
// reason (most often a missing VIEW SERVER STATE: NOTES-mssqldiag.md lists
// the grants); only an unreachable server is an error.
//
// The statements are built by diagQueries and their rows mapped by the
// scan functions below, which tests feed recorded rows
// (diagnostics_test.go): what a result means is tested without a server,
// the text sent against testdata/diagnostics.golden.
func (e *Engine) CollectDiagnostics(ctx context.Context, c engines.Conn, database string, opts diagmodel.Options) (*diagmodel.Facts, error) {
	start := time.Now()
	db, err := open(ctx, c, database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	stmtTimeout, lock := opts.Timeouts()
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: engineName, Database: database,
		Level: opts.Level, CollectedAt: start.UTC()}
	s := &diagSession{db: db, lock: lock, f: f}
	if err := s.connect(ctx); err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", engines.ServerOf(engineName, c.DSN), err)
	}
	defer s.close()
	if f.Database == "" {
		f.Queries++
		if err := s.conn.QueryRowContext(ctx, "SELECT DB_NAME();").Scan(&f.Database); err != nil {
			return nil, fmt.Errorf("reading the database name: %w", classify(err))
		}
	}
	rec := diagmodel.Recorder{F: f}
	for _, a := range diagQueries(f.Database, opts.Level, opts.Log) {
		err := func() error {
			for _, q := range a.queries {
				if err := s.run(ctx, stmtTimeout, q); err != nil {
					return err
				}
			}
			return nil
		}()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, area := range a.areas {
			if err != nil {
				rec.Miss(area, err.Error())
			} else {
				rec.Got(area)
			}
		}
	}
	for _, u := range notCollected {
		rec.MissKey(u.Area, u.Reason, u.Key)
	}
	sort.Strings(f.Areas)
	f.DurationMS = time.Since(start).Milliseconds()
	return f, nil
}

// diagSession is the one connection of a collection, under SET
// LOCK_TIMEOUT. A statement cut off by its timeout may leave the
// connection unusable: the next statement gets a new one.
type diagSession struct {
	db   *sql.DB
	conn *sql.Conn
	lock time.Duration
	f    *diagmodel.Facts
}

func (s *diagSession) connect(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	s.f.Queries++
	if _, err := conn.ExecContext(ctx, lockTimeout(s.lock).sql); err != nil {
		conn.Close()
		return fmt.Errorf("SET LOCK_TIMEOUT: %w", classify(err))
	}
	s.conn = conn
	return nil
}

func (s *diagSession) close() {
	if s.conn != nil {
		s.conn.Close()
	}
}

func (s *diagSession) run(ctx context.Context, timeout time.Duration, q diagQuery) error {
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := s.query(qctx, q)
	if err != nil && qctx.Err() != nil && ctx.Err() == nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("no answer within the statement timeout of %s: %w", timeout, err)
	}
	return err
}

func (s *diagSession) query(ctx context.Context, q diagQuery) error {
	s.f.Queries++
	rows, err := s.conn.QueryContext(ctx, q.stmt.sql, q.stmt.params()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := q.scan(rows, s.f); err != nil {
		return err
	}
	return rows.Err()
}

// rowScanner is what the scan functions read: *sql.Rows, or recorded rows
// in the tests.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// diagQuery is one statement and what its rows mean.
type diagQuery struct {
	stmt stmt
	scan func(r rowScanner, f *diagmodel.Facts) error
}

// diagArea is one or more areas filled by statements that all must
// succeed.
type diagArea struct {
	areas   []string
	queries []diagQuery
}

// Size gate of the fragmentation area: smaller indexes are not worth a
// rebuild (Microsoft's guidance starts at about 1,000 pages).
const fragmentationMinPages = 1000

// errorLogMaxRows bounds one run's read of the error log; the next run
// goes on from where this one stopped.
const errorLogMaxRows = 5000

// errorLogFile names the current error log (xp_readerrorlog 0) in
// Log.File; Log.Offset is the time of its last entry read.
const errorLogFile = "ERRORLOG"

// diagQueries are the areas of a run at level, in the order they are
// collected; prev is where the previous run stopped reading the error log.
func diagQueries(database, level string, prev *diagmodel.Log) []diagArea {
	out := []diagArea{
		{[]string{diagmodel.AreaServer}, []diagQuery{{serverIdentity(), scanServer}, {connectionEncryption(), scanEncryption}}},
		{[]string{diagmodel.AreaConnections}, []diagQuery{{sessionCounts(), scanConnections}}},
		{[]string{diagmodel.AreaSessions}, []diagQuery{{openTransactions(), scanSessions}}},
		{[]string{diagmodel.AreaLocks}, []diagQuery{{blockedRequests(), scanBlocked}}},
		{[]string{diagmodel.AreaCounters}, []diagQuery{{performanceCounters(), scanCounters}}},
		{[]string{diagmodel.AreaSize, diagmodel.AreaFiles}, []diagQuery{{databaseFileSpace(), scanFiles}, {instanceDatabaseSizes(), scanDatabaseSizes}}},
		{[]string{diagmodel.AreaIOStalls}, []diagQuery{{fileStalls(), scanStalls}}},
		{[]string{diagmodel.AreaWaits}, []diagQuery{{waitStats(10), scanWaits}}},
		{[]string{diagmodel.AreaLog}, []diagQuery{{errorLog(prev), func(r rowScanner, f *diagmodel.Facts) error { return scanErrorLog(r, f, prev) }}}},
		{[]string{diagmodel.AreaCheckDB}, []diagQuery{{lastGoodCheckDB(database), scanCheckDB}}},
		{[]string{diagmodel.AreaNativeBackups}, []diagQuery{{backupHistory(database), scanBackupHistory}, {lastBackupTool(database), scanBackupTool}}},
	}
	if level != diagmodel.Monthly {
		return out
	}
	return append(out,
		diagArea{[]string{diagmodel.AreaFragmentation}, []diagQuery{{fragmentation(fragmentationMinPages), scanFragmentation}}},
		diagArea{[]string{diagmodel.AreaRoles}, []diagQuery{{logins(), scanLogins}}},
		diagArea{[]string{diagmodel.AreaTables}, []diagQuery{{tableSizes(), scanTables}}},
		diagArea{[]string{diagmodel.AreaIndexes, diagmodel.AreaIndexUsage}, []diagQuery{{indexColumns(), scanIndexes}}},
		diagArea{[]string{diagmodel.AreaStatements}, []diagQuery{{topStatements(10), scanStatements}}},
	)
}

// notCollected are the common areas SQL Server has no counterpart of in
// this collector, with why: the English and the adapter's catalog key
// (messages/).
var notCollected = []diagmodel.Unavailable{
	{Area: diagmodel.AreaReplication, Key: "mssql.diag.no_replication", Reason: "Always On availability groups and replication are not read by this build's SQL Server collector"},
	{Area: diagmodel.AreaSettings, Key: "mssql.diag.no_settings", Reason: "sys.configurations keeps no defaults to compare with: not read by this build's SQL Server collector"},
	{Area: diagmodel.AreaExtensions, Key: "mssql.diag.no_extensions", Reason: "SQL Server has no extensions"},
	{Area: diagmodel.AreaArchiver, Key: "mssql.diag.no_archiver", Reason: "SQL Server has no WAL archiver: its log backups are read from msdb (native_backups)"},
	{Area: diagmodel.AreaHBA, Key: "mssql.diag.no_hba", Reason: "SQL Server has no pg_hba.conf"},
	{Area: diagmodel.AreaWraparound, Key: "mssql.diag.no_wraparound", Reason: "SQL Server has no transaction-id wraparound"},
}

func ms(f *diagmodel.Facts) *diagmodel.MSSQL {
	if f.MSSQL == nil {
		f.MSSQL = &diagmodel.MSSQL{}
	}
	return f.MSSQL
}

// The statements. None takes a name but the database's, a parameter.

// utc turns a server-local datetime expression into UTC at the server's
// current offset (a time read across a DST change is off by the change).
func utc(expr string) string {
	return "CAST(SWITCHOFFSET(TODATETIMEOFFSET(" + expr + ", DATEPART(TZOFFSET, SYSDATETIMEOFFSET())), '+00:00') AS datetime2(3))"
}

// lockTimeout makes every statement of the connection give up waiting for
// a lock after d (at least 1 ms), so a diagnosis never queues behind the
// blocking it reports. SET takes no variable.
func lockTimeout(d time.Duration) stmt {
	return stmt{sql: fmt.Sprintf("SET LOCK_TIMEOUT %d;", max(d.Milliseconds(), 1))}
}

func serverIdentity() stmt {
	return stmt{sql: "SELECT @@VERSION, CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)),\n" +
		"CAST(SERVERPROPERTY('Edition') AS nvarchar(128)), CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)),\n" +
		utc("i.sqlserver_start_time") + "\nFROM sys.dm_os_sys_info i;"}
}

func connectionEncryption() stmt {
	return stmt{sql: "SELECT encrypt_option, COUNT(*) FROM sys.dm_exec_connections WHERE net_transport <> N'Session' GROUP BY encrypt_option;"}
}

func sessionCounts() stmt {
	return stmt{sql: "SELECT s.status, s.login_name, COALESCE(s.program_name, N''), COUNT(*), @@MAX_CONNECTIONS\n" +
		"FROM sys.dm_exec_sessions s WHERE s.is_user_process = 1\n" +
		"GROUP BY s.status, s.login_name, s.program_name;"}
}

func openTransactions() stmt {
	return stmt{sql: "SELECT s.session_id, s.login_name, COALESCE(s.program_name, N''), s.status,\n" +
		"CASE WHEN r.session_id IS NULL THEN 1 ELSE 0 END,\n" +
		"DATEDIFF(SECOND, a.transaction_begin_time, GETDATE()),\n" +
		"DATEDIFF(SECOND, COALESCE(r.start_time, s.last_request_end_time), GETDATE()),\n" +
		"COALESCE(LEFT(t.text, 200), N'')\n" +
		"FROM sys.dm_tran_session_transactions st\n" +
		"JOIN sys.dm_tran_active_transactions a ON a.transaction_id = st.transaction_id\n" +
		"JOIN sys.dm_exec_sessions s ON s.session_id = st.session_id\n" +
		"LEFT JOIN sys.dm_exec_requests r ON r.session_id = s.session_id\n" +
		"LEFT JOIN sys.dm_exec_connections c ON c.session_id = s.session_id AND c.net_transport <> N'Session'\n" +
		"OUTER APPLY sys.dm_exec_sql_text(COALESCE(r.sql_handle, c.most_recent_sql_handle)) t\n" +
		"WHERE s.session_id <> @@SPID AND st.is_user_transaction = 1\n" +
		"ORDER BY 6 DESC;"}
}

func blockedRequests() stmt {
	return stmt{sql: "SELECT r.session_id, s.login_name, CAST(r.wait_time AS float) / 1000, COALESCE(LEFT(t.text, 200), N''),\n" +
		"r.blocking_session_id, COALESCE(b.login_name, N''), COALESCE(r.wait_resource, N'')\n" +
		"FROM sys.dm_exec_requests r\n" +
		"JOIN sys.dm_exec_sessions s ON s.session_id = r.session_id\n" +
		"LEFT JOIN sys.dm_exec_sessions b ON b.session_id = r.blocking_session_id\n" +
		"OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) t\n" +
		"WHERE r.blocking_session_id > 0\n" +
		"ORDER BY r.wait_time DESC;"}
}

// performanceCounters reads the Buffer Manager's and the deadlock and
// batch counters. object_name is nchar, padded: LIKE needs it trimmed.
func performanceCounters() stmt {
	return stmt{sql: "SELECT RTRIM(counter_name), cntr_value FROM sys.dm_os_performance_counters\n" +
		"WHERE (RTRIM(object_name) LIKE N'%:Buffer Manager' AND counter_name IN (N'Page life expectancy',\n" +
		"N'Buffer cache hit ratio', N'Buffer cache hit ratio base', N'Page lookups/sec', N'Page reads/sec'))\n" +
		"OR (RTRIM(object_name) LIKE N'%:SQL Statistics' AND counter_name = N'Batch Requests/sec')\n" +
		"OR (RTRIM(object_name) LIKE N'%:Locks' AND counter_name = N'Number of Deadlocks/sec' AND instance_name = N'_Total');"}
}

func databaseFileSpace() stmt {
	return stmt{sql: "SELECT f.name, f.type_desc, f.physical_name, CAST(f.size AS bigint) * 8192,\n" +
		"CAST(FILEPROPERTY(f.name, 'SpaceUsed') AS bigint) * 8192,\n" +
		"CASE WHEN f.max_size = -1 THEN CAST(-1 AS bigint) ELSE CAST(f.max_size AS bigint) * 8192 END,\n" +
		"CASE WHEN f.growth = 0 THEN N'' WHEN f.is_percent_growth = 1 THEN CAST(f.growth AS nvarchar(20)) + N'%'\n" +
		"ELSE CAST(CAST(f.growth AS bigint) * 8192 / 1048576 AS nvarchar(20)) + N'MB' END\n" +
		"FROM sys.database_files f ORDER BY f.file_id;"}
}

// instanceDatabaseSizes are the sizes of the instance's databases, which
// share its host: a login sees the rows of the databases it may see
// (VIEW ANY DEFINITION shows all).
func instanceDatabaseSizes() stmt {
	return stmt{sql: "SELECT DB_NAME(database_id),\n" +
		"SUM(CASE WHEN type_desc = N'LOG' THEN 0 ELSE CAST(size AS bigint) END) * 8192,\n" +
		"SUM(CASE WHEN type_desc = N'LOG' THEN CAST(size AS bigint) ELSE 0 END) * 8192\n" +
		"FROM sys.master_files GROUP BY database_id ORDER BY 2 DESC;"}
}

func fileStalls() stmt {
	return stmt{sql: "SELECT f.name, f.type_desc, v.num_of_reads, v.num_of_writes, v.io_stall_read_ms, v.io_stall_write_ms\n" +
		"FROM sys.dm_io_virtual_file_stats(DB_ID(), NULL) v JOIN sys.database_files f ON f.file_id = v.file_id\n" +
		"ORDER BY f.file_id;"}
}

// benignWaits are the wait types that say nothing about a workload (idle
// threads, background tasks waiting for work), after the lists Microsoft
// and SQLskills publish.
var benignWaits = []string{
	"BROKER_EVENTHANDLER", "BROKER_RECEIVE_WAITFOR", "BROKER_TASK_STOP", "BROKER_TO_FLUSH", "BROKER_TRANSMITTER",
	"CHECKPOINT_QUEUE", "CHKPT", "CLR_AUTO_EVENT", "CLR_MANUAL_EVENT", "CLR_SEMAPHORE",
	"DBMIRROR_DBM_EVENT", "DBMIRROR_EVENTS_QUEUE", "DBMIRROR_WORKER_QUEUE", "DBMIRRORING_CMD",
	"DIRTY_PAGE_POLL", "DISPATCHER_QUEUE_SEMAPHORE", "EXECSYNC", "FSAGENT", "FT_IFTS_SCHEDULER_IDLE_WAIT", "FT_IFTSHC_MUTEX",
	"HADR_CLUSAPI_CALL", "HADR_FILESTREAM_IOMGR_IOCOMPLETION", "HADR_LOGCAPTURE_WAIT", "HADR_NOTIFICATION_DEQUEUE",
	"HADR_TIMER_TASK", "HADR_WORK_QUEUE", "KSOURCE_WAKEUP", "LAZYWRITER_SLEEP", "LOGMGR_QUEUE",
	"MEMORY_ALLOCATION_EXT", "ONDEMAND_TASK_QUEUE", "PARALLEL_REDO_DRAIN_WORKER", "PARALLEL_REDO_LOG_CACHE",
	"PARALLEL_REDO_TRAN_LIST", "PARALLEL_REDO_WORKER_SYNC", "PARALLEL_REDO_WORKER_WAIT_WORK",
	"PREEMPTIVE_OS_FLUSHFILEBUFFERS", "PREEMPTIVE_XE_GETTARGETSTATE", "PVS_PREALLOCATE", "PWAIT_ALL_COMPONENTS_INITIALIZED",
	"PWAIT_DIRECTLOGCONSUMER_GETNEXT", "PWAIT_EXTENSIBILITY_CLEANUP_TASK", "QDS_PERSIST_TASK_MAIN_LOOP_SLEEP",
	"QDS_ASYNC_QUEUE", "QDS_CLEANUP_STALE_QUERIES_TASK_MAIN_LOOP_SLEEP", "QDS_SHUTDOWN_QUEUE", "REDO_THREAD_PENDING_WORK",
	"REQUEST_FOR_DEADLOCK_SEARCH", "RESOURCE_QUEUE", "SERVER_IDLE_CHECK", "SLEEP_BPOOL_FLUSH", "SLEEP_DBSTARTUP",
	"SLEEP_DCOMSTARTUP", "SLEEP_MASTERDBREADY", "SLEEP_MASTERMDREADY", "SLEEP_MASTERUPGRADED", "SLEEP_MSDBSTARTUP",
	"SLEEP_SYSTEMTASK", "SLEEP_TASK", "SLEEP_TEMPDBSTARTUP", "SNI_HTTP_ACCEPT", "SOS_WORK_DISPATCHER",
	"SP_SERVER_DIAGNOSTICS_SLEEP", "SQLTRACE_BUFFER_FLUSH", "SQLTRACE_INCREMENTAL_FLUSH_SLEEP", "SQLTRACE_WAIT_ENTRIES",
	"UCS_SESSION_REGISTRATION", "VDI_CLIENT_OTHER", "WAIT_FOR_RESULTS", "WAITFOR", "WAITFOR_TASKSHUTDOWN",
	"WAIT_XTP_RECOVERY", "WAIT_XTP_HOST_WAIT", "WAIT_XTP_OFFLINE_CKPT_NEW_LOG", "WAIT_XTP_CKPT_CLOSE",
	"XE_DISPATCHER_JOIN", "XE_DISPATCHER_WAIT", "XE_LIVE_TARGET_TVF", "XE_TIMER_EVENT",
}

// waitStats are the top n waits since the server started, the benign
// ones left out (constants of this file, written as literals).
func waitStats(n int) stmt {
	lits := make([]string, len(benignWaits))
	for i, w := range benignWaits {
		lits[i] = literal(w)
	}
	var lines []string
	for i := 0; i < len(lits); i += 6 {
		lines = append(lines, strings.Join(lits[i:min(i+6, len(lits))], ", "))
	}
	return stmt{sql: fmt.Sprintf("SELECT TOP (%d) wait_type, wait_time_ms, signal_wait_time_ms, waiting_tasks_count\n"+
		"FROM sys.dm_os_wait_stats WHERE waiting_tasks_count > 0 AND wait_type NOT IN (\n%s)\n"+
		"ORDER BY wait_time_ms DESC;", n, strings.Join(lines, ",\n"))}
}

// errorLog reads the current error log (xp_readerrorlog 0, 1) from where
// the previous run stopped (the time of its last entry), or its last day.
// The procedure fails for a login without securityadmin; TRY/CATCH turns
// that into one row (ok = 0) carrying the message instead of an error
// that would end the batch. The entries' times are the server's local
// clock, and so is the offset kept in Log.Offset: only ever compared with
// the server's own.
func errorLog(prev *diagmodel.Log) stmt {
	since := ""
	if prev != nil && prev.File == errorLogFile && prev.Offset > 0 {
		since = time.UnixMilli(prev.Offset).UTC().Format("2006-01-02T15:04:05.000")
	}
	return stmt{
		sql: "SET NOCOUNT ON;\n" +
			"DECLARE @log TABLE (LogDate datetime, ProcessInfo nvarchar(100), Text nvarchar(max));\n" +
			"BEGIN TRY\n" +
			"\tINSERT INTO @log EXEC master.dbo.xp_readerrorlog 0, 1;\n" +
			"END TRY\n" +
			"BEGIN CATCH\n" +
			"\tSELECT CAST(0 AS bit), CAST(NULL AS datetime2(3)), N'', ERROR_MESSAGE();\n" +
			"\tRETURN;\n" +
			"END CATCH;\n" +
			"SELECT TOP (@max_rows) CAST(1 AS bit), CAST(LogDate AS datetime2(3)), ProcessInfo, LEFT(Text, 600) FROM @log\n" +
			"WHERE CAST(LogDate AS datetime2(3)) > COALESCE(CONVERT(datetime2(3), NULLIF(@since, N''), 126), DATEADD(DAY, -1, CAST(GETDATE() AS datetime2(3))))\n" +
			"ORDER BY LogDate;",
		args: []sql.NamedArg{sql.Named("since", since), sql.Named("max_rows", errorLogMaxRows)},
	}
}

func lastGoodCheckDB(database string) stmt {
	return stmt{
		sql: "SELECT CAST(DATABASEPROPERTYEX(@database, 'LastGoodCheckDbTime') AS datetime2(3)),\n" +
			utc("CAST(DATABASEPROPERTYEX(@database, 'LastGoodCheckDbTime') AS datetime2(3))") + ";",
		args: []sql.NamedArg{sql.Named("database", database)},
	}
}

// backupHistory is msdb's newest backup of each kind of the database and
// how many finished since the server's midnight, whoever took them, with
// the database's recovery model (one row without backups).
func backupHistory(database string) stmt {
	return stmt{
		sql: "SELECT d.recovery_model_desc, COALESCE(b.type, ''), MAX(" + utc("b.backup_finish_date") + "),\n" +
			"SUM(CASE WHEN b.backup_finish_date >= CAST(CAST(GETDATE() AS date) AS datetime) THEN 1 ELSE 0 END)\n" +
			"FROM sys.databases d\n" +
			"LEFT JOIN msdb.dbo.backupset b ON b.database_name = d.name AND b.type IN ('D', 'I', 'L')\n" +
			"WHERE d.name = @database\n" +
			"GROUP BY d.recovery_model_desc, b.type;",
		args: []sql.NamedArg{sql.Named("database", database)},
	}
}

func lastBackupTool(database string) stmt {
	return stmt{
		sql: "SELECT TOP (1) COALESCE(m.software_name, N''), COALESCE(b.user_name, N'')\n" +
			"FROM msdb.dbo.backupset b LEFT JOIN msdb.dbo.backupmediaset m ON m.media_set_id = b.media_set_id\n" +
			"WHERE b.database_name = @database\n" +
			"ORDER BY b.backup_finish_date DESC;",
		args: []sql.NamedArg{sql.Named("database", database)},
	}
}

// fragmentation reads the indexes of at least minPages pages in LIMITED
// mode, which reads the level above the leaves only: about one page in
// several hundred. The gate filters rows, not the reading.
func fragmentation(minPages int) stmt {
	return stmt{
		sql: "SELECT s.name, o.name, COALESCE(i.name, N''), p.avg_fragmentation_in_percent, p.page_count,\n" +
			"p.index_type_desc, p.partition_number\n" +
			"FROM sys.dm_db_index_physical_stats(DB_ID(), NULL, NULL, NULL, 'LIMITED') p\n" +
			"JOIN sys.indexes i ON i.object_id = p.object_id AND i.index_id = p.index_id\n" +
			"JOIN sys.objects o ON o.object_id = p.object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"WHERE p.index_id > 0 AND p.alloc_unit_type_desc = N'IN_ROW_DATA' AND o.is_ms_shipped = 0 AND p.page_count >= @min_pages\n" +
			"ORDER BY p.page_count DESC;",
		args: []sql.NamedArg{sql.Named("min_pages", minPages)},
	}
}

// logins reads the server's logins: sysadmin membership, and for SQL
// logins whether the password is blank or the login's name, which
// PWDCOMPARE answers on the server: the hash is never selected. Without
// CONTROL SERVER (2022: VIEW ANY CRYPTOGRAPHICALLY SECURED DEFINITION)
// password_hash reads NULL: "unknown".
func logins() stmt {
	return stmt{sql: "SELECT p.name, p.type, p.is_disabled,\n" +
		"CASE WHEN EXISTS (SELECT 1 FROM sys.server_role_members m JOIN sys.server_principals r ON r.principal_id = m.role_principal_id\n" +
		"\tWHERE r.name = N'sysadmin' AND m.member_principal_id = p.principal_id) THEN 1 ELSE 0 END,\n" +
		"CASE WHEN p.type <> 'S' THEN N'external'\n" +
		"\tWHEN l.password_hash IS NULL THEN N'unknown'\n" +
		"\tWHEN PWDCOMPARE(N'', l.password_hash) = 1 THEN N'none'\n" +
		"\tWHEN PWDCOMPARE(p.name, l.password_hash) = 1 THEN N'same-as-name'\n" +
		"\tELSE N'sql' END,\n" +
		"COALESCE(l.is_policy_checked, 1)\n" +
		"FROM sys.server_principals p LEFT JOIN sys.sql_logins l ON l.principal_id = p.principal_id\n" +
		"WHERE p.type IN ('S', 'U', 'G', 'E', 'X') AND p.name NOT LIKE N'##%'\n" +
		"ORDER BY p.name;"}
}

// tableSizes reads every user table's rows and space from
// sys.dm_db_partition_stats: the heap or clustered index is the data, the
// rest its indexes.
func tableSizes() stmt {
	return stmt{sql: "SELECT s.name, o.name,\n" +
		"SUM(p.reserved_page_count) * CAST(8192 AS bigint),\n" +
		"SUM(CASE WHEN p.index_id IN (0, 1) THEN p.reserved_page_count ELSE 0 END) * CAST(8192 AS bigint),\n" +
		"SUM(CASE WHEN p.index_id IN (0, 1) THEN p.row_count ELSE 0 END)\n" +
		"FROM sys.dm_db_partition_stats p\n" +
		"JOIN sys.objects o ON o.object_id = p.object_id\n" +
		"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
		"WHERE o.type = 'U' AND o.is_ms_shipped = 0\n" +
		"GROUP BY s.name, o.name\n" +
		"ORDER BY 3 DESC;"}
}

// indexColumns reads every index of the user tables, one row per key
// column, with its size and its use since the server started
// (sys.dm_db_index_usage_stats: no row is no use).
func indexColumns() stmt {
	return stmt{sql: "SELECT s.name, o.name, i.name, COALESCE(c.name, N''), i.is_unique, i.is_primary_key, i.is_disabled,\n" +
		"COALESCE((SELECT SUM(p.used_page_count) FROM sys.dm_db_partition_stats p WHERE p.object_id = i.object_id AND p.index_id = i.index_id), 0) * CAST(8192 AS bigint),\n" +
		"COALESCE(u.user_seeks + u.user_scans + u.user_lookups, 0)\n" +
		"FROM sys.indexes i\n" +
		"JOIN sys.objects o ON o.object_id = i.object_id\n" +
		"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
		"LEFT JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.is_included_column = 0\n" +
		"LEFT JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id\n" +
		"LEFT JOIN sys.dm_db_index_usage_stats u ON u.database_id = DB_ID() AND u.object_id = i.object_id AND u.index_id = i.index_id\n" +
		"WHERE o.type = 'U' AND o.is_ms_shipped = 0 AND i.index_id > 0 AND i.is_hypothetical = 0\n" +
		"ORDER BY s.name, o.name, i.name, ic.key_ordinal;"}
}

// topStatementsScanned is how many of the server's most expensive cached
// statements are looked at for the database's top ones: the plan's dbid
// attribute names the database (sys.dm_exec_sql_text's dbid is NULL for
// ad hoc and prepared statements), and reading it for every plan of a
// large cache would outlast the statement timeout.
const topStatementsScanned = 500

// topStatements are the database's n statements (each statement of a
// batch on its own) with the most elapsed time among the server's most
// expensive cached plans.
func topStatements(n int) stmt {
	return stmt{sql: fmt.Sprintf("SELECT TOP (%d) COALESCE(LEFT(SUBSTRING(t.text, q.statement_start_offset / 2 + 1,\n"+
		"\t(CASE q.statement_end_offset WHEN -1 THEN DATALENGTH(t.text) ELSE q.statement_end_offset END - q.statement_start_offset) / 2 + 1), 200), N''),\n"+
		"q.execution_count, CAST(q.total_elapsed_time AS float) / 1000\n"+
		"FROM (SELECT TOP (%d) sql_handle, plan_handle, statement_start_offset, statement_end_offset, execution_count, total_elapsed_time\n"+
		"\tFROM sys.dm_exec_query_stats ORDER BY total_elapsed_time DESC) q\n"+
		"CROSS APPLY sys.dm_exec_sql_text(q.sql_handle) t\n"+
		"CROSS APPLY sys.dm_exec_plan_attributes(q.plan_handle) a\n"+
		"WHERE a.attribute = N'dbid' AND CAST(a.value AS int) = DB_ID()\n"+
		"ORDER BY q.total_elapsed_time DESC;", n, topStatementsScanned)}
}

// The mappings of rows to facts.

func scanTables(r rowScanner, f *diagmodel.Facts) error {
	f.Tables = []diagmodel.Table{}
	for r.Next() {
		var t diagmodel.Table
		if err := r.Scan(&t.Schema, &t.Name, &t.Bytes, &t.DataBytes, &t.Rows); err != nil {
			return err
		}
		f.Tables = append(f.Tables, t)
	}
	return nil
}

func scanIndexes(r rowScanner, f *diagmodel.Facts) error {
	f.Indexes = []diagmodel.Index{}
	for r.Next() {
		var x diagmodel.Index
		var col string
		var scans int64
		if err := r.Scan(&x.Schema, &x.Table, &x.Name, &col, &x.Unique, &x.Primary, &x.Invalid, &x.Bytes, &scans); err != nil {
			return err
		}
		if n := len(f.Indexes); n > 0 {
			last := &f.Indexes[n-1]
			if last.Schema == x.Schema && last.Table == x.Table && last.Name == x.Name {
				if col != "" {
					last.Columns = append(last.Columns, col)
				}
				continue
			}
		}
		if col != "" {
			x.Columns = []string{col}
		}
		x.Scans = &scans
		f.Indexes = append(f.Indexes, x)
	}
	return nil
}

func scanStatements(r rowScanner, f *diagmodel.Facts) error {
	f.Statements = []diagmodel.Statement{}
	for r.Next() {
		var s diagmodel.Statement
		if err := r.Scan(&s.Query, &s.Calls, &s.TotalMS); err != nil {
			return err
		}
		f.Statements = append(f.Statements, s)
	}
	return nil
}

func scanServer(r rowScanner, f *diagmodel.Facts) error {
	for r.Next() {
		m := ms(f)
		s := &diagmodel.Server{}
		if err := r.Scan(&m.VersionText, &s.Version, &m.Edition, &m.ProductLevel, &s.StartedAt); err != nil {
			return err
		}
		s.StartedAt = s.StartedAt.UTC()
		if f.Server != nil {
			s.SSL = f.Server.SSL
		}
		f.Server = s
	}
	return nil
}

// scanEncryption counts the connections by encryption. The server offers
// TLS, for the ssl-off check, when any connection uses it: SQL Server
// encrypts every login but leaves a session plain unless the client or
// Force Encryption asks.
func scanEncryption(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	for r.Next() {
		var opt string
		var n int
		if err := r.Scan(&opt, &n); err != nil {
			return err
		}
		if strings.EqualFold(opt, "TRUE") {
			m.EncryptedConnections += n
		} else {
			m.PlainConnections += n
		}
	}
	on := m.EncryptedConnections > 0
	if f.Server == nil {
		f.Server = &diagmodel.Server{}
	}
	f.Server.SSL = &on
	return nil
}

func scanConnections(r rowScanner, f *diagmodel.Facts) error {
	c := &diagmodel.Connections{ByState: map[string]int{}, ByUser: map[string]int{}, ByApp: map[string]int{}}
	for r.Next() {
		var status, login, app string
		var n int
		if err := r.Scan(&status, &login, &app, &n, &c.Max); err != nil {
			return err
		}
		c.Total += n
		c.ByState[status] += n
		c.ByUser[login] += n
		c.ByApp[app] += n
	}
	f.Connections = c
	return nil
}

func scanSessions(r rowScanner, f *diagmodel.Facts) error {
	f.Sessions = []diagmodel.Session{}
	for r.Next() {
		var s diagmodel.Session
		var idle bool
		var xact, state int64
		if err := r.Scan(&s.PID, &s.User, &s.App, &s.State, &idle, &xact, &state, &s.Query); err != nil {
			return err
		}
		s.XactSeconds, s.StateSeconds = float64(xact), float64(state)
		s.IdleInTransaction = idle
		if idle {
			s.State = "idle in transaction"
		}
		f.Sessions = append(f.Sessions, s)
	}
	return nil
}

func scanBlocked(r rowScanner, f *diagmodel.Facts) error {
	f.Blocked = []diagmodel.Blocked{}
	for r.Next() {
		var b diagmodel.Blocked
		var resource string
		if err := r.Scan(&b.PID, &b.User, &b.WaitSeconds, &b.Query, &b.BlockerPID, &b.BlockerUser, &resource); err != nil {
			return err
		}
		f.Blocked = append(f.Blocked, b)
	}
	return nil
}

// scanCounters maps the Buffer Manager's cumulative page lookups (logical
// reads) and page reads (physical reads) onto the model's hits and reads,
// so cache-hit-ratio measures the interval between two runs like on the
// other engines; the current hit ratio and page life expectancy are kept
// as they are.
func scanCounters(r rowScanner, f *diagmodel.Facts) error {
	vals := map[string]int64{}
	for r.Next() {
		var name string
		var v int64
		if err := r.Scan(&name, &v); err != nil {
			return err
		}
		vals[name] = v
	}
	c := map[string]int64{}
	if v, ok := vals["Number of Deadlocks/sec"]; ok {
		c[diagmodel.CounterDeadlocks] = v
	}
	if v, ok := vals["Batch Requests/sec"]; ok {
		c[diagmodel.CounterBatchRequests] = v
	}
	lookups, okL := vals["Page lookups/sec"]
	reads, okR := vals["Page reads/sec"]
	if okL && okR {
		c[diagmodel.CounterBlocksRead] = reads
		c[diagmodel.CounterBlocksHit] = max(lookups-reads, 0)
	}
	m := ms(f)
	if v, ok := vals["Page life expectancy"]; ok {
		m.PageLifeExpectancy = &v
	}
	if base := vals["Buffer cache hit ratio base"]; base > 0 {
		pct := 100 * float64(vals["Buffer cache hit ratio"]) / float64(base)
		m.BufferCacheHitPct = &pct
	}
	f.Counters = c
	return nil
}

func scanFiles(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	m.Files = nil
	var total int64
	for r.Next() {
		var x diagmodel.File
		var used sql.NullInt64
		if err := r.Scan(&x.Name, &x.Type, &x.Physical, &x.Bytes, &used, &x.MaxBytes, &x.Growth); err != nil {
			return err
		}
		if used.Valid {
			x.UsedBytes = &used.Int64
		}
		total += x.Bytes
		m.Files = append(m.Files, x)
	}
	f.DatabaseBytes = &total
	return nil
}

func scanDatabaseSizes(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	m.Databases = []diagmodel.DatabaseSize{}
	for r.Next() {
		var x diagmodel.DatabaseSize
		var name sql.NullString
		if err := r.Scan(&name, &x.DataBytes, &x.LogBytes); err != nil {
			return err
		}
		x.Name = name.String
		m.Databases = append(m.Databases, x)
	}
	return nil
}

// scanStalls adds each file's I/O to the file the files area read (or a
// file of its own when that area failed).
func scanStalls(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	for r.Next() {
		var name, typ string
		var reads, writes, rstall, wstall int64
		if err := r.Scan(&name, &typ, &reads, &writes, &rstall, &wstall); err != nil {
			return err
		}
		i := -1
		for k := range m.Files {
			if m.Files[k].Name == name {
				i = k
			}
		}
		if i < 0 {
			m.Files = append(m.Files, diagmodel.File{Name: name, Type: typ})
			i = len(m.Files) - 1
		}
		x := &m.Files[i]
		x.Reads, x.Writes, x.ReadStallMS, x.WriteStallMS = reads, writes, rstall, wstall
	}
	return nil
}

func scanWaits(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	m.Waits = []diagmodel.Wait{}
	for r.Next() {
		var w diagmodel.Wait
		if err := r.Scan(&w.Type, &w.WaitMS, &w.SignalMS, &w.WaitingTasks); err != nil {
			return err
		}
		m.Waits = append(m.Waits, w)
	}
	return nil
}

// errorLine is the first line of an error in the error log; the message
// follows on the next entry of the same process.
var errorLine = regexp.MustCompile(`^Error: (\d+), Severity: (\d+), State: \d+\.?`)

// logSeverity is the model's severity of an error of SQL Server's
// severity sev: 20 and above end the connection or worse (FATAL), 17 to 19
// are resource and software errors (ERROR), below are the user's
// (WARNING: failed logins, permission errors, failed backups counted on
// their own).
func logSeverity(sev int) string {
	switch {
	case sev >= 20:
		return "FATAL"
	case sev >= 17:
		return "ERROR"
	}
	return "WARNING"
}

// backupFailed is the error log's entry for a backup that failed (error
// 3041), whoever ran it.
const backupFailed = "BACKUP failed to complete the command "

// scanErrorLog counts the new entries by severity, keeps a few of each
// and the failed backups of the database; prev is the previous run's
// position, kept when nothing new was logged.
func scanErrorLog(r rowScanner, f *diagmodel.Facts, prev *diagmodel.Log) error {
	type entry struct {
		at        time.Time
		proc, txt string
	}
	var entries []entry
	for r.Next() {
		var ok bool
		var at sql.NullTime
		var e entry
		if err := r.Scan(&ok, &at, &e.proc, &e.txt); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("xp_readerrorlog: %s", e.txt)
		}
		e.at = at.Time
		entries = append(entries, e)
	}
	l := &diagmodel.Log{File: errorLogFile, Counts: map[string]int{}}
	if prev != nil && prev.File == errorLogFile {
		l.Offset = prev.Offset
	}
	for i, e := range entries {
		wall := time.Date(e.at.Year(), e.at.Month(), e.at.Day(), e.at.Hour(), e.at.Minute(), e.at.Second(), e.at.Nanosecond(), time.UTC)
		l.Offset = max(l.Offset, wall.UnixMilli())
		if strings.Contains(e.txt, backupFailed) {
			rest := e.txt[strings.Index(e.txt, backupFailed)+len(backupFailed):]
			if strings.HasPrefix(rest, "BACKUP DATABASE "+f.Database+".") || strings.HasPrefix(rest, "BACKUP LOG "+f.Database+".") ||
				strings.HasPrefix(rest, "BACKUP DATABASE "+f.Database+" ") || strings.HasPrefix(rest, "BACKUP LOG "+f.Database+" ") {
				m := ms(f)
				m.BackupFailures = append(m.BackupFailures, diagmodel.LogEntry{Severity: "ERROR", Text: diagmodel.SampleText(e.txt)})
			}
		}
		var sev string
		text := e.txt
		if m := errorLine.FindStringSubmatch(e.txt); m != nil {
			n, _ := strconv.Atoi(m[2])
			sev = logSeverity(n)
			if i+1 < len(entries) && entries[i+1].proc == e.proc && !errorLine.MatchString(entries[i+1].txt) {
				text += " " + entries[i+1].txt
			}
		} else if strings.Contains(e.txt, "SqlDumpExceptionHandler") || strings.Contains(e.txt, "***Stack Dump") {
			sev = "FATAL"
		}
		if sev == "" {
			continue
		}
		l.Add(sev, e.proc+" "+text)
	}
	f.Log = l
	return nil
}

// checkDBNever is what DATABASEPROPERTYEX answers for a database DBCC
// CHECKDB never completed on.
var checkDBNever = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func scanCheckDB(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	found := false
	for r.Next() {
		var local, at sql.NullTime
		if err := r.Scan(&local, &at); err != nil {
			return err
		}
		if !local.Valid {
			return fmt.Errorf("DATABASEPROPERTYEX(%s, 'LastGoodCheckDbTime') is NULL: the server predates SQL Server 2016 SP2, or the database is not readable", f.Database)
		}
		found = true
		if !local.Time.Equal(checkDBNever) {
			m.LastGoodCheckDB = at.Time.UTC()
		}
	}
	if !found {
		return fmt.Errorf("no answer for LastGoodCheckDbTime of %s", f.Database)
	}
	return nil
}

func scanBackupHistory(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	b := &diagmodel.NativeBackups{}
	for r.Next() {
		var model, typ string
		var last sql.NullTime
		var today sql.NullInt64
		if err := r.Scan(&model, &typ, &last, &today); err != nil {
			return err
		}
		m.RecoveryModel = model
		n := int(today.Int64)
		t := last.Time.UTC()
		switch typ {
		case "D":
			b.LastFull, b.FullToday = t, n
		case "I":
			b.LastDiff, b.DiffToday = t, n
		case "L":
			b.LastLog, b.LogToday = t, n
		}
	}
	if m.RecoveryModel == "" {
		return fmt.Errorf("database %s is not in sys.databases", f.Database)
	}
	m.Backups = b
	return nil
}

func scanBackupTool(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	for r.Next() {
		var tool, user string
		if err := r.Scan(&tool, &user); err != nil {
			return err
		}
		if m.Backups == nil {
			m.Backups = &diagmodel.NativeBackups{}
		}
		m.Backups.LastTool, m.Backups.LastUser = tool, user
	}
	return nil
}

func scanFragmentation(r rowScanner, f *diagmodel.Facts) error {
	m := ms(f)
	m.Fragmented = []diagmodel.Fragmented{}
	for r.Next() {
		var x diagmodel.Fragmented
		if err := r.Scan(&x.Schema, &x.Table, &x.Index, &x.Pct, &x.Pages, &x.Kind, &x.Partition); err != nil {
			return err
		}
		m.Fragmented = append(m.Fragmented, x)
	}
	return nil
}

func scanLogins(r rowScanner, f *diagmodel.Facts) error {
	f.Roles = []diagmodel.Role{}
	m := ms(f)
	m.PolicyOff = nil
	for r.Next() {
		var x diagmodel.Role
		var typ string
		var disabled, sysadmin, policy bool
		if err := r.Scan(&x.Name, &typ, &disabled, &sysadmin, &x.Password, &policy); err != nil {
			return err
		}
		x.CanLogin, x.Superuser = !disabled, sysadmin
		if strings.TrimSpace(typ) == "S" && !policy && !disabled {
			m.PolicyOff = append(m.PolicyOff, x.Name)
		}
		f.Roles = append(f.Roles, x)
	}
	return nil
}
