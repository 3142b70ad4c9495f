package diagnostics

import "time"

// Thresholds are the limits the checks compare facts against. The
// defaults are the ones the check pages state (docs/checks/); a policy's
// diagnostics { } block may change them.
type Thresholds struct {
	LongTransaction   time.Duration // long-transaction: a transaction open longer
	IdleInTransaction time.Duration // idle-in-transaction: idle inside a transaction longer
	BlockedWait       time.Duration // blocked-sessions: waiting for a lock longer
	ConnectionsPct    float64       // connections-high: share of max_connections in use
	ReplicationLag    time.Duration // replication: replay lag
	BigTableBytes     int64         // big-table: a table (with indexes) larger
	BloatPct          float64       // table-bloat: dead or free share of the table
	BloatMinBytes     int64         // table-bloat: and at least this many bytes
	XIDAge            int64         // wraparound: transaction-id age
	CacheHitPct       float64       // cache-hit-ratio: hits per block read, percent
	UnusedIndexBytes  int64         // unused-index: smaller unused indexes are not worth a finding
	TempBytes         int64         // temp-files: bytes spilled to temporary files over the interval
	TempFiles         int64         // temp-files: or this many temporary files (tables) when bytes are unknown
	SlotRetainedBytes int64         // slot-retained-wal: WAL a replication slot holds back
	CheckpointAge     time.Duration // control-data: last checkpoint older, with WAL written since
	// Horizon: a space forecast reaching 85 % or 90 % within it is a
	// finding.
	Horizon time.Duration
	// BackupMaxAge: dbopsd's last successful backup older is a finding;
	// zero takes the policy's schedule (see BackupMaxAge).
	BackupMaxAge time.Duration
	// BackupDuration: backup-duration-trend forecasts when backups take
	// longer, where the policy sets no backup window.
	BackupDuration time.Duration
}

// DefaultThresholds are the defaults of the check pages.
func DefaultThresholds() Thresholds {
	return Thresholds{
		LongTransaction:   time.Hour,
		IdleInTransaction: 10 * time.Minute,
		BlockedWait:       30 * time.Second,
		ConnectionsPct:    80,
		ReplicationLag:    5 * time.Minute,
		BigTableBytes:     50 << 30,
		BloatPct:          30,
		BloatMinBytes:     100 << 20,
		XIDAge:            1_000_000_000,
		CacheHitPct:       90,
		UnusedIndexBytes:  1 << 20,
		TempBytes:         10 << 30,
		TempFiles:         10000,
		SlotRetainedBytes: 10 << 30,
		CheckpointAge:     time.Hour,
		Horizon:           90 * 24 * time.Hour,
		BackupMaxAge:      8 * 24 * time.Hour,
		BackupDuration:    8 * time.Hour,
	}
}

// Suppression hides a check's findings for a database (and, when Object
// is set, for that object only) until Until, for Reason. Suppressed
// findings are still counted and shown as such.
type Suppression struct {
	Database string
	Check    string
	Object   string
	Reason   string
	Until    time.Time
}

func (s Suppression) matches(database string, f Finding, now time.Time) bool {
	return (s.Database == "" || s.Database == database) && s.Check == f.Check &&
		(s.Object == "" || s.Object == f.Object) && (s.Until.IsZero() || now.Before(s.Until))
}
