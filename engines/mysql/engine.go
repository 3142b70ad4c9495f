package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Engine is the MySQL/MariaDB adapter. Its fields tune it; New sets them to
// the defaults. An Engine is safe for concurrent use once configured.
type Engine struct {
	// LockWaitTimeout bounds how long FLUSH TABLES WITH READ LOCK may wait
	// for running statements. While it waits every write on the server
	// queues behind it, so it is short; when it expires, or a statement has
	// already run that long, the backup falls back to one snapshot on one
	// connection (and says so).
	LockWaitTimeout time.Duration
	// SplitBytes: a table with a single-column integer primary key whose
	// data is larger than this is dumped as several parts by key range, read
	// in parallel, and restored in parallel (see partsAtOnce). The default,
	// 64 MiB, gives a large table enough parts to keep every loading
	// connection busy to the end: measured on 3,060,000 rows (620 MiB) with
	// 2 connections, 9.3-9.6 s to restore against 10.5-10.9 s with 256 MiB
	// parts (3 parts: one connection loads two, the other waits).
	SplitBytes int64

	// loadMethod forces how a restore sends rows ("" chooses: LOAD DATA
	// LOCAL INFILE when the server allows it, else INSERT batches), and
	// strategy how it schedules a table ("" chooses by server). Tests force
	// them to run MySQL 8's code paths against MariaDB.
	loadMethod string
	strategy   string
	// deferBytes overrides deferIndexBytes (tests).
	deferBytes int64
}

// Load methods and strategies.
const (
	loadData   = "load-data"
	loadInsert = "insert"

	// strategyBulk loads each table of one part on one connection in one
	// transaction, indexes in place (MariaDB 10.6+ bulk insert); a table of
	// several parts loads as in strategyParallel, without bulk insert (see
	// partsAtOnce).
	strategyBulk = "bulk"
	// strategyParallel loads the parts of a table on several connections
	// at once and adds the secondary indexes and foreign keys of large
	// tables after the load.
	strategyParallel = "parallel"
)

var _ engines.Engine = (*Engine)(nil)

func init() {
	engines.Register(engines.Registration{
		Name:     engineName,
		Aliases:  []string{"mariadb"},
		New:      func() (engines.Engine, error) { return New(), nil },
		ParseDSN: dsnInfo,
	})
}

// New returns the adapter with its defaults.
func New() *Engine {
	return &Engine{
		LockWaitTimeout: 5 * time.Second,
		SplitBytes:      64 << 20,
	}
}

// Name is the engine's name in policy files ("mariadb" is normalised to it
// when the policy loads: see the registration above).
func (e *Engine) Name() string { return engineName }

const engineName = "mysql"

func logger(l hclog.Logger) hclog.Logger {
	if l == nil {
		return hclog.NewNullLogger()
	}
	return l.Named("mysql")
}

// connect opens a pool on the server of cfg with database as the default
// database ("" for none) and reads the server's version.
func connect(ctx context.Context, cfg *mysql.Config, database string, maxConns int) (*sql.DB, serverInfo, error) {
	db, err := openDB(ctx, cfg, database, maxConns)
	if err != nil {
		return nil, serverInfo{}, err
	}
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		db.Close()
		return nil, serverInfo{}, connectError(cfg, database, err)
	}
	return db, parseVersion(v), nil
}

// checkName refuses database names the adapter must not touch.
func checkName(name string) error {
	if name == "" {
		return fault.Permanent(fmt.Errorf("no database name given"))
	}
	if systemDatabase(name) {
		return fault.Permanent(fmt.Errorf("database %s is a system database", name))
	}
	return nil
}
