package dictionary

import (
	"github.com/dbopsd/dbopsd/i18n"
)

// Kinds of Change.
const (
	TableAdded    = "table_added"
	TableDropped  = "table_dropped"
	ColumnAdded   = "column_added"
	ColumnDropped = "column_dropped"
	ColumnRetyped = "column_retyped"
	TableComment  = "table_comment"
	ColumnComment = "column_comment"
)

// Change is one difference between two dictionaries.
type Change struct {
	Kind   string `json:"kind"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// TableKind is the kind of the table added or dropped.
	TableKind string `json:"table_kind,omitempty"`
	Column    string `json:"column,omitempty"`
	// Old and New: the types of a retyped column, the comments of a
	// changed comment, the type of an added column (New).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Text is the change as a sentence in lang.
func (c Change) Text(lang i18n.Lang) string {
	w := words(lang)
	table := c.Schema + "." + c.Table
	kind := ""
	if c.TableKind != "" {
		kind = kindWord(w, c.TableKind)
	}
	return w.F("change."+c.Kind, "table", table, "column", c.Column, "kind", kind, "type", c.New, "old", c.Old, "new", c.New)
}

// Diff lists what changed from old to new: tables and columns added,
// dropped and retyped, comments changed; tables in name order, columns in
// the new table's order.
func Diff(old, new *Dictionary) []Change {
	changes := []Change{}
	was := map[Ref]*Table{}
	for i := range old.Tables {
		was[old.Tables[i].Ref()] = &old.Tables[i]
	}
	is := map[Ref]bool{}
	for i := range new.Tables {
		t := &new.Tables[i]
		is[t.Ref()] = true
		o, ok := was[t.Ref()]
		if !ok {
			changes = append(changes, Change{Kind: TableAdded, Schema: t.Schema, Table: t.Name, TableKind: t.Kind})
			continue
		}
		if o.Comment != t.Comment {
			changes = append(changes, Change{Kind: TableComment, Schema: t.Schema, Table: t.Name, Old: o.Comment, New: t.Comment})
		}
		oc := map[string]Column{}
		for _, c := range o.Columns {
			oc[c.Name] = c
		}
		nc := map[string]bool{}
		for _, c := range t.Columns {
			nc[c.Name] = true
			p, ok := oc[c.Name]
			switch {
			case !ok:
				changes = append(changes, Change{Kind: ColumnAdded, Schema: t.Schema, Table: t.Name, Column: c.Name, New: c.Type})
				continue
			case p.Type != c.Type:
				changes = append(changes, Change{Kind: ColumnRetyped, Schema: t.Schema, Table: t.Name, Column: c.Name, Old: p.Type, New: c.Type})
			}
			if p.Comment != c.Comment {
				changes = append(changes, Change{Kind: ColumnComment, Schema: t.Schema, Table: t.Name, Column: c.Name, Old: p.Comment, New: c.Comment})
			}
		}
		for _, c := range o.Columns {
			if !nc[c.Name] {
				changes = append(changes, Change{Kind: ColumnDropped, Schema: t.Schema, Table: t.Name, Column: c.Name, Old: c.Type})
			}
		}
	}
	for i := range old.Tables {
		t := &old.Tables[i]
		if !is[t.Ref()] {
			changes = append(changes, Change{Kind: TableDropped, Schema: t.Schema, Table: t.Name, TableKind: t.Kind})
		}
	}
	return changes
}

// Coverage is how much of one schema is commented.
type Coverage struct {
	Schema           string `json:"schema"`
	Tables           int    `json:"tables"`
	TablesCommented  int    `json:"tables_commented"`
	Columns          int    `json:"columns"`
	ColumnsCommented int    `json:"columns_commented"`
}

// TablePercent and ColumnPercent are the shares commented, 0-100.
func (c Coverage) TablePercent() float64  { return percent(c.TablesCommented, c.Tables) }
func (c Coverage) ColumnPercent() float64 { return percent(c.ColumnsCommented, c.Columns) }

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
}

// Coverages measures the comments per schema (tables and views), in
// schema order, with a last entry for the whole database (Schema "").
func Coverages(d *Dictionary) []Coverage {
	var out []Coverage
	at := map[string]int{}
	for _, s := range d.Schemas {
		at[s.Name] = len(out)
		out = append(out, Coverage{Schema: s.Name})
	}
	var total Coverage
	for _, t := range d.Tables {
		i, ok := at[t.Schema]
		if !ok {
			at[t.Schema] = len(out)
			i = len(out)
			out = append(out, Coverage{Schema: t.Schema})
		}
		c := &out[i]
		for _, c2 := range []*Coverage{c, &total} {
			c2.Tables++
			if t.Comment != "" {
				c2.TablesCommented++
			}
			for _, col := range t.Columns {
				c2.Columns++
				if col.Comment != "" {
					c2.ColumnsCommented++
				}
			}
		}
	}
	return append(out, total)
}
