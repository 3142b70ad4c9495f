package diagnostics

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// Collector is the capability an engine adapter offers for diagnostics,
// in its diagnostics.go. CollectDiagnostics returns the facts it could
// gather; a query that failed is recorded in Facts.Unavailable, not
// returned. The error is for a server that cannot be reached at all.
type Collector interface {
	CollectDiagnostics(ctx context.Context, c engines.Conn, database string, opts diagmodel.Options) (*diagmodel.Facts, error)
}

// allAreas are the areas an engine collector may gather.
var allAreas = []string{
	diagmodel.AreaServer, diagmodel.AreaConnections, diagmodel.AreaSessions, diagmodel.AreaLocks,
	diagmodel.AreaCounters, diagmodel.AreaSize, diagmodel.AreaLog, diagmodel.AreaArchiver,
	diagmodel.AreaReplication, diagmodel.AreaTables, diagmodel.AreaIndexes, diagmodel.AreaIndexUsage,
	diagmodel.AreaRoles, diagmodel.AreaHBA, diagmodel.AreaSettings, diagmodel.AreaExtensions,
	diagmodel.AreaWraparound, diagmodel.AreaStatements,
	diagmodel.AreaIO, diagmodel.AreaWAL, diagmodel.AreaControl, diagmodel.AreaStorage,
}

// Collect gathers the facts of database from eng. An engine without the
// Collector capability, and a server that cannot be reached, give facts
// that say so (every check then reports "not checked", or "unreachable"),
// never an error: only a cancelled ctx is one.
func Collect(ctx context.Context, eng engines.Engine, c engines.Conn, database string, opts diagmodel.Options) (*diagmodel.Facts, error) {
	col, ok := eng.(Collector)
	if !ok {
		return Unsupported(eng.Name(), database, opts.Level, "the "+eng.Name()+" adapter of this build has no diagnostics collector",
			"diagnostics.reason.no_collector", "engine", eng.Name()), nil
	}
	f, err := col.CollectDiagnostics(ctx, c, database, opts)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		f = &diagmodel.Facts{Version: diagmodel.Version, Engine: eng.Name(), Database: database, Level: opts.Level,
			CollectedAt: time.Now().UTC(), Unreachable: err.Error()}
		return f, nil
	}
	if f.Database == "" {
		f.Database = database
	}
	sort.Strings(f.Areas)
	return f, nil
}

// Unsupported are the facts of a database whose engine cannot be
// diagnosed by this build, for reason (in English; key and its parameters
// the same as a catalog sentence): every area is missing, so every check
// says "not checked" with the reason.
func Unsupported(engine, database, level, reason, key string, nameValues ...string) *diagmodel.Facts {
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: engine, Database: database, Level: level, CollectedAt: time.Now().UTC()}
	rec := diagmodel.Recorder{F: f}
	for _, area := range allAreas {
		rec.MissKey(area, reason, key, nameValues...)
	}
	return f
}
