package notify

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the words of alerts in every language ("notify.<key>"): the
// name of each event ("notify.event.<type>", one for every config Event*
// name), the states and the field labels. Alerts go to the bureau and to
// the DBAs on call alike, so they say everything in Chinese and English,
// side by side (Event.Subject, Event.Text).
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("notify", messages, "messages") }
