package drill

import (
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// Message is one sentence of a report — a check's detail, a warning, what
// became of the restored copy — kept as a key of the message catalog and
// its parameters rather than as text, so that a page renders it in the
// report's language (WriteHTML). The English rendering is also stored
// beside it (Check.Detail, Report.Warnings, TargetInfo.DispositionNote) for
// readers of the JSON and for older dbopsd versions.
//
// Only the parameters the key uses are set. Error and Reason are quoted
// verbatim: what a server, a tool or an engine said is data, not prose, and
// the page introduces it with a translated lead instead of translating it.
//
// The keys are part of the report format; html.go's catalog ("msg.<key>"
// in labels) has the sentence of every key in every language.
type Message struct {
	Key string `json:"key"`

	Backup     string    `json:"backup,omitempty"`      // a backup id
	BackupType string    `json:"backup_type,omitempty"` // "full" or "differential"
	Base       string    `json:"base,omitempty"`        // the full backup of a differential
	Taken      time.Time `json:"taken,omitzero"`        // when the backup was taken
	Tables     int       `json:"tables,omitempty"`      // tables restored or compared
	TableNames []string  `json:"table_names,omitempty"` // the tables restored (a single-table drill)
	Rows       int64     `json:"rows,omitempty"`        // rows restored or compared
	Bytes      int64     `json:"bytes,omitempty"`       // bytes read from the repository
	Target     string    `json:"target,omitempty"`      // the restore target's name
	Database   string    `json:"database,omitempty"`    // the database restored as
	Tool       string    `json:"tool,omitempty"`        // the integrity tool and its version
	// Mismatches are the tables whose statistics differ from the backup's.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// Findings are the integrity tool's findings, verbatim.
	Findings []string `json:"findings,omitempty"`
	// Disposition is what became of the restored copy (Dropped, Kept, Left)
	// and Cause why, for the cleanup check.
	Disposition string   `json:"disposition,omitempty"`
	Cause       *Message `json:"cause,omitempty"`
	// Reason is why something did not run, as the engine said it, in
	// English; ReasonMessage the same as the engine's Note, rendered in
	// the page's language (the catalog's "note.<key>"). Reports of older
	// versions have Reason only.
	Reason        string        `json:"reason,omitempty"`
	ReasonMessage *engines.Note `json:"reason_message,omitempty"`
	// Error is an error message, verbatim.
	Error string `json:"error,omitempty"`
}

// Mismatch is one table of the restored copy whose statistics differ from
// those recorded at backup time.
type Mismatch struct {
	Table string `json:"table"`
	// Kind is MismatchMissing, MismatchRows or MismatchChecksum: the first
	// difference found, in that order.
	Kind             string `json:"kind"`
	BackupRows       int64  `json:"backup_rows"`
	RestoredRows     int64  `json:"restored_rows"`
	BackupChecksum   string `json:"backup_checksum,omitempty"`
	RestoredChecksum string `json:"restored_checksum,omitempty"`
}

// Kinds of Mismatch.
const (
	MismatchMissing  = "missing"  // the table is not in the restored copy
	MismatchRows     = "rows"     // the row counts differ
	MismatchChecksum = "checksum" // same rows, different content
)

// Message keys. Each has a sentence in every language of html.go's
// catalog (a test checks it).
const (
	msgBackupFound        = "backup.found"              // Backup, BackupType, Taken, Tables, Rows
	msgBackupFoundDiff    = "backup.found_differential" // and Base
	msgBackupError        = "backup.error"              // Error
	msgSkipNoBackup       = "skip.no_backup"
	msgSkipNothing        = "skip.nothing_restored"
	msgSkipRestoreFailed  = "skip.restore_failed"
	msgRestorePrepare     = "restore.prepare_error" // Error
	msgRestoreError       = "restore.error"         // Error
	msgRestoredDatabase   = "restore.database"      // Backup, Target, Database, Bytes
	msgRestoredTables     = "restore.tables"        // and TableNames
	msgStatisticsError    = "statistics.error"      // Error
	msgStatisticsEqual    = "statistics.equal"      // Tables, Rows
	msgStatisticsMismatch = "statistics.mismatch"   // Tables, Mismatches
	msgIntegrityError     = "integrity.error"       // Error
	msgIntegrityNoReport  = "integrity.no_report"
	msgIntegrityFindings  = "integrity.findings"  // Tool, Findings
	msgIntegritySkipped   = "integrity.skipped"   // Tool, Reason, ReasonMessage
	msgIntegrityOK        = "integrity.ok"        // Tool
	msgCleanup            = "cleanup.disposition" // Disposition, Cause
	msgCleanupGone        = "cleanup.gone"        // Database, Target, Cause
	msgCleanupDropped     = "cleanup.dropped"     // Database, Target
	// What became of the restored copy, and why (TargetInfo).
	msgNothingRestored = "disposition.nothing_restored"
	msgForeignExists   = "disposition.foreign_exists"
	msgNothingToDrop   = "disposition.nothing_to_drop"
	msgNotScratch      = "disposition.not_scratch"
	msgIntoExisting    = "disposition.into_existing"
	msgKeepAsked       = "disposition.keep_asked"
	msgKeepOnFailure   = "disposition.keep_on_failure"
	msgDropFailed      = "disposition.drop_failed" // Error
	msgEngineRemoved   = "disposition.engine_removed"
	msgDropped         = "disposition.dropped"
	// Warnings.
	msgFullUnreadable = "warning.full_unreadable" // Base, Error
	msgLedger         = "warning.scratch_ledger"  // Error
)

// errMessage is a message about an error, quoted verbatim.
func errMessage(key string, err error) *Message {
	return &Message{Key: key, Error: err.Error()}
}
