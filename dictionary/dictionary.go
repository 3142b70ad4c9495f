package dictionary

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// The model, under the names its users read.
type (
	Dictionary = dictmodel.Dictionary
	Table      = dictmodel.Table
	Column     = dictmodel.Column
	Ref        = dictmodel.Ref
	Options    = dictmodel.Options
)

// Collector is the engine capability: read the dictionary of database
// through src, a bounded number of statements whatever the table count.
type Collector interface {
	CollectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error)
}

// ErrNotSupported is returned for an engine without a Collector.
var ErrNotSupported = errors.New("the engine does not support data dictionaries")

// Collect reads the dictionary of database with e.
func Collect(ctx context.Context, e engines.Engine, src engines.Conn, database string, opts Options) (*Dictionary, error) {
	c, ok := e.(Collector)
	if !ok {
		return nil, fmt.Errorf("dictionary of %s (%s): %w", database, e.Name(), ErrNotSupported)
	}
	d, err := c.CollectDictionary(ctx, src, database, opts)
	if err != nil {
		return nil, err
	}
	Sort(d)
	return d, nil
}

// Sort puts tables, routines, sequences and types in name order, so that
// renderings and diffs do not depend on the server's order.
func Sort(d *Dictionary) {
	sort.SliceStable(d.Tables, func(i, j int) bool { return less(d.Tables[i].Ref(), d.Tables[j].Ref()) })
	sort.SliceStable(d.Routines, func(i, j int) bool {
		a, b := d.Routines[i], d.Routines[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		return a.Name < b.Name
	})
	sort.SliceStable(d.Sequences, func(i, j int) bool {
		return less(ref(d.Sequences[i].Schema, d.Sequences[i].Name), ref(d.Sequences[j].Schema, d.Sequences[j].Name))
	})
	sort.SliceStable(d.Types, func(i, j int) bool {
		return less(ref(d.Types[i].Schema, d.Types[i].Name), ref(d.Types[j].Schema, d.Types[j].Name))
	})
}

func less(a, b Ref) bool {
	if a.Schema != b.Schema {
		return a.Schema < b.Schema
	}
	return a.Name < b.Name
}

// Find returns the table r of d, or nil.
func Find(d *Dictionary, r Ref) *Table {
	i := sort.Search(len(d.Tables), func(i int) bool { return !less(d.Tables[i].Ref(), r) })
	if i < len(d.Tables) && d.Tables[i].Ref() == r {
		return &d.Tables[i]
	}
	for i := range d.Tables { // unsorted model
		if d.Tables[i].Ref() == r {
			return &d.Tables[i]
		}
	}
	return nil
}

func ref(schema, name string) Ref { return Ref{Schema: schema, Name: name} }

// More of the model, for callers and tests.
type (
	Schema     = dictmodel.Schema
	Constraint = dictmodel.Constraint
	Index      = dictmodel.Index
	ForeignKey = dictmodel.ForeignKey
	Check      = dictmodel.Check
	Trigger    = dictmodel.Trigger
	Routine    = dictmodel.Routine
	Sequence   = dictmodel.Sequence
	Type       = dictmodel.Type
)
