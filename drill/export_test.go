package drill

import (
	"slices"
	"strings"
	"unicode"
)

// MessageKeys are the keys of the message catalog in lang (those of
// Message.Key, and "mismatch.<kind>" for Mismatch), sorted.
func MessageKeys(lang string) []string {
	var keys []string
	for k := range labels[lang] {
		if key, ok := strings.CutPrefix(k, "msg."); ok {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

// MessageTemplate is the catalog's sentence of key in lang.
func MessageTemplate(lang, key string) string { return labels[lang]["msg."+key] }

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
