// Package maintmodel is the neutral model of table maintenance that the
// engine adapters fill and the maintenance package reads: the allowed
// operations as typed values (never SQL text), what a table's statistics
// say about it, and how a run is tuned. It sits under engines/ because the
// adapters implement maintenance.Engine and may not import maintenance/
// (internal/layering: engines sit below everything).
package maintmodel

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/engines"
)

// Op is one operation of the allowed list. Nothing else runs: a request
// names an Op, a table and at most an index, and the engine renders the
// statement with quoted identifiers.
type Op string

// The allowed operations.
const (
	// PostgreSQL VACUUM (ANALYZE): online (SHARE UPDATE EXCLUSIVE).
	Vacuum Op = "vacuum"
	// PostgreSQL VACUUM (FULL, ANALYZE): rewrites the table under ACCESS
	// EXCLUSIVE; needs room for a copy.
	VacuumFull Op = "vacuum_full"
	// PostgreSQL REINDEX TABLE|INDEX … CONCURRENTLY: online.
	Reindex Op = "reindex"
	// PostgreSQL ANALYZE, MariaDB ANALYZE TABLE.
	Analyze Op = "analyze"
	// PostgreSQL DROP INDEX CONCURRENTLY, MariaDB DROP INDEX … ON.
	DropIndex Op = "drop_index"
	// MariaDB OPTIMIZE TABLE (InnoDB: recreate + analyze, online DDL).
	Optimize Op = "optimize"
	// MariaDB ALTER TABLE … FORCE (a rebuild, online DDL).
	Rebuild Op = "rebuild"
	// Comment sets the comments of tables and columns (Operation.Comments):
	// PostgreSQL COMMENT ON, in one transaction; MariaDB ALTER TABLE …
	// COMMENT, one statement per change.
	Comment Op = "comment"
)

// Allowed lists the operations per engine name.
var Allowed = map[string][]Op{
	"postgres": {Vacuum, VacuumFull, Reindex, Analyze, DropIndex, Comment},
	"mysql":    {Optimize, Rebuild, Analyze, DropIndex, Comment},
}

// Operation is one maintenance operation on one table.
type Operation struct {
	Op    Op               `json:"op"`
	Table engines.TableRef `json:"table"`
	// Index names the index of Reindex (empty: the whole table) and
	// DropIndex (required), in the table's schema.
	Index string `json:"index,omitempty"`
}

func (o Operation) String() string {
	if o.Op == Comment {
		return string(o.Op)
	}
	if o.Index != "" {
		return fmt.Sprintf("%s %s (index %s)", o.Op, o.Table, o.Index)
	}
	return fmt.Sprintf("%s %s", o.Op, o.Table)
}

// Check reports whether o is allowed on engine.
func (o Operation) Check(engine string) error {
	ops, ok := Allowed[engine]
	if !ok {
		return fmt.Errorf("%w: engine %s has no maintenance operations", ErrNotSupported, engine)
	}
	if !slices.Contains(ops, o.Op) {
		return fmt.Errorf("%w: operation %q is not allowed on %s (allowed: %v)", ErrNotSupported, o.Op, engine, ops)
	}
	if o.Op == Comment {
		// The changes, each naming its table, travel beside the
		// operation (CheckComments).
		if o.Table.Name != "" || o.Index != "" {
			return fmt.Errorf("operation %s names its tables in its comments; it takes no table or index of its own", o.Op)
		}
		return nil
	}
	if o.Table.Name == "" {
		return fmt.Errorf("operation %s names no table", o.Op)
	}
	switch o.Op {
	case DropIndex:
		if o.Index == "" {
			return fmt.Errorf("operation %s on %s names no index", o.Op, o.Table)
		}
	case Reindex:
	default:
		if o.Index != "" {
			return fmt.Errorf("operation %s works on a whole table; it takes no index", o.Op)
		}
	}
	return nil
}

// ErrNotSupported: the engine does not offer the operation.
var ErrNotSupported = errors.New("not supported")

// ErrLockTimeout: the statement waited for its lock longer than the lock
// timeout and gave up; nothing changed.
var ErrLockTimeout = errors.New("gave up waiting for a lock")

// TableFacts is what cheap statistics say about one table. A negative
// count was not measured; a zero time is "never" or not known.
type TableFacts struct {
	Table      engines.TableRef `json:"table"`
	TotalBytes int64            `json:"total_bytes"` // table, indexes and TOAST
	TableBytes int64            `json:"table_bytes"` // the heap / data alone
	Rows       int64            `json:"rows"`        // estimate
	// DeadTuples (PostgreSQL n_dead_tup); -1 elsewhere.
	DeadTuples int64 `json:"dead_tuples"`
	// DataFree (MariaDB DATA_FREE): bytes allocated but unused; -1 elsewhere.
	DataFree    int64     `json:"data_free"`
	LastVacuum  time.Time `json:"last_vacuum,omitzero"`  // manual or auto
	LastAnalyze time.Time `json:"last_analyze,omitzero"` // manual or auto
	// ModifiedSinceAnalyze (PostgreSQL n_mod_since_analyze); -1 elsewhere.
	ModifiedSinceAnalyze int64 `json:"modified_since_analyze"`
}

// Space says where a table's copy would be written and whether that place
// can be measured from here (the server runs on this machine).
type Space struct {
	Dir   string // the server's data directory or tablespace
	Local bool   // the server is on this machine, Dir is its path here
	Why   string // when not Local: why it cannot be measured
}

// RunOptions tune one run.
type RunOptions struct {
	// LockTimeout bounds the wait for the statement's lock
	// (lock_timeout / lock_wait_timeout); 0 = 5 s.
	LockTimeout time.Duration
	// Progress hears what the server reports while the statement runs
	// (pg_stat_progress_*), every few seconds; may be nil.
	Progress func(string)
	// ProgressEvery is how often progress is polled; 0 = 5 s.
	ProgressEvery time.Duration
}

// DefaultLockTimeout is the policy's default.
const DefaultLockTimeout = 5 * time.Second

// Lock returns opts.LockTimeout or the default.
func (opts RunOptions) Lock() time.Duration {
	if opts.LockTimeout <= 0 {
		return DefaultLockTimeout
	}
	return opts.LockTimeout
}
