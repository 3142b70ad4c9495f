package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// DefaultExactRowsBelow is volume.exact_rows_below when the policy does not
// set it.
const DefaultExactRowsBelow = 100000

// Volume is the volume { } block: how the data dictionary and the daily
// volume samples count rows, and the tables registered monthly for the data
// resource platform (按月登记数据汇总).
type Volume struct {
	// ExactRowsBelow: tables the server estimates below this many rows are
	// counted exactly (count(*)); larger ones keep the estimate, marked as
	// such. 0 counts none exactly; nil (not set) is DefaultExactRowsBelow:
	// read it with ExactRows.
	ExactRowsBelow *int64
	// Tables are the registered tables, in the file's order.
	Tables []VolumeTable
	Range  hcl.Range
}

// ExactRows is ExactRowsBelow, or its default when the policy does not set it.
func (v Volume) ExactRows() int64 {
	if v.ExactRowsBelow == nil {
		return DefaultExactRowsBelow
	}
	return *v.ExactRowsBelow
}

// VolumeTable is a table "label" { database = ... table = ... } block.
type VolumeTable struct {
	Label    string
	Database string // a database block's name
	Table    string // schema.table (PostgreSQL) or table (MySQL)
	Range    hcl.Range
}

var (
	volumeSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "exact_rows_below"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "table", LabelNames: []string{"label"}}},
	}
	volumeTableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "database", Required: true}, {Name: "table", Required: true},
	}}
)

// volumeKey is the key of the i-th table block in decoder.attrs.
type volumeKey int

func (d *decoder) decodeVolume(b *hcl.Block, v *Volume) {
	v.Range = b.DefRange
	c := d.content(b, volumeSchema, v)
	var n int
	if d.integer(c.Attributes, "exact_rows_below", &n) {
		v.ExactRowsBelow = new(int64(n))
	}
	labels := map[string]*hcl.Block{}
	for _, tb := range c.Blocks {
		label := tb.Labels[0]
		if prev, dup := labels[label]; dup {
			d.errorf(&tb.LabelRanges[0], fmt.Sprintf("Duplicate volume table %q", label),
				"volume: table %q is already defined at %s; each label may be used once.", label, shortRange(prev.DefRange))
			continue
		}
		labels[label] = tb
		t := VolumeTable{Label: label, Range: tb.DefRange}
		// The attributes are kept under the table's index: validation
		// points at them.
		a := d.content(tb, volumeTableSchema, volumeKey(len(v.Tables))).Attributes
		d.str(a, "database", &t.Database)
		d.str(a, "table", &t.Table)
		v.Tables = append(v.Tables, t)
	}
}

func (d *decoder) validateVolume(cfg *Config) {
	v := &cfg.Volume
	if n := v.ExactRows(); n < 0 {
		d.errorf(d.at(v, "exact_rows_below"), "Invalid exact_rows_below", "volume: exact_rows_below must be 0 or more (0 counts no table exactly), not %d.", n)
	}
	for i, t := range v.Tables {
		owner := fmt.Sprintf("volume table %q", t.Label)
		attrs := d.attrs[volumeKey(i)]
		if db, ok := cfg.Databases[t.Database]; !ok {
			if a := attrs["database"]; a != nil {
				names := sortedKeys(cfg.Databases)
				defined := "none is defined"
				if len(names) > 0 {
					defined = "defined: " + strings.Join(names, ", ")
				}
				d.errorf(a.Expr.Range().Ptr(), fmt.Sprintf("Unknown database %q", t.Database), "%s: database %q is not defined; %s.%s", owner, t.Database, defined, suggest(t.Database, names))
			}
		} else if db.Engine == "postgres" && strings.Count(t.Table, ".") != 1 {
			if a := attrs["table"]; a != nil {
				d.errorf(a.Expr.Range().Ptr(), "Invalid volume table", "%s: table %q of PostgreSQL database %q must be written schema.table (e.g. \"public.%s\").", owner, t.Table, t.Database, t.Table)
			}
		}
	}
}
