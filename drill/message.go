package drill

import (
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
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
// The keys are part of the report format; the catalog (messages/,
// "drill.msg.<key>") has the sentence of every key in every language.
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
	// the page's language (the engine's own sentence of its key). Reports of older
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

// Message keys. Each has a sentence in every language of the catalog,
// "drill.msg.<key>" in messages/ (a test checks it).
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

// phrases renders Messages in one language: the sentence of the message's
// key in the catalog ("drill.msg.<key>"), with its {parameters} filled in.
// Errors, reasons and findings go in verbatim.
type phrases struct {
	lang i18n.Lang
	time func(time.Time) string
}

// english renders the English stored beside each Message (Check.Detail,
// Report.Warnings, TargetInfo.DispositionNote), with times in UTC.
var english = phrases{lang: i18n.EN, time: func(t time.Time) string { return t.UTC().Format(time.RFC3339) }}

func englishText(m *Message) string {
	if s, ok := english.text(m); ok {
		return s
	}
	return m.Key // not reached: a test checks that every key has its English
}

// label is the page's word for key ("drill.<key>"), the key itself when
// the catalog has none.
func (p phrases) label(key string) string {
	if s, ok := i18n.Lookup(p.lang, "drill."+key); ok {
		return s
	}
	return key
}

// tr translates v, a value of a group ("status", "pass"), falling back to
// the value itself.
func (p phrases) tr(group, v string) string {
	if s, ok := i18n.Lookup(p.lang, "drill."+group+"."+v); ok {
		return s
	}
	return v
}

// text renders m; false when m is nil, or its key or a parameter is not in
// the catalog (a report from a newer dbopsd): show the stored English then.
func (p phrases) text(m *Message) (string, bool) {
	if m == nil {
		return "", false
	}
	return i18n.Render(p.lang, "drill.msg."+m.Key, func(name string) (string, bool) { return p.param(m, name) })
}

func (p phrases) param(m *Message, name string) (string, bool) {
	switch name {
	case "backup":
		return m.Backup, true
	case "type":
		return p.tr("type", m.BackupType), true
	case "base":
		return m.Base, true
	case "taken":
		if m.Taken.IsZero() {
			return "—", true
		}
		return p.time(m.Taken), true
	case "tables":
		return strconv.Itoa(m.Tables), true
	case "names":
		return strings.Join(m.TableNames, p.label("sep.names")), true
	case "rows":
		return strconv.FormatInt(m.Rows, 10), true
	case "bytes":
		return humanize.Bytes(m.Bytes), true
	case "target":
		return m.Target, true
	case "as":
		return m.Database, true
	case "tool":
		return m.Tool, true
	case "mismatched":
		return strconv.Itoa(len(m.Mismatches)), true
	case "mismatches":
		lines := make([]string, len(m.Mismatches))
		for i, mm := range m.Mismatches {
			s, ok := p.mismatch(mm)
			if !ok {
				return "", false
			}
			lines[i] = s
		}
		return strings.Join(lines, p.label("sep.list")), true
	case "found":
		return strconv.Itoa(len(m.Findings)), true
	case "findings":
		return strings.Join(m.Findings, p.label("sep.list")), true
	case "disposition":
		return p.tr("disposition", m.Disposition), true
	case "cause":
		return p.text(m.Cause)
	case "reason":
		if s, ok := p.note(m.ReasonMessage); ok {
			return s, true
		}
		return m.Reason, true
	case "error":
		return m.Error, true
	}
	return "", false
}

func (p phrases) mismatch(mm Mismatch) (string, bool) {
	return i18n.Render(p.lang, "drill.msg.mismatch."+mm.Kind, func(name string) (string, bool) {
		switch name {
		case "table":
			return mm.Table, true
		case "backup_rows":
			return strconv.FormatInt(mm.BackupRows, 10), true
		case "restored_rows":
			return strconv.FormatInt(mm.RestoredRows, 10), true
		case "backup_checksum":
			return mm.BackupChecksum, true
		case "restored_checksum":
			return mm.RestoredChecksum, true
		}
		return "", false
	})
}

// note renders an engine's Note in the page's language (engines.Note.Text).
// False when n is nil, or its key or a parameter is not in the catalog:
// show the engine's English then.
func (p phrases) note(n *engines.Note) (string, bool) {
	if n == nil {
		return "", false
	}
	return n.Text(p.lang)
}

// notes are an engine's notes in the page's language, item by item, each
// as stored (in English) where its Note does not render; all as stored
// when the report has no Notes for them (an older dbopsd).
func (p phrases) notes(text []string, ns []engines.Note) []string {
	if len(ns) != len(text) {
		return text
	}
	lines := make([]string, len(text))
	for i := range ns {
		s, ok := p.note(&ns[i])
		if !ok {
			s = text[i]
		}
		lines[i] = s
	}
	return lines
}

// detail is what a check found, in the page's language; the stored Detail
// for a report without a Message (written by an older dbopsd).
func (p phrases) detail(c Check) string {
	if s, ok := p.text(c.Message); ok {
		return s
	}
	return c.Detail
}

// problems are why the drill failed, one line per failed check; a report
// whose failed checks lack Messages shows its stored Problems.
func (p phrases) problems(r *Report) []string {
	var lines []string
	for _, c := range r.Checks {
		if c.Status != Fail {
			continue
		}
		s, ok := p.text(c.Message)
		if !ok {
			return r.Problems
		}
		lines = append(lines, p.tr("check", c.Name)+p.label("sep")+s)
	}
	if len(lines) == 0 {
		return r.Problems
	}
	return lines
}

// warnings are the report's warnings in the page's language, or as stored
// when the report has no Messages for them.
func (p phrases) warnings(r *Report) []string {
	if len(r.WarningMessages) != len(r.Warnings) {
		return r.Warnings
	}
	lines := make([]string, len(r.Warnings))
	for i := range r.WarningMessages {
		s, ok := p.text(&r.WarningMessages[i])
		if !ok {
			s = r.Warnings[i]
		}
		lines[i] = s
	}
	return lines
}
