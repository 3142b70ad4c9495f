package config

import (
	"github.com/dbopsd/dbopsd/when"

	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/dbopsd/dbopsd/engines"
)

// Reconcile is a reconcile "name" { } block: a table compared with its
// counterpart on another database, possibly another server and engine, on
// a schedule (the interface-data reconciliation).
type Reconcile struct {
	Name        string
	Left, Right ReconcileSide
	Key         []string // the key columns, on both sides
	Columns     []string // columns compared besides the key; empty: all
	Where       string   // a filter both engines understand; "" for none
	Schedule    string   // "biweekly" (default) | "weekly" | "monthly" | cron
	// Window (window) is when a scheduled run may start and must end,
	// "HH:MM-HH:MM" in daemon.timezone; "" = any time.
	Window string
	// ScheduleSpec and WindowSpan are Schedule and Window parsed, once,
	// when the policy loads (in daemon.timezone); the daemon runs these.
	ScheduleSpec when.Spec
	WindowSpan   when.Window
	// RateLimit (rate_limit) bounds the rows read per second on each side;
	// 0 = no limit.
	RateLimit int64
	// StatementTimeout (statement_timeout, "10m") bounds each statement on
	// the servers; default DefaultReconcileTimeout.
	StatementTimeout time.Duration
	// Samples (samples) is how many keys of each kind a result keeps;
	// default DefaultReconcileSamples.
	Samples int
	Range   hcl.Range
	// KeyRange and ColumnsRange are where key and columns are written,
	// for diagnostics of checks against the servers.
	KeyRange, ColumnsRange hcl.Range
}

// ReconcileSide is one side of a reconcile block: a database block of the
// policy and a table in it.
type ReconcileSide struct {
	Database string // a database block's name
	Table    engines.TableRef
	Range    hcl.Range // of the side's value, for diagnostics
}

// Defaults of a reconcile block.
const (
	DefaultReconcileTimeout = 10 * time.Minute
	DefaultReconcileSamples = 20
)

var reconcileSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "left", Required: true}, {Name: "right", Required: true}, {Name: "key", Required: true},
	{Name: "columns"}, {Name: "where"}, {Name: "schedule"}, {Name: "window"}, {Name: "rate_limit"},
	{Name: "statement_timeout"}, {Name: "samples"},
}}

// Reconcile returns the reconcile block with the given name.
func (c *Config) Reconcile(name string) (*Reconcile, error) {
	return lookup(c, "reconcile", name, c.Reconciles)
}

func (d *decoder) decodeReconcile(b *hcl.Block, r *Reconcile) {
	a := d.content(b, reconcileSchema, r).Attributes
	owner := fmt.Sprintf("reconcile %q", r.Name)
	r.Schedule, r.StatementTimeout, r.Samples = Biweekly, DefaultReconcileTimeout, DefaultReconcileSamples
	d.reconcileSide(owner, a, "left", &r.Left)
	d.reconcileSide(owner, a, "right", &r.Right)
	d.strings(a, "key", &r.Key)
	d.strings(a, "columns", &r.Columns)
	r.KeyRange, r.ColumnsRange = *d.at(r, "key"), *d.at(r, "columns")
	d.str(a, "where", &r.Where)
	d.str(a, "schedule", &r.Schedule)
	d.str(a, "window", &r.Window)
	var n int
	if d.integer(a, "rate_limit", &n) {
		if n < 0 {
			d.errorf(d.at(r, "rate_limit"), "Value out of range", "%s: rate_limit is rows read per second on each side; it must be 0 (no limit) or more.", owner)
		}
		r.RateLimit = int64(n)
	}
	var v string
	if d.str(a, "statement_timeout", &v) {
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			d.errorf(d.at(r, "statement_timeout"), "Invalid statement_timeout", "%s: statement_timeout = %q is not a duration; write it as e.g. \"10m\" or \"90s\".", owner, v)
		} else {
			r.StatementTimeout = t
		}
	}
	if d.integer(a, "samples", &r.Samples) && r.Samples < 1 {
		d.errorf(d.at(r, "samples"), "Value out of range", "%s: samples must be at least 1.", owner)
	}
}

// reconcileSide reads left or right = { database = "...", table = "..." }.
func (d *decoder) reconcileSide(owner string, attrs hcl.Attributes, name string, s *ReconcileSide) {
	a := attrs[name]
	if a == nil {
		return
	}
	s.Range = a.Expr.Range()
	v, ok := d.value(a, cty.Map(cty.String), `an object such as { database = "name", table = "schema.table" }`)
	if !ok {
		return
	}
	m := v.AsValueMap()
	for k := range m {
		if k != "database" && k != "table" {
			d.errorf(&s.Range, "Unsupported argument", "%s: %s has %q; a side names only database (a database block) and table (\"schema.table\", or \"table\" on MySQL).%s",
				owner, name, k, suggest(k, []string{"database", "table"}))
		}
	}
	if db, ok := m["database"]; ok {
		s.Database = db.AsString()
	} else {
		d.errorf(&s.Range, "Missing required argument", "%s: %s needs database, the name of a database block.", owner, name)
	}
	t, ok := m["table"]
	if !ok {
		d.errorf(&s.Range, "Missing required argument", "%s: %s needs table, \"schema.table\" (or \"table\" on MySQL).", owner, name)
		return
	}
	ref, err := engines.ParseTableRef(t.AsString())
	if err != nil {
		d.errorf(&s.Range, "Invalid table", "%s: %s: %v.", owner, name, err)
		return
	}
	s.Table = ref
}

// validateReconcile checks that both sides name database blocks, that the
// key is given, and the schedule and window.
func (d *decoder) validateReconcile(cfg *Config, r *Reconcile) {
	owner := fmt.Sprintf("reconcile %q", r.Name)
	for _, s := range []struct {
		name string
		side *ReconcileSide
	}{{"left", &r.Left}, {"right", &r.Right}} {
		if s.side.Database == "" {
			continue // reported while decoding
		}
		if _, ok := cfg.Databases[s.side.Database]; !ok {
			names := sortedKeys(cfg.Databases)
			d.errorf(&s.side.Range, fmt.Sprintf("Unknown database %q", s.side.Database),
				"%s: %s names database %q, which is not defined; defined: %s.%s", owner, s.name, s.side.Database, strings.Join(names, ", "), suggest(s.side.Database, names))
		}
	}
	if d.has(r, "key") && len(r.Key) == 0 {
		d.errorf(d.at(r, "key"), "Missing key", "%s: key must name at least one column, the key both sides share (e.g. [\"id\"]).", owner)
	}
	for i, k := range r.Key {
		if strings.TrimSpace(k) == "" || slices.Contains(r.Key[:i], k) {
			d.errorf(d.at(r, "key"), "Invalid key", "%s: key column %q is empty or given twice.", owner, k)
		}
	}
	if d.schedule(r, owner, "schedule", r.Schedule, []string{Biweekly, Weekly, Monthly}) {
		spec, err := when.ParseSpec(r.Schedule, cfg.Daemon.Location)
		if err != nil {
			d.errorf(d.at(r, "schedule"), "Invalid schedule", "%s: %v.", owner, err)
		}
		r.ScheduleSpec = spec
	}
	w, err := when.ParseWindow(r.Window)
	if err != nil {
		d.errorf(d.at(r, "window"), "Invalid window", "%s: %v; write it as \"HH:MM-HH:MM\" in daemon.timezone, e.g. \"19:00-07:00\" (outside the service hall's hours).", owner, err)
	}
	r.WindowSpan = w
}
