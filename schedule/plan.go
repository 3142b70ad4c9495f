package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/when"
)

// Kinds of job the plan knows. More kinds (diagnostics, reports) come in as
// Planners with their own names.
const (
	KindFull         = "full"
	KindDifferential = "differential"
	KindVerify       = "verify"
	KindPrune        = "prune"
	KindMirror       = "mirror"
)

// kindRank orders the kinds of one database in the queue: a full first, so
// that a differential waiting with it is dropped once the full covers it.
func kindRank(kind string) int {
	switch kind {
	case KindFull:
		return 0
	case KindDifferential:
		return 1
	case KindVerify:
		return 2
	}
	return 3
}

// IsBackup reports whether kind writes a backup (and so keeps to its
// policy's window).
func IsBackup(kind string) bool { return kind == KindFull || kind == KindDifferential }

// Entry is one kind of job for one database (or for the site, Database
// ""), with when it is due.
type Entry struct {
	Kind     string
	Database string // "" for site-wide jobs (prune, mirror)
	Policy   string // the policy it comes from; "" for site-wide jobs
	// Spec is when the entry comes due by the clock; nil for entries due on
	// events only (verify after_full, mirror after each backup).
	Spec Spec
	// Schedule is the schedule as written in the policy, a named one with
	// its day and time ("monthly (first Sunday, 01:00)", "0 2 1 * *",
	// "after_full").
	Schedule string
	Window   when.Window // backups start only inside it
	Critical bool
	Server   string // host:port, for max_per_server; "" = no server
	// Due decides from the history whether the entry should run at now.
	Due func(f Facts, now time.Time) Due
}

// Key identifies an entry: kind and database.
func (e *Entry) Key() Key { return Key{Kind: e.Kind, Database: e.Database} }

// Key identifies an entry or a task's kind and database.
type Key struct {
	Kind     string
	Database string
}

func (k Key) String() string {
	if k.Database == "" {
		return k.Kind
	}
	return k.Kind + " of " + k.Database
}

// Due is an entry's state at one moment.
type Due struct {
	Due bool
	// Missed is the first scheduled run that passed without a success
	// (zero when the entry never succeeded or is due by an event).
	Missed time.Time
	// Slots is the number of scheduled runs since the last success.
	Slots int
	// Why says in words why the entry is due.
	Why string
}

// Facts is what the history knows: the newest successes.
type Facts struct {
	// DB holds the facts of each database that has any.
	DB map[string]DBFacts
	// Site holds the newest success of each site-wide kind (prune, mirror).
	Site map[string]time.Time
}

// DBFacts are one database's newest successes.
type DBFacts struct {
	Full       time.Time // start of the newest successful full
	FullID     string
	FullVerify string    // verification outcome of the newest full: "", "ok", "failed"
	Backup     time.Time // start of the newest successful backup, full or differential
	BackupID   string
	// BackupVerify is the verification outcome of the newest backup.
	BackupVerify string
	Verified     time.Time // the newest successful verification
	// Other holds the newest success of other kinds of job, by kind.
	Other map[string]time.Time
}

// Planner adds entries for a configuration.
type Planner func(cfg *config.Config) ([]Entry, error)

// Plan is every entry of a configuration, in queue order: critical
// databases first, then by name, each database's entries by kind; site-wide
// entries last.
type Plan struct {
	Entries     []Entry
	MaxParallel int
	PerServer   int
	Location    *time.Location
	// Databases describes each database, for requests from the CLI.
	Databases map[string]DatabaseInfo
}

// DatabaseInfo is what the queue needs to know of a database.
type DatabaseInfo struct {
	Name      string
	Policy    string
	Critical  bool
	Server    string
	Window    when.Window
	CanVerify bool // its policy names a verify_target
	// VerifyServer is the server of the policy's verify_target.
	VerifyServer string
}

func verifyServer(cfg *config.Config, pol *config.Policy) string {
	if t := cfg.RestoreTargets[pol.VerifyTarget]; t != nil {
		return t.Server()
	}
	return ""
}

// NewPlan builds the plan of cfg from the default planners (Backups, Prune,
// Mirror) and any extra ones.
func NewPlan(cfg *config.Config, extra ...Planner) (*Plan, error) {
	loc := cfg.Daemon.Location
	if loc == nil {
		loc = time.Local
	}
	p := &Plan{
		MaxParallel: max(cfg.Daemon.MaxParallel, 1),
		PerServer:   cfg.Daemon.PerServer,
		Location:    loc,
		Databases:   map[string]DatabaseInfo{},
	}
	for _, name := range cfg.DatabaseNames() {
		db := cfg.Databases[name]
		pol := cfg.PolicyFor(db)
		if pol == nil {
			return nil, fmt.Errorf("database %q: policy %q is not defined", name, db.Policy)
		}
		p.Databases[name] = DatabaseInfo{Name: name, Policy: pol.Name, Critical: db.Critical, Server: db.Server(), Window: pol.Window,
			CanVerify: pol.VerifyTarget != "", VerifyServer: verifyServer(cfg, pol)}
	}
	for _, planner := range append([]Planner{Backups, Prune, Mirror}, extra...) {
		entries, err := planner(cfg)
		if err != nil {
			return nil, err
		}
		p.Entries = append(p.Entries, entries...)
	}
	order := map[string]int{}
	for i, n := range cfg.DatabaseNames() {
		order[n] = i
	}
	slices.SortStableFunc(p.Entries, func(a, b Entry) int {
		if (a.Database == "") != (b.Database == "") {
			if a.Database == "" {
				return 1
			}
			return -1
		}
		if a.Database != b.Database {
			return order[a.Database] - order[b.Database]
		}
		return kindRank(a.Kind) - kindRank(b.Kind)
	})
	seen := map[Key]bool{}
	for _, e := range p.Entries {
		if seen[e.Key()] {
			return nil, fmt.Errorf("two planners scheduled %s", e.Key())
		}
		seen[e.Key()] = true
	}
	return p, nil
}

// Entry returns the entry for key, or nil.
func (p *Plan) Entry(k Key) *Entry {
	for i := range p.Entries {
		if p.Entries[i].Key() == k {
			return &p.Entries[i]
		}
	}
	return nil
}

// Backups plans full, differential and verify entries for every database.
func Backups(cfg *config.Config) ([]Entry, error) {
	var out []Entry
	for _, name := range cfg.DatabaseNames() {
		db := cfg.Databases[name]
		pol := cfg.PolicyFor(db)
		if pol == nil {
			return nil, fmt.Errorf("database %q: policy %q is not defined", name, db.Policy)
		}
		base := Entry{Database: name, Policy: pol.Name, Window: pol.Window, Critical: db.Critical, Server: db.Server()}

		full, diff := pol.FullSpec, pol.DifferentialSpec
		if full == nil {
			return nil, fmt.Errorf("policy %q: its schedules were not parsed (a policy must come from config.Load)", pol.Name)
		}
		e := base
		e.Kind, e.Spec, e.Schedule = KindFull, full, full.String()
		e.Due = func(f Facts, now time.Time) Due {
			last := f.DB[name].Full
			if last.IsZero() {
				return Due{Due: true, Why: "no successful full backup yet"}
			}
			return BySpec(full, last, now, "full")
		}
		out = append(out, e)

		if diff != nil {
			e := base
			e.Kind, e.Spec, e.Schedule = KindDifferential, diff, diff.String()
			e.Due = func(f Facts, now time.Time) Due {
				df := f.DB[name]
				if df.Full.IsZero() {
					return Due{} // the full entry is due; a differential has nothing to build on
				}
				// Any backup, full or differential, holds what a
				// differential would: count from the newest.
				return BySpec(diff, df.Backup, now, "backup")
			}
			out = append(out, e)
		}

		if pol.Verify != config.None && pol.Verify != "" && pol.VerifyTarget != "" {
			e := base
			e.Kind, e.Schedule = KindVerify, pol.Verify
			// Verification reads the repository and writes the scratch
			// target only: no window, and the target's server is the one
			// max_per_server counts.
			e.Window, e.Server = when.Window{}, verifyServer(cfg, pol)
			switch pol.Verify {
			case config.VerifyAfterFull:
				e.Due = func(f Facts, _ time.Time) Due {
					df := f.DB[name]
					if df.FullID == "" || df.FullVerify != "" {
						return Due{}
					}
					return Due{Due: true, Why: "the newest full backup " + df.FullID + " is not verified yet"}
				}
			case config.VerifyAfterEach:
				e.Due = func(f Facts, _ time.Time) Due {
					df := f.DB[name]
					if df.BackupID == "" || df.BackupVerify != "" {
						return Due{}
					}
					return Due{Due: true, Why: "the newest backup " + df.BackupID + " is not verified yet"}
				}
			default:
				spec := pol.VerifySpec
				if spec == nil {
					return nil, fmt.Errorf("policy %q: verify = %q was not parsed (a policy must come from config.Load)", pol.Name, pol.Verify)
				}
				e.Spec = spec
				e.Due = func(f Facts, now time.Time) Due {
					df := f.DB[name]
					if df.BackupID == "" {
						return Due{}
					}
					if df.Verified.IsZero() {
						return Due{Due: true, Why: "no successful verification yet"}
					}
					return BySpec(spec, df.Verified, now, "verification")
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Prune plans the daily prune of the repository.
func Prune(cfg *config.Config) ([]Entry, error) {
	spec, err := ParseSpec(DefaultPrune, cfg.Daemon.Location)
	if err != nil {
		return nil, err
	}
	return []Entry{{
		Kind: KindPrune, Spec: spec, Schedule: "daily " + DefaultPrune,
		Due: func(f Facts, now time.Time) Due {
			last := f.Site[KindPrune]
			if last.IsZero() {
				return Due{Due: true, Why: "the repository was never pruned"}
			}
			return BySpec(spec, last, now, "prune")
		},
	}}, nil
}

// Mirror plans copying the repository to its mirrors after each backup.
func Mirror(cfg *config.Config) ([]Entry, error) {
	if len(cfg.Repository.Mirrors) == 0 {
		return nil, nil
	}
	return []Entry{{
		Kind: KindMirror, Schedule: "after each backup",
		Due: func(f Facts, _ time.Time) Due {
			last := f.Site[KindMirror]
			for name, df := range f.DB {
				if df.Backup.After(last) {
					return Due{Due: true, Why: "backup " + df.BackupID + " of " + name + " is not mirrored yet"}
				}
			}
			return Due{}
		},
	}}, nil
}

// BySpec is due when spec has a run after last, at or before now: what
// "last success plus the schedule" means for every entry, the daemon's
// kinds too. what names the job in Why.
func BySpec(spec Spec, last, now time.Time, what string) Due {
	first := spec.Next(last)
	if first.IsZero() || first.After(now) {
		return Due{}
	}
	n := Slots(spec, last, now, 1000)
	return Due{Due: true, Missed: first, Slots: n,
		Why: fmt.Sprintf("last successful %s %s; scheduled %s", what, last.In(now.Location()).Format("2006-01-02 15:04"), first.In(now.Location()).Format("2006-01-02 15:04"))}
}

// Diff describes the changes from old to p, one line each, for the log.
func (p *Plan) Diff(old *Plan) []string {
	var out []string
	if old == nil {
		old = &Plan{}
	}
	if old.MaxParallel != p.MaxParallel {
		out = append(out, fmt.Sprintf("max_parallel %d -> %d", old.MaxParallel, p.MaxParallel))
	}
	if old.PerServer != p.PerServer {
		out = append(out, fmt.Sprintf("max_per_server %d -> %d", old.PerServer, p.PerServer))
	}
	if old.Location != nil && p.Location != nil && old.Location.String() != p.Location.String() {
		out = append(out, fmt.Sprintf("timezone %s -> %s", old.Location, p.Location))
	}
	oldByKey := map[Key]*Entry{}
	for i := range old.Entries {
		oldByKey[old.Entries[i].Key()] = &old.Entries[i]
	}
	newKeys := map[Key]bool{}
	for i := range p.Entries {
		e := &p.Entries[i]
		newKeys[e.Key()] = true
		o := oldByKey[e.Key()]
		if o == nil {
			out = append(out, fmt.Sprintf("added %s: %s", e.Key(), describe(e)))
			continue
		}
		if describe(o) != describe(e) {
			out = append(out, fmt.Sprintf("changed %s: %s -> %s", e.Key(), describe(o), describe(e)))
		}
	}
	for i := range old.Entries {
		if k := old.Entries[i].Key(); !newKeys[k] {
			out = append(out, fmt.Sprintf("removed %s", k))
		}
	}
	return out
}

func describe(e *Entry) string {
	parts := []string{"schedule " + e.Schedule}
	if w := e.Window.String(); w != "" {
		parts = append(parts, "window "+w)
	}
	if e.Critical {
		parts = append(parts, "critical")
	}
	if e.Server != "" {
		parts = append(parts, "server "+e.Server)
	}
	return strings.Join(parts, ", ")
}
