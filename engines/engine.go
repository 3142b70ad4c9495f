package engines

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/secret"
)

// Engine is one database engine. Implementations are safe for concurrent use
// by several jobs; all per-call state lives in the arguments.
type Engine interface {
	// Name is the engine's name in policy files, the one its package
	// registers (Registration.Name): "postgres", "mysql", "mssql".
	Name() string

	// Backup reads the database named in src from one consistent snapshot and
	// writes it as parts through sink. Parts may be written concurrently. On
	// error the caller discards everything written so far.
	Backup(ctx context.Context, src Conn, opts BackupOptions, sink PartSink) (*Snapshot, error)

	// Restore creates req.Database on the server of target and loads the parts
	// from source into it (or only the tables in req.Tables).
	Restore(ctx context.Context, target Conn, req RestoreRequest, source PartSource) (*RestoreReport, error)

	// TableStats computes the same statistics Backup records, on database
	// (a database on the server of target), for the given tables.
	TableStats(ctx context.Context, target Conn, database string, tables []TableRef) ([]TableStats, error)

	// CheckIntegrity runs the engine's own integrity checks on database
	// (pg_amcheck, CHECK TABLE, DBCC CHECKDB). A nil error with findings means
	// the checks ran and found problems.
	CheckIntegrity(ctx context.Context, target Conn, database string) (*IntegrityReport, error)

	// DatabaseExists and DropDatabase work on the server of target.
	DatabaseExists(ctx context.Context, target Conn, name string) (bool, error)
	DropDatabase(ctx context.Context, target Conn, name string) error
}

// Conn says how to reach a server (and, for a source, which database).
// Password is a secret.Value so that printing a Conn leaks nothing.
type Conn struct {
	DSN      string
	Password secret.Value
	// BinDir is where the engine's client tools live (pg_dump, ...); empty
	// means search PATH and the usual package locations.
	BinDir string
	// BackupDir, for an engine that writes native backup files (SQL
	// Server's backup_dir), is a directory both the server and dbopsd see,
	// as the server names it; BackupDirLocal is the same directory as
	// dbopsd names it ("" when the same path). Empty: no such directory.
	BackupDir, BackupDirLocal string
}

// BackupOptions tunes one backup.
type BackupOptions struct {
	// Type is "full" or "differential". Engines with a native differential
	// (SQL Server) use it together with Base; others ignore it, since the
	// repository makes differentials out of any full stream.
	Type string
	// Base is the snapshot of the generation's full backup, for a native
	// differential. Nil for a full.
	Base *Snapshot
	// Parallel is how many tables are read at once (>= 1).
	Parallel int
	Logger   hclog.Logger
	// CopyOnly marks a full taken outside the schedule (by hand): an
	// engine with a native backup chain takes it without moving that chain
	// (SQL Server's COPY_ONLY) and sets Snapshot.OutsideChain. Ignored for
	// a differential.
	CopyOnly bool
	// NoCompression turns the engine's own compression of a native backup
	// off (SQL Server's compression = false).
	NoCompression bool
}

// RestoreRequest says what to restore and where.
type RestoreRequest struct {
	// Database is the name of the database to create (or restore into, for a
	// table restore) on the target server.
	Database string
	// Tables, when set, restores only these tables (with their indexes,
	// constraints, triggers and comments) into Database, creating Database if
	// it does not exist.
	Tables []TableRef
	// Replace drops an existing database (or, for a table restore, existing
	// tables of the same names) first. Without it an existing one is an error
	// (ErrExists).
	Replace bool
	// Parallel is how many parts are loaded at once (>= 1).
	Parallel int
	// Snapshot is the metadata the backup recorded.
	Snapshot *Snapshot
	Logger   hclog.Logger
	// BaseSource, for a differential, opens the parts of the full backup
	// it belongs to: an engine whose differentials are native (SQL Server)
	// restores that full first. Nil for a full.
	BaseSource func(ctx context.Context) (PartSource, error)
	// Scratch, when set, records in the scratch ledger, before the engine
	// creates it, a database the engine creates on the target for its own
	// use and drops before it returns (SQL Server restores the whole backup
	// under a scratch name for a table restore), so that one a crash
	// leaves behind is dropped by the stale cleanup. The engine calls done
	// once it has dropped the database (dropped true) or failed to (false:
	// the ledger keeps it for the cleanup). Nil: nothing is recorded.
	Scratch func(ctx context.Context, name string) (done func(ctx context.Context, dropped bool), err error)
	// ScratchTarget, when set, is where such a scratch database goes
	// instead of the target's own server (a scratch target, for a target
	// that cannot take the whole database); nil: the target.
	ScratchTarget *Conn
}

// RestoreReport says what a restore did beyond the obvious.
//
// Skipped and Notes are in English; SkippedMessages and NoteMessages are
// the same, item for item, as Notes (note.go), which a report renders in
// its language. Engines fill both with AddSkipped and AddNote. Reports
// stored by older versions have the English only.
type RestoreReport struct {
	// Skipped lists what was not recreated, and why: roles missing on the
	// target, users and grants, foreign keys to tables not restored, ...
	Skipped         []string `json:"skipped,omitempty"`
	SkippedMessages []Note   `json:"skipped_messages,omitempty"`
	// Notes are other things a DBA should read.
	Notes        []string `json:"notes,omitempty"`
	NoteMessages []Note   `json:"note_messages,omitempty"`
}

// IntegrityReport is the outcome of an engine's integrity checks.
type IntegrityReport struct {
	Tool     string   `json:"tool"` // e.g. "pg_amcheck 15.4", "CHECK TABLE"
	Findings []string `json:"findings,omitempty"`
	// Skipped is why no check ran, if none did, in English;
	// SkippedMessage the same as a Note (set with Skip).
	Skipped        string        `json:"skipped,omitempty"`
	SkippedMessage *Note         `json:"skipped_message,omitempty"`
	Duration       time.Duration `json:"duration_ns"`
}

// OK reports whether the checks found nothing.
func (r *IntegrityReport) OK() bool { return r != nil && len(r.Findings) == 0 }

// PartSink receives the parts of a backup.
type PartSink interface {
	// CreatePart starts a part. The part is stored when Close returns nil;
	// a Close error means the backup failed. CreatePart is safe for
	// concurrent use.
	CreatePart(ctx context.Context, p PartInfo) (io.WriteCloser, error)
}

// PartSource hands the parts of a backup to a restore.
type PartSource interface {
	// Parts lists every part of the backup in the order they were created.
	Parts() []PartInfo
	// Open streams one part. Corruption detected while reading surfaces as
	// an error from Read. Open is safe for concurrent use.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// PartInfo describes one part.
type PartInfo struct {
	Name string `json:"name"`
	// Kind is "schema", "table", "meta" or "native".
	Kind string `json:"kind"`
	// Table is set for table data parts.
	Table *TableRef `json:"table,omitempty"`
	// Format is the adapter's name for the encoding, e.g. "pg_dump-custom",
	// "copy-text", "mysql-tsv", so a later adapter version can read old parts.
	Format string `json:"format,omitempty"`
	// Seq orders several parts of one table (key ranges); 0 when unsplit.
	Seq int `json:"seq,omitempty"`
	// Shape, when set, says that the part is a multiset of row lines (one
	// row per '\n'-terminated line, no raw newline inside a row, order
	// irrelevant) and names the table's column layout (RowShape): the
	// repository may then store a differential of it as rows
	// (ARCHITECTURE.md, "Row-level differentials").
	Shape string `json:"shape,omitempty"`
}

// RowShape names a column layout for PartInfo.Shape: equal for the same
// columns in the same order.
func RowShape(columns []string) string {
	h := sha256.New()
	for _, c := range columns {
		h.Write([]byte(c))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%d:%x", len(columns), h.Sum(nil)[:8])
}

// Part kinds.
const (
	KindSchema = "schema"
	KindTable  = "table"
	KindMeta   = "meta"
	KindNative = "native"
)

// Snapshot is what an engine knows about the point a backup was taken at.
type Snapshot struct {
	Engine        string `json:"engine"`
	ServerVersion string `json:"server_version"`
	// Position identifies the point in the server's history: a PostgreSQL
	// LSN, a MariaDB GTID or binlog file:pos, a SQL Server LSN.
	Position string    `json:"position,omitempty"`
	TakenAt  time.Time `json:"taken_at"`
	// Consistency states the guarantee, e.g. "snapshot" or
	// "snapshot; MyISAM tables a, b read under a brief global read lock".
	Consistency string       `json:"consistency,omitempty"`
	Tables      []TableStats `json:"tables"`
	Warnings    []string     `json:"warnings,omitempty"`
	// Meta is engine-specific metadata needed at restore time.
	Meta map[string]string `json:"meta,omitempty"`
	// OutsideChain marks a full taken outside the server's native backup
	// chain (SQL Server COPY_ONLY): no native differential can be based on
	// it, so the next differential is based on the newest full without it.
	OutsideChain bool `json:"outside_chain,omitempty"`
}

// Table returns the statistics of t, if recorded.
func (s *Snapshot) Table(t TableRef) (TableStats, bool) {
	for _, ts := range s.Tables {
		if ts.Table == t {
			return ts, true
		}
	}
	return TableStats{}, false
}

// TableRef names a table. Schema is the PostgreSQL or SQL Server schema; it
// is empty for MySQL/MariaDB, where the database is the schema.
type TableRef struct {
	Schema string `json:"schema,omitempty"`
	Name   string `json:"name"`
}

func (t TableRef) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// ParseTableRef parses "schema.table" or "table". Quoting is not needed: the
// first dot separates schema from name.
func ParseTableRef(s string) (TableRef, error) {
	if s == "" {
		return TableRef{}, fmt.Errorf("empty table name")
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if i == 0 || i == len(s)-1 {
			return TableRef{}, fmt.Errorf("table %q: want schema.table", s)
		}
		return TableRef{Schema: s[:i], Name: s[i+1:]}, nil
	}
	return TableRef{Name: s}, nil
}

// TableStats are the statistics of one table at one point in time.
type TableStats struct {
	Table TableRef `json:"table"`
	Rows  int64    `json:"rows"`
	// Checksum is an order-independent digest of every row's content as the
	// engine renders it (hex). Equal data gives equal checksums on any server
	// of the same engine.
	Checksum string `json:"checksum"`
	// Bytes is the size of the table's data as dumped (uncompressed).
	Bytes int64 `json:"bytes"`
}

// SortTables sorts statistics by table name, for stable output.
func SortTables(ts []TableStats) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Table.String() < ts[j].Table.String() })
}

// CompareStats returns one line per difference between the statistics
// recorded at backup time and those of a restored copy; none means equal.
func CompareStats(want, got []TableStats) []string {
	g := make(map[TableRef]TableStats, len(got))
	for _, t := range got {
		g[t.Table] = t
	}
	var diffs []string
	for _, w := range want {
		h, ok := g[w.Table]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("table %s: missing from the restored copy", w.Table))
		case h.Rows != w.Rows:
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows restored, %d backed up", w.Table, h.Rows, w.Rows))
		case h.Checksum != w.Checksum:
			diffs = append(diffs, fmt.Sprintf("table %s: content checksum %s restored, %s backed up", w.Table, h.Checksum, w.Checksum))
		}
	}
	return diffs
}
