package dictionary

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the dictionary's headings, labels and sentences in every
// language ("dict.<label>", "dict.kind.<kind>", "dict.change.<kind>"). Object
// names and comments are never translated: they appear as stored.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("dictionary", messages, "messages") }

// words renders labels in one language.
type words i18n.Lang

func (w words) T(key string) string { return i18n.T(i18n.Lang(w), "dict."+key, nil) }

func (w words) F(key string, kv ...string) string {
	p := i18n.Params{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return i18n.T(i18n.Lang(w), "dict."+key, p)
}

func (w words) yesNo(b bool) string {
	if b {
		return w.T("yes")
	}
	return ""
}
