package maintenance

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the words of the proposal listing in every language
// ("maintenance.<key>").
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("maintenance", messages, "messages") }
