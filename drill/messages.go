package drill

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the drill report's words in every language: the page's
// labels ("drill.<label>", "drill.<group>.<value>" for a status, a type,
// a trigger) and the sentences of Messages ("drill.msg.<key>",
// "drill.msg.mismatch.<kind>"). The engines' notes are the engines' own
// (engines/postgres/messages/, ...).
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("drill", messages, "messages") }
