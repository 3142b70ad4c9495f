package volume

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the report's headings and sentences in every language
// ("volume.<label>"); database and table names appear as stored.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("volume", messages, "messages") }

func t(lang i18n.Lang, key string, kv ...string) string {
	p := i18n.Params{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return i18n.T(lang, "volume."+key, p)
}
