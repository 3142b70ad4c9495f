package mssql

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the sentences of this adapter's notes (engines.Note), one
// file per language: messages/en.json holds the English the reports store
// beside each note, messages/zh-CN.json the Chinese a report renders. The
// keys start with "mssql."; a note key keeps its meaning and parameters
// once released.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("engines/mssql", messages, "messages") }

// Keys of this adapter's notes, with the parameters of their sentences.
const (
	// Restores.
	NoteLoginsNotRestored = "mssql.logins_not_restored" // database
	NoteFilesMoved        = "mssql.files_moved"         // count, data_path, log_path
	NoteTableCopied       = "mssql.table_copied"        // table, database
	NoteTableBulkCopied   = "mssql.table_bulk_copied"   // table, database, rows, server
)
