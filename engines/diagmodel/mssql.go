package diagmodel

import "time"

// SQL Server's facts that no other engine has: they hang off Facts.MSSQL,
// filled by engines/mssql/diagnostics.go. What SQL Server shares with the
// others (sessions, blocking, counters, the error log, logins) goes in the
// common fields; these are the rest.

// Areas of SQL Server only.
const (
	AreaWaits         = "waits"          // MSSQL.Waits
	AreaFiles         = "files"          // MSSQL.Files
	AreaIOStalls      = "io_stalls"      // MSSQL.Files[].Reads...
	AreaFragmentation = "fragmentation"  // MSSQL.Fragmented
	AreaCheckDB       = "checkdb"        // MSSQL.LastGoodCheckDB
	AreaNativeBackups = "native_backups" // MSSQL.Backups
)

// Counter names of SQL Server (Facts.Counters, cumulative like the
// others).
const (
	CounterBatchRequests = "batch_requests"
)

// MSSQL is what a SQL Server collection adds to the common facts.
type MSSQL struct {
	// VersionText is @@VERSION; Edition and ProductLevel are
	// SERVERPROPERTY's ("Enterprise Edition (64-bit)", "RTM").
	VersionText  string `json:"version_text,omitempty"`
	Edition      string `json:"edition,omitempty"`
	ProductLevel string `json:"product_level,omitempty"`
	// EncryptedConnections and PlainConnections count the connections by
	// sys.dm_exec_connections.encrypt_option.
	EncryptedConnections int `json:"encrypted_connections,omitempty"`
	PlainConnections     int `json:"plain_connections,omitempty"`

	// PageLifeExpectancy (seconds) and BufferCacheHitPct are the Buffer
	// Manager's current values, not cumulative.
	PageLifeExpectancy *int64   `json:"page_life_expectancy,omitempty"`
	BufferCacheHitPct  *float64 `json:"buffer_cache_hit_pct,omitempty"`

	Waits []Wait `json:"waits,omitempty"`
	Files []File `json:"files,omitempty"`
	// Databases are the sizes of every database of the instance
	// (sys.master_files, with the files area): the others share the host's
	// volumes with this one.
	Databases  []DatabaseSize `json:"databases,omitempty"`
	Fragmented []Fragmented   `json:"fragmented,omitempty"`

	// LastGoodCheckDB is DATABASEPROPERTYEX(db, 'LastGoodCheckDbTime');
	// zero when DBCC CHECKDB never completed without errors.
	LastGoodCheckDB time.Time `json:"last_good_checkdb,omitzero"`

	// Backups is msdb's backup history of the database, whoever took the
	// backups; RecoveryModel is sys.databases' ("FULL", "SIMPLE", ...).
	Backups       *NativeBackups `json:"backups,omitempty"`
	RecoveryModel string         `json:"recovery_model,omitempty"`
	// BackupFailures are the error log's "BACKUP failed" entries since the
	// last run (error 3041), with the log area.
	BackupFailures []LogEntry `json:"backup_failures,omitempty"`

	// PolicyOff are the SQL logins whose password policy is not checked
	// (is_policy_checked = 0); with the roles area.
	PolicyOff []string `json:"policy_off,omitempty"`
}

// Wait is one wait type of sys.dm_os_wait_stats, cumulative since the
// server started.
type Wait struct {
	Type         string `json:"type"`
	WaitMS       int64  `json:"wait_ms"`
	SignalMS     int64  `json:"signal_ms,omitempty"`
	WaitingTasks int64  `json:"waiting_tasks"`
}

// File is one file of the database: its size and use
// (sys.database_files, FILEPROPERTY SpaceUsed) and its I/O since the server
// started (sys.dm_io_virtual_file_stats).
type File struct {
	Name      string `json:"name"`
	Type      string `json:"type"` // ROWS, LOG, FILESTREAM, FULLTEXT
	Physical  string `json:"physical"`
	Bytes     int64  `json:"bytes"`
	UsedBytes *int64 `json:"used_bytes,omitempty"`
	// MaxBytes is -1 for unlimited growth.
	MaxBytes int64 `json:"max_bytes"`
	// Growth is "10%" or "64MB"; "" when the file does not grow.
	Growth string `json:"growth,omitempty"`

	Reads        int64 `json:"reads,omitempty"`
	Writes       int64 `json:"writes,omitempty"`
	ReadStallMS  int64 `json:"read_stall_ms,omitempty"`
	WriteStallMS int64 `json:"write_stall_ms,omitempty"`
}

// DatabaseSize is one database's files on the instance.
type DatabaseSize struct {
	Name      string `json:"name"`
	DataBytes int64  `json:"data_bytes"`
	LogBytes  int64  `json:"log_bytes"`
}

// Fragmented is an index above the size gate with its fragmentation
// (sys.dm_db_index_physical_stats, LIMITED).
type Fragmented struct {
	Schema    string  `json:"schema"`
	Table     string  `json:"table"`
	Index     string  `json:"index"`
	Pct       float64 `json:"pct"`
	Pages     int64   `json:"pages"`
	Kind      string  `json:"kind,omitempty"` // CLUSTERED INDEX, NONCLUSTERED INDEX, HEAP
	Partition int     `json:"partition,omitempty"`
}

// NativeBackups are the newest backups of each kind msdb recorded for the
// database, and how many of each finished since the start of the
// collection's day (server time).
type NativeBackups struct {
	LastFull  time.Time `json:"last_full,omitzero"`
	LastDiff  time.Time `json:"last_diff,omitzero"`
	LastLog   time.Time `json:"last_log,omitzero"`
	FullToday int       `json:"full_today,omitempty"`
	DiffToday int       `json:"diff_today,omitempty"`
	LogToday  int       `json:"log_today,omitempty"`
	// LastTool is the program (backupmediaset.software_name) and user of
	// the newest backup, to tell the customer's tools from dbopsd.
	LastTool string `json:"last_tool,omitempty"`
	LastUser string `json:"last_user,omitempty"`
}
