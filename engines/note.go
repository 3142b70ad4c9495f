package engines

import (
	"sort"
	"strings"

	"github.com/dbopsd/dbopsd/i18n"
)

// Note is one sentence an engine says about its work — something a restore
// did not recreate, something else a DBA should read, why an integrity
// check did not run — kept as a key of the message catalog (package i18n)
// and its parameters, so that a report can render it in its own language
// (Text). Each engine package owns the sentences of its keys, in every
// language, in its messages/ directory. English() is the English sentence; the
// reports store it beside the Note (RestoreReport.Skipped and Notes,
// IntegrityReport.Skipped) for the CLI, for scripts and for older dbopsd
// versions.
//
// Params are the sentence's data, shown as they are in every language:
// names of objects, roles and accounts, numbers, SQL, and what a server or
// a tool said; only {kind}, the kind of object (KindView, ...), is a word
// a report translates. What, when set, is the object a sentence is about, itself a
// Note ("setting work_mem of database d" in "... not applied: ...").
//
// Each adapter owns its keys (postgres.NoteRefused, mysql.NoteBinlogOff,
// ...), which start with its name, and their sentences. The keys are part
// of the report format: a key keeps its meaning and its parameters once
// released; a new sentence gets a new key.
type Note struct {
	Key    string `json:"key"`
	Params Params `json:"params,omitempty"`
	What   *Note  `json:"what,omitempty"`
}

// Params are the parameters of a Note by name, as their sentences name
// them: {role} is Params["role"].
type Params = i18n.Params

// Object kinds, the {kind} of MySQL notes; a report translates them
// (engines.kind.<kind> in the catalog, messages/).
const (
	KindRoutine = "routine"
	KindView    = "view"
	KindTrigger = "trigger"
	KindEvent   = "event"
)

// English is the note's English sentence, the text the engines wrote
// before notes had keys: reports and scripts that match on it keep
// working. A key this version does not know, or a parameter its sentence
// names but the note lacks, cannot happen with the engines of this
// version; should it, English says what it has rather than nothing.
func (n Note) English() string {
	if _, ok := i18n.Lookup(i18n.EN, n.Key); !ok {
		names := make([]string, 0, len(n.Params))
		for k := range n.Params {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := []string{n.Key}
		for _, k := range names {
			parts = append(parts, k+"="+n.Params[k])
		}
		if n.What != nil {
			parts = append(parts, "what="+n.What.English())
		}
		return strings.Join(parts, " ")
	}
	s, _ := i18n.Render(i18n.EN, n.Key, func(name string) (string, bool) {
		if name == "what" && n.What != nil {
			return n.What.English(), true
		}
		return n.param(i18n.EN, name)
	})
	return s
}

// Text is the note in lang: its key's sentence, with its parameters as
// they are but for {kind}, a word of the language, and {what}, itself a
// Note. False when the key, a parameter or What is not known here (a note
// of a newer dbopsd): show the English stored beside it then.
func (n Note) Text(lang i18n.Lang) (string, bool) {
	if n.Key == "" {
		return "", false
	}
	return i18n.Render(lang, n.Key, func(name string) (string, bool) {
		if name == "what" {
			if n.What == nil {
				return "", false
			}
			return n.What.Text(lang)
		}
		return n.param(lang, name)
	})
}

func (n Note) param(lang i18n.Lang, name string) (string, bool) {
	v, ok := n.Params[name]
	if ok && name == "kind" {
		if word, known := i18n.Lookup(lang, "engines.kind."+v); known {
			return word, true
		}
	}
	return v, ok
}

// AddSkipped records something a restore did not recreate: n's English
// in Skipped and n in SkippedMessages. It returns the English.
func (r *RestoreReport) AddSkipped(n Note) string {
	s := n.English()
	r.Skipped = append(r.Skipped, s)
	r.SkippedMessages = append(r.SkippedMessages, n)
	return s
}

// AddNote records something else a DBA should read: n's English in Notes
// and n in NoteMessages. It returns the English.
func (r *RestoreReport) AddNote(n Note) string {
	s := n.English()
	r.Notes = append(r.Notes, s)
	r.NoteMessages = append(r.NoteMessages, n)
	return s
}

// Skip records why no check ran: n's English in Skipped, n in
// SkippedMessage.
func (r *IntegrityReport) Skip(n Note) {
	r.Skipped, r.SkippedMessage = n.English(), &n
}
