package maintenance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Engine is what an engine adapter offers for table maintenance.
type Engine interface {
	// MaintenanceStatement renders op as the one statement it runs, or
	// fails with maintmodel.ErrNotSupported.
	MaintenanceStatement(op maintmodel.Operation) (string, error)
	// MaintenanceFacts reads the statistics of the user tables of
	// database (only tables, when given). Measuring a table's size may
	// wait for a lock: it gives up after lock (0: the default) with
	// maintmodel.ErrLockTimeout.
	MaintenanceFacts(ctx context.Context, c engines.Conn, database string, tables []engines.TableRef, lock time.Duration) ([]maintmodel.TableFacts, error)
	// MaintenanceSpace says where a rewrite of t writes its copy.
	MaintenanceSpace(ctx context.Context, c engines.Conn, database string, t engines.TableRef) (maintmodel.Space, error)
	// RunMaintenance runs op; a lock not granted within the lock timeout
	// fails with maintmodel.ErrLockTimeout.
	RunMaintenance(ctx context.Context, c engines.Conn, database string, op maintmodel.Operation, opts maintmodel.RunOptions) error
}

// ErrNotSupported: the engine has no maintenance.
var ErrNotSupported = maintmodel.ErrNotSupported

// ErrOutsideWindow: the policy's maintenance_window is closed.
var ErrOutsideWindow = errors.New("outside the maintenance window")

// For returns the maintenance capability of the engine called name.
func For(name string) (Engine, error) {
	e, err := engines.New(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	m, ok := e.(Engine)
	if !ok {
		return nil, fmt.Errorf("%w: engine %s offers no table maintenance", ErrNotSupported, name)
	}
	return m, nil
}

// Target is a database to propose maintenance for.
type Target struct {
	Database *config.Database
	Conn     engines.Conn
	Engine   Engine
	// DatabaseName is the database's name on its server.
	DatabaseName string
}

// Proposal is one proposed operation and what it costs.
type Proposal struct {
	// ID is "<document id>.<n>", set when the proposal is stored.
	ID        string               `json:"id,omitempty"`
	Database  string               `json:"database"`
	Object    string               `json:"object"` // the table or index
	Operation maintmodel.Operation `json:"operation"`
	Statement string               `json:"statement"`
	// Bytes is the object's size now; GainBytes what the operation is
	// expected to give back to the file system (0: space is only made
	// reusable, or the gain is in plans, not bytes).
	Bytes     int64  `json:"bytes"`
	GainBytes int64  `json:"gain_bytes"`
	Gain      string `json:"gain"` // the expected gain in words
	Lock      string `json:"lock"` // the lock it takes
	// LockFor is how long the lock is held (estimated from the size).
	LockFor time.Duration `json:"lock_for_ns"`
	Online  bool          `json:"online"` // reads and writes go on meanwhile
	Reason  string        `json:"reason"`
	// Finding is the id of the diagnosis finding behind it ("" for the
	// statistics proposer).
	Finding string `json:"finding,omitempty"`
	// Source names the proposer ("statistics", "diagnosis").
	Source string `json:"source"`
}

// Proposer proposes maintenance for one database. The diagnostics
// implement it from their findings (bloat, stale statistics, unused or
// duplicate indexes, fragmentation); StatsProposer is the minimal one.
type Proposer interface {
	Propose(ctx context.Context, t Target) ([]Proposal, error)
}

// TargetFor builds the Target of db.
func TargetFor(cfg *config.Config, db *config.Database, conn engines.Conn) (Target, error) {
	eng, err := For(db.Engine)
	if err != nil {
		return Target{}, err
	}
	dsn, err := engines.ParseDSN(db.Engine, db.DSN)
	if err != nil {
		return Target{}, fmt.Errorf("database %s: %w", db.Name, err)
	}
	return Target{Database: db, Conn: conn, Engine: eng, DatabaseName: dsn.Database}, nil
}
