package dictionary

import (
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
)

// Document is what the renderers draw: a dictionary and what is known
// about it beside the model.
type Document struct {
	Dict *Dictionary
	Lang i18n.Lang
	// Previous is when the dictionary Changes compare with was taken; zero
	// when there was none.
	Previous time.Time
	Changes  []Change
	// Diagrams are the ER pictures (SVG) by table; DiagramsMissing says
	// dot was not found, so that the renderers say the pictures were left
	// out.
	Diagrams        map[Ref]string
	DiagramsMissing bool
	// Location is the time zone of the times shown (nil: UTC).
	Location *time.Location
}

func (doc *Document) words() words {
	if doc.Lang == "" {
		return words(i18n.ZH)
	}
	return words(doc.Lang)
}

func (doc *Document) time(t time.Time) string {
	loc := doc.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// changed reports the tables Changes names (added, retyped, commented...).
func (doc *Document) changed() map[Ref]bool {
	m := map[Ref]bool{}
	for _, c := range doc.Changes {
		m[ref(c.Schema, c.Table)] = true
	}
	return m
}

func kindWord(w words, kind string) string {
	return w.T("kind." + strings.ReplaceAll(kind, " ", "_"))
}

// rowsText is a row count with its estimate mark.
func rowsText(w words, t *Table) string {
	if t.Rows == nil {
		return ""
	}
	s := strconv.FormatInt(*t.Rows, 10)
	if t.RowsEstimated {
		s += " (" + w.T("rows_estimated") + ")"
	}
	return s
}

func num(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

// fileName is the Markdown file of a table, tbls style: schema.table.md,
// with what a file system refuses replaced.
func fileName(r Ref) string {
	return safeName(r.Schema+"."+r.Name) + ".md"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|', 0:
			return '_'
		}
		return r
	}, s)
}

func columnsOf(f []string) string { return strings.Join(f, ", ") }

// neighbours are the tables t references and those referencing it.
func neighbours(t *Table) []Ref {
	seen := map[Ref]bool{t.Ref(): true}
	var out []Ref
	for _, fk := range t.ForeignKeys {
		r := ref(fk.RefSchema, fk.RefTable)
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, fk := range t.ReferencedBy {
		r := ref(fk.Schema, fk.Table)
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
