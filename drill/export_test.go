package drill

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/dbopsd/dbopsd/i18n"
)

// MessageKeys are the keys of the sentences a page renders in lang: those
// of Message.Key, "mismatch.<kind>" for Mismatch (the catalog's
// "drill.msg.<key>"), and "note.<key>" for the engines' notes (the
// engine packages' own keys), sorted.
func MessageKeys(lang string) []string {
	var keys []string
	for _, k := range i18n.Keys(i18n.Lang(lang), "drill.msg.") {
		keys = append(keys, strings.TrimPrefix(k, "drill.msg."))
	}
	for _, engine := range []string{"postgres.", "mysql."} {
		for _, k := range i18n.Keys(i18n.Lang(lang), engine) {
			// <engine>.diag.* are the diagnostics collectors' notes, not a
			// restore's: drill reports never carry them.
			if !strings.HasPrefix(k, engine+"diag.") {
				keys = append(keys, "note."+k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// MessageTemplate is the catalog's sentence of key (as MessageKeys names
// it) in lang.
func MessageTemplate(lang, key string) string {
	if note, ok := strings.CutPrefix(key, "note."); ok {
		s, _ := i18n.Lookup(i18n.Lang(lang), note)
		return s
	}
	s, _ := i18n.Lookup(i18n.Lang(lang), "drill.msg."+key)
	return s
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// EnglishPhrases are the fixed words of the English catalog's sentences:
// the text between their parameters, without the punctuation around it,
// where it is a word of five letters or more, or several words. None of
// them may show on a page in another language, outside what servers,
// tools and engines said (which is shown as they said it).
func EnglishPhrases() []string {
	seen := map[string]bool{}
	for _, key := range MessageKeys(LangEN) {
		for _, piece := range placeholder.Split(MessageTemplate(LangEN, key), -1) {
			piece = strings.TrimFunc(piece, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
			if len(piece) >= 5 || strings.Contains(piece, " ") {
				seen[piece] = true
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
