package report

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the report's words in every language ("report.<key>").
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("report", messages, "messages") }
