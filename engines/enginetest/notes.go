package enginetest

import (
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
)

// CheckNotes checks that a restore report says everything twice, item for
// item: in English (Skipped, Notes) and as Notes of the engines' catalog
// (SkippedMessages, NoteMessages) whose English is that text, with every
// parameter their sentences name, and that each renders in every language
// of the catalog. The suite checks every restore it runs;
// adapters' tests call it on theirs.
func CheckNotes(t *testing.T, rep *engines.RestoreReport) {
	t.Helper()
	if rep == nil {
		return
	}
	checkNotes(t, "skipped", rep.Skipped, rep.SkippedMessages)
	checkNotes(t, "notes", rep.Notes, rep.NoteMessages)
}

// CheckIntegrityNote checks that an integrity report that did not run
// says why in both forms.
func CheckIntegrityNote(t *testing.T, rep *engines.IntegrityReport) {
	t.Helper()
	if rep == nil || (rep.Skipped == "" && rep.SkippedMessage == nil) {
		return
	}
	if rep.SkippedMessage == nil {
		t.Errorf("integrity report: Skipped %q without its Note", rep.Skipped)
		return
	}
	checkNotes(t, "integrity skipped", []string{rep.Skipped}, []engines.Note{*rep.SkippedMessage})
}

func checkNotes(t *testing.T, what string, text []string, notes []engines.Note) {
	t.Helper()
	if len(text) != len(notes) {
		t.Errorf("%s: %d lines of English and %d Notes:\n%q\n%+v", what, len(text), len(notes), text, notes)
		return
	}
	for i, n := range notes {
		if err := completeNote(n); err != "" {
			t.Errorf("%s: %q: %s", what, text[i], err)
		}
		if got := n.English(); got != text[i] {
			t.Errorf("%s: the Note reads %q, the English is %q", what, got, text[i])
		}
		for _, lang := range i18n.Langs() {
			if _, ok := n.Text(lang); !ok {
				t.Errorf("%s: %q does not render in %s", what, text[i], lang)
			}
		}
	}
}

// completeNote says what is wrong with n: a key not in the catalog, a
// parameter its sentence names that n lacks.
func completeNote(n engines.Note) string {
	sentence, ok := i18n.Lookup(i18n.EN, n.Key)
	if !ok {
		return "key " + n.Key + " is not in the catalog"
	}
	for _, name := range i18n.Placeholders(sentence) {
		if name == "what" {
			if n.What == nil {
				return n.Key + ": no What"
			}
			if err := completeNote(*n.What); err != "" {
				return err
			}
			continue
		}
		if _, ok := n.Params[name]; !ok {
			return n.Key + ": no parameter " + name
		}
	}
	return ""
}

// FindNote returns the first of notes with key whose parameters (its own
// or its What's) include want and, when what is not "", whose What has the
// key what; nil when there is none.
func FindNote(notes []engines.Note, key, what string, want engines.Params) *engines.Note {
	for i, n := range notes {
		if n.Key != key || (what != "" && (n.What == nil || n.What.Key != what)) {
			continue
		}
		match := true
		for k, v := range want {
			got, ok := n.Params[k]
			if !ok && n.What != nil {
				got, ok = n.What.Params[k]
			}
			match = match && ok && got == v
		}
		if match {
			return &notes[i]
		}
	}
	return nil
}
