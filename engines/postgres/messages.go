package postgres

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the sentences of this adapter's notes (engines.Note: what a
// restore did not recreate, what else a DBA should read, why an integrity
// check did not run), one file per language: messages/en.json holds the
// English the reports store beside each note, messages/zh-CN.json the
// Chinese a report renders. The keys start with "postgres."; a note key keeps
// its meaning and parameters once released.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("engines/postgres", messages, "messages") }
