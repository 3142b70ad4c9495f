// Package diagmodel is the neutral, versioned model of the facts a
// diagnostics run collects from one database: what the engines' collectors
// (engines/postgres/diagnostics.go, engines/mysql/diagnostics.go) fill and
// what diagnostics/ analyses into findings. It sits under engines/ so that
// the adapters can fill it without importing diagnostics/ (which sits above
// them); it imports nothing of dbopsd.
//
// # Versions
//
// Facts carry the model's Version. A field that is absent was not
// collected: Areas lists what was, Unavailable says why the rest was not.
// Fields are only ever added, never renamed or given a new meaning, so a
// newer reader reads every older snapshot (a new area is simply absent from
// old ones and its checks say "not checked"). Version rises by one with
// each release that adds fields or areas, so that an older build refuses a
// newer snapshot with a reason rather than half-reading it; a reader of
// version N reads every snapshot of version N or lower.
//
// Version 2 added the areas io, wal, control and storage, the counters
// checkpoints_timed, checkpoints_req and binlog_bytes, and Table.Writes
// and Table.Reads.
package diagmodel

import (
	"time"
	"unicode/utf8"
)

// Version is the model version this build writes.
const Version = 2

// Levels of a run.
const (
	Daily   = "daily"
	Monthly = "monthly"
)

// Areas: the groups of facts a collector gathers with one query or a few.
// A check needs one area; when the area is missing the check is "not
// checked" with the reason from Unavailable.
const (
	AreaServer      = "server"      // Server
	AreaConnections = "connections" // Connections
	AreaSessions    = "sessions"    // Sessions (open transactions)
	AreaLocks       = "locks"       // Blocked
	AreaCounters    = "counters"    // Counters
	AreaSize        = "size"        // DatabaseBytes
	AreaLog         = "log"         // Log
	AreaArchiver    = "archiver"    // Archiver
	AreaReplication = "replication" // Replicas
	AreaTables      = "tables"      // Tables
	AreaIndexes     = "indexes"     // Indexes
	AreaIndexUsage  = "index_usage" // Index.Scans
	AreaRoles       = "roles"       // Roles
	AreaHBA         = "hba"         // HBA
	AreaSettings    = "settings"    // Settings
	AreaExtensions  = "extensions"  // Extensions
	AreaWraparound  = "wraparound"  // Wraparound
	AreaStatements  = "statements"  // Statements
	AreaBackups     = "backups"     // Backups (filled from dbopsd's catalog, not by an engine)
	AreaVolume      = "volume"      // Volume (statfs or the policy's capacity)
	// Since version 2.
	AreaIO      = "io"      // IO
	AreaWAL     = "wal"     // WAL
	AreaControl = "control" // Control
	AreaStorage = "storage" // Storage
)

// Facts are what one run collected from one database.
type Facts struct {
	Version     int       `json:"version"`
	Engine      string    `json:"engine"`
	Database    string    `json:"database"`
	Level       string    `json:"level"`
	CollectedAt time.Time `json:"collected_at"`
	// Areas lists the areas collected, sorted.
	Areas []string `json:"areas"`
	// Unavailable says why an area was not collected.
	Unavailable []Unavailable `json:"unavailable,omitempty"`
	// Queries is how many statements the collector sent.
	Queries int `json:"queries,omitempty"`
	// DurationMS is how long the collection took.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Unreachable is why the server could not be reached; nothing else
	// was collected.
	Unreachable string `json:"unreachable,omitempty"`

	Server        *Server          `json:"server,omitempty"`
	Connections   *Connections     `json:"connections,omitempty"`
	Sessions      []Session        `json:"sessions,omitempty"`
	Blocked       []Blocked        `json:"blocked,omitempty"`
	Counters      map[string]int64 `json:"counters,omitempty"`
	DatabaseBytes *int64           `json:"database_bytes,omitempty"`
	Log           *Log             `json:"log,omitempty"`
	Archiver      *Archiver        `json:"archiver,omitempty"`
	Replicas      []Replica        `json:"replicas,omitempty"`
	Tables        []Table          `json:"tables,omitempty"`
	Indexes       []Index          `json:"indexes,omitempty"`
	Roles         []Role           `json:"roles,omitempty"`
	HBA           []HBARule        `json:"hba,omitempty"`
	Settings      []Setting        `json:"settings,omitempty"`
	Extensions    []string         `json:"extensions,omitempty"`
	Wraparound    *Wraparound      `json:"wraparound,omitempty"`
	Statements    []Statement      `json:"statements,omitempty"`
	Backups       *Backups         `json:"backups,omitempty"`
	Volume        *Volume          `json:"volume,omitempty"`
	MSSQL         *MSSQL           `json:"mssql,omitempty"` // SQL Server only: mssql.go
	// Since version 2.
	IO      *IO      `json:"io,omitempty"`
	WAL     *WAL     `json:"wal,omitempty"`
	Control *Control `json:"control,omitempty"`
	Storage *Storage `json:"storage,omitempty"`
}

// Has reports whether area was collected.
func (f *Facts) Has(area string) bool {
	for _, a := range f.Areas {
		if a == area {
			return true
		}
	}
	return false
}

// Why is the reason area was not collected, "" when none was recorded.
func (f *Facts) Why(area string) string {
	for _, u := range f.Unavailable {
		if u.Area == area {
			return u.Reason
		}
	}
	return ""
}

// Unavailable is an area that was not collected and why (the server's
// error, "permission denied for ...", a timeout, an older version).
type Unavailable struct {
	Area   string `json:"area"`
	Reason string `json:"reason"`
	// Key and Params, when set, are the reason as a sentence of the
	// message catalog (the adapter's own), which a report renders in its
	// language; Reason is its English.
	Key    string            `json:"key,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// Server is the server's identity and age.
type Server struct {
	Version   string    `json:"version"`            // as the server says it: "15.4", "10.11.6-MariaDB"
	StartedAt time.Time `json:"started_at"`         // when it was last started
	DataDir   string    `json:"data_dir,omitempty"` // where readable
	SSL       *bool     `json:"ssl,omitempty"`      // whether the server offers TLS
}

// Connections are the server's connections against its maximum.
type Connections struct {
	Max     int            `json:"max"`
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state,omitempty"`
	ByUser  map[string]int `json:"by_user,omitempty"`
	ByApp   map[string]int `json:"by_app,omitempty"`
}

// Session is a session with a transaction open.
type Session struct {
	PID   int64  `json:"pid"`
	User  string `json:"user,omitempty"`
	App   string `json:"app,omitempty"`
	State string `json:"state,omitempty"` // "active", "idle in transaction", ...
	// IdleInTransaction is set when the session holds a transaction open
	// and runs nothing.
	IdleInTransaction bool `json:"idle_in_transaction,omitempty"`
	// XactSeconds is how long the transaction has been open; StateSeconds
	// how long the session has been in State.
	XactSeconds  float64 `json:"xact_seconds"`
	StateSeconds float64 `json:"state_seconds,omitempty"`
	Query        string  `json:"query,omitempty"` // cut to 200 characters
}

// Blocked is a session waiting for a lock another session holds.
type Blocked struct {
	PID         int64   `json:"pid"`
	User        string  `json:"user,omitempty"`
	WaitSeconds float64 `json:"wait_seconds"`
	Query       string  `json:"query,omitempty"`
	BlockerPID  int64   `json:"blocker_pid"`
	BlockerUser string  `json:"blocker_user,omitempty"`
	Object      string  `json:"object,omitempty"` // the table waited for, when known
}

// Counter names (Facts.Counters): cumulative since the server's start or
// the statistics' reset, turned into per-interval deltas by the analysis.
const (
	CounterDeadlocks   = "deadlocks"
	CounterCommits     = "commits"
	CounterRollbacks   = "rollbacks"
	CounterBlocksRead  = "blocks_read"
	CounterBlocksHit   = "blocks_hit"
	CounterTempFiles   = "temp_files"
	CounterTempBytes   = "temp_bytes"
	CounterCheckpoints = "checkpoints"
	CounterArchiveFail = "archive_failed"
	// Since version 2: checkpoints split into timed and requested
	// (PostgreSQL pg_stat_bgwriter up to 16, pg_stat_checkpointer from
	// 17), and MariaDB's Binlog_bytes_written.
	CounterCheckpointsTimed = "checkpoints_timed"
	CounterCheckpointsReq   = "checkpoints_req"
	CounterBinlogBytes      = "binlog_bytes"
)

// Log is what the server log said since the last run.
type Log struct {
	// File and Offset are where reading stopped: the next run starts there.
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	// Counts are the new entries by severity ("ERROR", "FATAL", "PANIC",
	// "WARNING").
	Counts map[string]int `json:"counts,omitempty"`
	// Samples are the first LogSamples new entries of each severity, cut
	// to LogSampleBytes (Add).
	Samples []LogEntry `json:"samples,omitempty"`
}

// LogEntry is one line of the server log.
type LogEntry struct {
	Severity string `json:"severity"`
	Text     string `json:"text"`
}

// LogSamples is how many entries of each severity a Log keeps as samples;
// LogSampleBytes is how long a sample may be.
const (
	LogSamples     = 5
	LogSampleBytes = 300
)

// Add counts an entry of severity sev and keeps it as a sample while sev
// has fewer than LogSamples, cut to LogSampleBytes on a rune boundary.
// Counts must be non-nil.
func (l *Log) Add(sev, text string) {
	l.Counts[sev]++
	if l.Counts[sev] > LogSamples {
		return
	}
	l.Samples = append(l.Samples, LogEntry{Severity: sev, Text: SampleText(text)})
}

// SampleText is text cut to LogSampleBytes on a character boundary, as
// log samples are kept.
func SampleText(text string) string {
	if n := LogSampleBytes; len(text) > n {
		for n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		text = text[:n]
	}
	return text
}

// Archiver is PostgreSQL's WAL archiving (pg_stat_archiver).
type Archiver struct {
	Enabled        bool      `json:"enabled"`
	Command        string    `json:"command,omitempty"`
	Archived       int64     `json:"archived"`
	Failed         int64     `json:"failed"`
	LastArchivedAt time.Time `json:"last_archived_at,omitzero"`
	LastFailedAt   time.Time `json:"last_failed_at,omitzero"`
	LastFailedWAL  string    `json:"last_failed_wal,omitempty"`
}

// Replica is one replication stream seen from the server.
type Replica struct {
	Name       string  `json:"name"`
	State      string  `json:"state"`
	LagSeconds float64 `json:"lag_seconds"`
	LagBytes   int64   `json:"lag_bytes,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// Table is one table's size and usage.
type Table struct {
	Schema      string    `json:"schema"`
	Name        string    `json:"name"`
	Bytes       int64     `json:"bytes"`      // table with its indexes and TOAST
	DataBytes   int64     `json:"data_bytes"` // the heap alone
	Rows        int64     `json:"rows"`       // estimated live rows
	DeadRows    int64     `json:"dead_rows,omitempty"`
	FreeBytes   int64     `json:"free_bytes,omitempty"` // MariaDB DATA_FREE
	SeqScans    *int64    `json:"seq_scans,omitempty"`
	IdxScans    *int64    `json:"idx_scans,omitempty"`
	LastVacuum  time.Time `json:"last_vacuum,omitzero"`
	LastAnalyze time.Time `json:"last_analyze,omitzero"`
	// BloatBytes is the estimated space beyond what the live rows need.
	BloatBytes int64 `json:"bloat_bytes,omitempty"`
	// Measured is the bloat as measured (bloat.go), for the largest
	// suspects where the engine can measure it; nil: estimate only.
	Measured *BloatMeasure `json:"bloat_measured,omitempty"`
	// Writes are the rows inserted, updated and deleted since the
	// statistics began (PostgreSQL n_tup_ins + n_tup_upd + n_tup_del;
	// MariaDB performance_schema COUNT_WRITE); nil when unknown. Reads are
	// MariaDB's rows read (COUNT_READ), where PostgreSQL has SeqScans and
	// IdxScans. Since version 2.
	Writes *int64 `json:"writes,omitempty"`
	Reads  *int64 `json:"reads,omitempty"`
}

// Index is one index.
type Index struct {
	Schema  string   `json:"schema"`
	Table   string   `json:"table"`
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Bytes   int64    `json:"bytes"`
	Unique  bool     `json:"unique,omitempty"`
	Primary bool     `json:"primary,omitempty"`
	Invalid bool     `json:"invalid,omitempty"`
	// Scans is how often the index was used since the statistics began;
	// nil when unknown.
	Scans *int64 `json:"scans,omitempty"`
}

// Role is a role or user account. Hashes never leave the collector: only
// what kind they are.
type Role struct {
	Name      string `json:"name"`
	Host      string `json:"host,omitempty"` // MariaDB: the account's host part
	CanLogin  bool   `json:"can_login"`
	Superuser bool   `json:"superuser,omitempty"`
	// Password is "none", "md5", "scram-sha-256", "mysql_native_password",
	// "plugin:<name>" (authenticated by a plugin, no password needed).
	Password string `json:"password"`
}

// HBARule is one line of pg_hba.conf.
type HBARule struct {
	Line     int      `json:"line"`
	Type     string   `json:"type"`
	Database []string `json:"database"`
	User     []string `json:"user"`
	Address  string   `json:"address,omitempty"`
	Method   string   `json:"method"`
}

// Setting is a server setting that differs from its built-in default.
type Setting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// Wraparound is PostgreSQL's transaction-id and multixact age.
type Wraparound struct {
	XIDAge      int64 `json:"xid_age"`
	MultiXIDAge int64 `json:"multixid_age"`
}

// Statement is one of the top statements by total time.
type Statement struct {
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"`
}

// Backups is dbopsd's own backup state of the database, from its catalog.
type Backups struct {
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastStatus    string    `json:"last_status,omitempty"`
	LastVerified  time.Time `json:"last_verified,omitzero"`
	VerifyStatus  string    `json:"verify_status,omitempty"`
	MaxAgeSeconds float64   `json:"max_age_seconds,omitempty"` // what the policy allows
	FailedMonth   int       `json:"failed_month,omitempty"`
	OKMonth       int       `json:"ok_month,omitempty"`
	// WindowSeconds is the length of the policy's backup window (0: any
	// time); History the successful backups of the last months, for the
	// backup trends (backups_history.go), filled for monthly runs.
	WindowSeconds float64        `json:"window_seconds,omitempty"`
	History       []BackupSample `json:"history,omitempty"`
}

// Volume is the space of the volume holding the data.
type Volume struct {
	UsedBytes  int64  `json:"used_bytes"`
	TotalBytes int64  `json:"total_bytes"`
	Source     string `json:"source"` // "statfs" or "policy"
}

// IO is where the server reads from disk, cumulative since the statistics
// began (the analysis turns it into deltas between snapshots).
type IO struct {
	// Source is what it was read from: "pg_statio_user_tables" (with
	// "+pg_stat_io" on PostgreSQL 16 and later) or
	// "file_summary_by_instance".
	Source string `json:"source"`
	// BlockSize is the size of the blocks Tables and Backends count.
	BlockSize int64 `json:"block_size,omitempty"`
	// Tables are the tables that read the most blocks (heap and indexes)
	// from outside the buffer cache, at most IOTopTables of them.
	Tables []TableIO `json:"tables,omitempty"`
	// Backends are pg_stat_io's rows with any I/O (PostgreSQL 16+).
	Backends []BackendIO `json:"backends,omitempty"`
	// Files are MariaDB's files by bytes read and written, at most
	// IOTopFiles of them.
	Files []FileIO `json:"files,omitempty"`
}

// IOTopTables and IOTopFiles bound the I/O facts of one snapshot.
const (
	IOTopTables = 200
	IOTopFiles  = 50
)

// TableIO is one table's blocks read from disk and found in the buffer
// cache (pg_statio_user_tables).
type TableIO struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	HeapRead int64  `json:"heap_read"`
	HeapHit  int64  `json:"heap_hit"`
	IdxRead  int64  `json:"idx_read"`
	IdxHit   int64  `json:"idx_hit"`
}

// BackendIO is one row of pg_stat_io: operations (of BlockSize each) by
// backend type, object and context.
type BackendIO struct {
	BackendType string  `json:"backend_type"`
	Object      string  `json:"object"`
	Context     string  `json:"context"`
	Reads       int64   `json:"reads"`
	Writes      int64   `json:"writes"`
	Extends     int64   `json:"extends,omitempty"`
	Fsyncs      int64   `json:"fsyncs,omitempty"`
	ReadMS      float64 `json:"read_ms,omitempty"`  // with track_io_timing on
	WriteMS     float64 `json:"write_ms,omitempty"` // with track_io_timing on
}

// FileIO is one file's I/O (MariaDB performance_schema
// file_summary_by_instance).
type FileIO struct {
	File       string  `json:"file"`
	ReadBytes  int64   `json:"read_bytes"`
	WriteBytes int64   `json:"write_bytes"`
	WaitMS     float64 `json:"wait_ms"`
}

// WAL is the write-ahead log (PostgreSQL) or binary log (MariaDB): where
// it stands, and what keeps it.
type WAL struct {
	// Position is PostgreSQL's current WAL position in bytes
	// (pg_current_wal_lsn() - '0/0'): it only grows, restarts included,
	// so two snapshots give the volume written between them. 0 on a
	// standby and on MariaDB.
	Position int64 `json:"position,omitempty"`
	// StatBytes is pg_stat_wal.wal_bytes (PostgreSQL 14+), since the
	// statistics began.
	StatBytes *int64 `json:"stat_bytes,omitempty"`
	// KeepBytes and MaxBytes are wal_keep_size and max_wal_size.
	KeepBytes int64 `json:"keep_bytes,omitempty"`
	MaxBytes  int64 `json:"max_bytes,omitempty"`
	// Slots are the replication slots and the WAL each holds back.
	Slots []Slot `json:"slots,omitempty"`
	// Binlog is MariaDB's: whether it is on, its files' total size and
	// count (SHOW BINARY LOGS), and how long they are kept.
	Binlog        *bool `json:"binlog,omitempty"`
	BinlogFiles   int   `json:"binlog_files,omitempty"`
	BinlogBytes   int64 `json:"binlog_bytes,omitempty"`
	ExpireSeconds int64 `json:"expire_seconds,omitempty"`
}

// Slot is a PostgreSQL replication slot.
type Slot struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // "physical" or "logical"
	Active bool   `json:"active"`
	// RetainedBytes is the WAL from the slot's restart_lsn to the current
	// position: what the server may not remove for it.
	RetainedBytes int64 `json:"retained_bytes"`
}

// Control is PostgreSQL's control data (pg_control_checkpoint,
// pg_control_system) and whether data pages carry checksums.
type Control struct {
	CheckpointAt time.Time `json:"checkpoint_at"`
	// WALSinceCheckpoint is the WAL written since the last checkpoint's
	// redo point; 0 on a standby.
	WALSinceCheckpoint int64  `json:"wal_since_checkpoint"`
	Timeline           int64  `json:"timeline"`
	SystemID           string `json:"system_id"`
	CatalogVersion     int64  `json:"catalog_version,omitempty"`
	Checksums          *bool  `json:"checksums,omitempty"`
}

// Storage is where the data lives: PostgreSQL's tablespaces, MariaDB's
// InnoDB data and redo files.
type Storage struct {
	Tablespaces []Tablespace `json:"tablespaces,omitempty"`
	// MariaDB: innodb_data_file_path, innodb_file_per_table, the system
	// tablespace's size and the redo log's.
	DataFilePath string `json:"data_file_path,omitempty"`
	FilePerTable *bool  `json:"file_per_table,omitempty"`
	SystemBytes  int64  `json:"system_bytes,omitempty"`
	RedoBytes    int64  `json:"redo_bytes,omitempty"`
}

// Tablespace is one tablespace (PostgreSQL) or InnoDB tablespace file
// (MariaDB).
type Tablespace struct {
	Name     string `json:"name"`
	Location string `json:"location,omitempty"` // "" for the data directory's own
	// Bytes is nil where the monitoring account may not measure it.
	Bytes *int64 `json:"bytes,omitempty"`
}

// Options tune a collection.
type Options struct {
	Level string
	// StatementTimeout and LockTimeout bound every query (defaults 5 s and
	// 50 ms).
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	// Log is where the previous run stopped reading the server log; nil
	// reads the newest file's last megabyte.
	Log *Log
	// MeasureBloatMinBytes and MeasureBloatTables gate the bloat
	// measurement (BloatGate): tables at least that large, at most that
	// many of them, the top suspects of the estimate.
	MeasureBloatMinBytes int64
	MeasureBloatTables   int
}

// Timeouts returns the statement and lock timeouts with defaults filled.
func (o Options) Timeouts() (statement, lock time.Duration) {
	statement, lock = o.StatementTimeout, o.LockTimeout
	if statement <= 0 {
		statement = 5 * time.Second
	}
	if lock <= 0 {
		lock = 50 * time.Millisecond
	}
	return statement, lock
}

// Recorder is the bookkeeping a collector shares: which areas it got and
// why others failed.
type Recorder struct {
	F *Facts
}

// Got marks area as collected.
func (r Recorder) Got(area string) {
	if !r.F.Has(area) {
		r.F.Areas = append(r.F.Areas, area)
	}
}

// Miss records why area was not collected (the first reason wins).
func (r Recorder) Miss(area, reason string) {
	if r.F.Has(area) || r.F.Why(area) != "" {
		return
	}
	if len(reason) > 300 {
		reason = reason[:300]
	}
	r.F.Unavailable = append(r.F.Unavailable, Unavailable{Area: area, Reason: reason})
}

// MissKey records why area was not collected as the catalog sentence key
// (with its parameters as name, value pairs), reason being its English.
func (r Recorder) MissKey(area, reason, key string, nameValues ...string) {
	if r.F.Has(area) || r.F.Why(area) != "" {
		return
	}
	u := Unavailable{Area: area, Reason: reason, Key: key}
	if len(nameValues) > 0 {
		u.Params = map[string]string{}
		for i := 0; i+1 < len(nameValues); i += 2 {
			u.Params[nameValues[i]] = nameValues[i+1]
		}
	}
	r.F.Unavailable = append(r.F.Unavailable, u)
}

// Do runs fn for area: on error the area is missed with the error as the
// reason, else it is got.
func (r Recorder) Do(area string, fn func() error) {
	if err := fn(); err != nil {
		r.Miss(area, err.Error())
		return
	}
	r.Got(area)
}
