package register

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the export's words in every language ("register.<key>"):
// the column headers, the outcomes and actions, the sheet's name.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("register", messages, "messages") }
