package engines

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the words the engines share in the catalog: the kinds of
// object a note names ({kind}). Each adapter registers its own notes from
// its own messages/ directory.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("engines", messages, "messages") }
