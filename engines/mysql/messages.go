package mysql

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the sentences of this adapter's notes (engines.Note: what a
// restore did not recreate, what else a DBA should read, why an integrity
// check did not run), one file per language: messages/en.json holds the
// English the reports store beside each note, messages/zh-CN.json the
// Chinese a report renders. The keys start with "mysql."; a note key keeps
// its meaning and parameters once released.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("engines/mysql", messages, "messages") }

// Keys of this adapter's notes (engines.Note), with the parameters of
// their sentences. The sentences, in every language, are in messages/; the
// catalog's tests check that every key has one in each. A key is part of
// the report format: it keeps its meaning and its parameters once
// released, and a new sentence gets a new key.
const (
	// Restores: what was not recreated.
	NoteForeignKeyNotRecreated = "mysql.foreign_key_not_recreated" // table, definition
	NoteProgramsNotRecreated   = "mysql.programs_not_recreated"    // count
	NoteUsersAndGrants         = "mysql.users_and_grants"          // (none)
	NoteObjectRefused          = "mysql.object_refused"            // kind, object, error
	NoteDefinerMissing         = "mysql.definer_missing"           // definer
	// Restores: notes.
	NoteDefinerUnchecked   = "mysql.definer_unchecked"       // definer
	NoteDefinerReplaced    = "mysql.definer_replaced"        // kind, object, definer
	NoteEventDisabled      = "mysql.event_disabled"          // event
	NoteHistoryLost        = "mysql.history_not_restored"    // table, reason (another version's words)
	NoteHistoryNotLoadable = "mysql.history_not_loadable"    // table
	NoteHistoryTrxID       = "mysql.history_transaction_ids" // table
	NoteRestored           = "mysql.restored"                // tables, rows, took, method, strategy
	NoteLocalInfileOff     = "mysql.local_infile_off"        // (none)
	NoteLoadDataRefused    = "mysql.load_data_refused"       // error
	NoteLoadWarnings       = "mysql.load_warnings"           // table, count, warnings
	NoteBinlogOff          = "mysql.binlog_off"              // (none)
	NoteBinlogOn           = "mysql.binlog_on"               // error
	// Integrity checks: why none ran.
	NoteNoTables = "mysql.no_tables" // (none)
)
