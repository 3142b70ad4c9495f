package diagnostics

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the words of the checks ("diagnostics.check.<id>.title",
// ".what", ".why", ".todo", ".finding", ".details"), of the check pages,
// the HTML page and the forecasts, one file per language. A finding key
// keeps its meaning and parameters once released: stored reports render
// with it later.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("diagnostics", messages, "messages") }
