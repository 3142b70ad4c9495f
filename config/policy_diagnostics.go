package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/when"
)

// Diagnostics is a policy's diagnostics { } block: when the daily
// inspection and the monthly diagnosis of its databases run, the
// thresholds of the checks (zero: the check page's default), the space
// forecast's horizon and capacity, and suppressions.
type Diagnostics struct {
	// DailyTime (daily_time) is when the daily inspection runs, since
	// midnight in daemon.timezone; default 06:00.
	DailyTime time.Duration
	// MonthlyDay and MonthlyTime (monthly_day, monthly_time): the monthly
	// diagnosis runs on that day of each month (1 to 28) at that time;
	// default the 1st at 07:00.
	MonthlyDay  int
	MonthlyTime time.Duration

	LongTransaction   time.Duration // long_transaction, e.g. "1h"
	IdleInTransaction time.Duration // idle_in_transaction
	BlockedWait       time.Duration // blocked_wait
	ReplicationLag    time.Duration // replication_lag
	BackupDuration    time.Duration // backup_duration: backup-duration-trend's limit without a backup window; default 8h
	CheckpointAge     time.Duration // checkpoint_age: control-data's limit on the last checkpoint's age; default 1h
	ConnectionsPct    float64       // connections_pct, 1 to 100
	BloatPct          float64       // bloat_pct, 1 to 100
	BigTableBytes     int64         // big_table, e.g. "50GiB"
	BloatMinBytes     int64         // bloat_min
	SlotRetainedBytes int64         // slot_retained: WAL a replication slot may hold back; default 10GiB
	XIDAge            int64         // xid_age
	// HorizonDays (horizon_days): a space forecast inside it is a finding;
	// default 90.
	HorizonDays int
	// Capacity (capacity, e.g. "2TiB") is the size of the volume the
	// databases live on, for forecasts when dbopsd cannot measure it.
	Capacity int64
	// DataPath (data_path) is where the databases' data lives when dbopsd
	// runs on the database host: the volume's used and total bytes are
	// measured there (statfs) for the space forecasts.
	DataPath string

	Suppressions []Suppression
	Range        hcl.Range
}

// Suppression is a suppress "CHECK-ID" { } block: the check's findings
// (for Database and Object, when set) are shown as suppressed until
// Until, for Reason.
type Suppression struct {
	Check    string
	Database string
	Object   string
	Reason   string
	Until    time.Time
	Range    hcl.Range
}

// Defaults of the diagnostics block.
const (
	DefaultDiagnosticsDailyTime   = 6 * time.Hour
	DefaultDiagnosticsMonthlyDay  = 1
	DefaultDiagnosticsMonthlyTime = 7 * time.Hour
	DefaultHorizonDays            = 90
)

var (
	diagnosticsSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "daily_time"}, {Name: "monthly_day"}, {Name: "monthly_time"},
			{Name: "long_transaction"}, {Name: "idle_in_transaction"}, {Name: "blocked_wait"}, {Name: "replication_lag"},
			{Name: "connections_pct"}, {Name: "bloat_pct"}, {Name: "big_table"}, {Name: "bloat_min"}, {Name: "xid_age"},
			{Name: "horizon_days"}, {Name: "capacity"}, {Name: "data_path"}, {Name: "backup_duration"},
			{Name: "checkpoint_age"}, {Name: "slot_retained"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "suppress", LabelNames: []string{"check"}}},
	}
	suppressSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "database"}, {Name: "object"}, {Name: "reason", Required: true}, {Name: "until", Required: true},
	}}
	checkID = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
)

// DiagnosticsFor is the diagnostics settings of db: its own block, else
// its policy's, else the defaults.
func (c *Config) DiagnosticsFor(db *Database) *Diagnostics {
	if db.Diagnostics != nil {
		return db.Diagnostics
	}
	if p := c.PolicyFor(db); p != nil && p.Diagnostics != nil {
		return p.Diagnostics
	}
	return defaultDiagnostics()
}

// defaultDiagnostics is the settings of an empty diagnostics block.
func defaultDiagnostics() *Diagnostics {
	return &Diagnostics{DailyTime: DefaultDiagnosticsDailyTime, MonthlyDay: DefaultDiagnosticsMonthlyDay,
		MonthlyTime: DefaultDiagnosticsMonthlyTime, HorizonDays: DefaultHorizonDays}
}

// decodeDiagnostics reads a diagnostics block of parent (`policy "p"` or
// `database "d"`) into *dst.
func (d *decoder) decodeDiagnostics(b *hcl.Block, parent string, dst **Diagnostics) {
	if *dst != nil {
		d.errorf(&b.DefRange, "Duplicate diagnostics block", "%s already has a diagnostics block at %s.", parent, shortRange((*dst).Range))
		return
	}
	g := defaultDiagnostics()
	g.Range = b.DefRange
	*dst = g
	c := d.content(b, diagnosticsSchema, g)
	a := c.Attributes
	owner := parent + ": diagnostics"
	var v string
	for _, t := range []struct {
		attr string
		dst  *time.Duration
	}{{"daily_time", &g.DailyTime}, {"monthly_time", &g.MonthlyTime}} {
		if d.str(a, t.attr, &v) {
			at, err := when.ParseTimeOfDay(v)
			if err != nil {
				d.errorf(d.at(g, t.attr), "Invalid "+t.attr, "%s: %s = %q is not a time of day; write \"HH:MM\" (00:00 to 23:59) in daemon.timezone.", owner, t.attr, v)
				continue
			}
			*t.dst = at
		}
	}
	if d.integer(a, "monthly_day", &g.MonthlyDay) && (g.MonthlyDay < 1 || g.MonthlyDay > 28) {
		d.errorf(d.at(g, "monthly_day"), "Invalid monthly_day", "%s: monthly_day must be a day of the month from 1 to 28 (every month has it).", owner)
	}
	for _, t := range []struct {
		attr string
		dst  *time.Duration
	}{{"long_transaction", &g.LongTransaction}, {"idle_in_transaction", &g.IdleInTransaction},
		{"blocked_wait", &g.BlockedWait}, {"replication_lag", &g.ReplicationLag}, {"backup_duration", &g.BackupDuration},
		{"checkpoint_age", &g.CheckpointAge}} {
		if d.str(a, t.attr, &v) {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				d.errorf(d.at(g, t.attr), "Invalid "+t.attr, "%s: %s = %q is not a duration; write e.g. \"30s\", \"10m\" or \"1h\".", owner, t.attr, v)
				continue
			}
			*t.dst = dur
		}
	}
	for _, t := range []struct {
		attr string
		dst  *float64
	}{{"connections_pct", &g.ConnectionsPct}, {"bloat_pct", &g.BloatPct}} {
		if d.number(a, t.attr, t.dst) && (*t.dst <= 0 || *t.dst > 100) {
			d.errorf(d.at(g, t.attr), "Invalid "+t.attr, "%s: %s must be a percentage above 0 and at most 100.", owner, t.attr)
		}
	}
	for _, t := range []struct {
		attr string
		dst  *int64
	}{{"big_table", &g.BigTableBytes}, {"bloat_min", &g.BloatMinBytes}, {"capacity", &g.Capacity},
		{"slot_retained", &g.SlotRetainedBytes}} {
		if d.str(a, t.attr, &v) {
			n, err := ParseSize(v)
			if err != nil || n <= 0 {
				d.errorf(d.at(g, t.attr), "Invalid "+t.attr, "%s: %s = %q is not a size; write e.g. \"500MiB\", \"50GiB\" or \"2TiB\".", owner, t.attr, v)
				continue
			}
			*t.dst = n
		}
	}
	var xid int
	if d.integer(a, "xid_age", &xid) {
		if xid < 1_000_000 || xid > 2_000_000_000 {
			d.errorf(d.at(g, "xid_age"), "Invalid xid_age", "%s: xid_age must be from 1000000 to 2000000000 (wraparound is at about 2^31).", owner)
		}
		g.XIDAge = int64(xid)
	}
	d.path(a, "data_path", &g.DataPath)
	if d.integer(a, "horizon_days", &g.HorizonDays) && g.HorizonDays < 1 {
		d.errorf(d.at(g, "horizon_days"), "Invalid horizon_days", "%s: horizon_days must be at least 1.", owner)
	}
	for _, sb := range c.Blocks {
		s := Suppression{Check: sb.Labels[0], Range: sb.DefRange}
		sa := d.content(sb, suppressSchema, &s).Attributes
		if !checkID.MatchString(s.Check) {
			d.errorf(sb.LabelRanges[0].Ptr(), "Invalid check id", "%s: suppress %q: a check id is lower case words joined by \"-\", as in the check pages (docs/checks/), e.g. \"long-transaction\".", owner, s.Check)
		} else if known := diagmodel.CheckIDs(); known != nil && !slices.Contains(known, s.Check) {
			// The ids come from the diagnostics catalog when the program
			// links it (dbopsd does); see diagmodel.RegisterCheckIDs.
			d.errorf(sb.LabelRanges[0].Ptr(), "Unknown check id", "%s: suppress %q: no check has this id; the checks are listed in docs/checks/README.md.%s", owner, s.Check, suggest(s.Check, known))
		}
		d.str(sa, "database", &s.Database)
		d.str(sa, "object", &s.Object)
		d.str(sa, "reason", &s.Reason)
		if a := sa["reason"]; a != nil && strings.TrimSpace(s.Reason) == "" {
			d.errorf(a.Expr.Range().Ptr(), "Empty reason", "%s: suppress %q: say why the finding is suppressed.", owner, s.Check)
		}
		if d.str(sa, "until", &v) {
			date, err := when.ParseDate(v)
			if err != nil {
				d.errorf(sa["until"].Expr.Range().Ptr(), "Invalid until", "%s: suppress %q: until = %q is not a date; write when the suppression ends as \"YYYY-MM-DD\".", owner, s.Check, v)
			}
			s.Until = date
		}
		g.Suppressions = append(g.Suppressions, s)
	}
}

// ParseSize reads a size: a whole number of bytes with an optional unit
// B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
	}
	return int64(f * mult), nil
}
