package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// measureBloat measures, where the pgstattuple extension is installed in
// the database, the dead and free space of the largest bloat suspects with
// pgstattuple_approx, beside the statistics-based estimate tables() made.
// pgstattuple_approx reads the pages the visibility map does not vouch for
// and takes the free space of the rest from the free space map, so it is
// far cheaper than pgstattuple; it still reads pages, so the run stays
// bounded: only tables of at least the size gate, at most the gate's
// number of them, in the order of the estimate (then of size), one
// statement each under the session's statement_timeout. A table whose
// statement fails keeps its estimate; a refusal (pgstattuple_approx needs
// pg_stat_scan_tables, which pg_monitor includes) stops the measurement
// and says why.
func (d *pgDiag) measureBloat(ctx context.Context, opts diagmodel.Options) {
	if !d.f.Has(diagmodel.AreaTables) {
		return
	}
	var schema string
	err := d.row(ctx, `SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgstattuple'`, &schema)
	if errors.Is(err, pgx.ErrNoRows) {
		d.r.MissKey(diagmodel.AreaBloatMeasured, "the pgstattuple extension is not installed in this database: table-bloat uses the statistics-based estimate",
			"postgres.diag.no_pgstattuple")
		return
	}
	if err != nil {
		d.r.Miss(diagmodel.AreaBloatMeasured, err.Error())
		return
	}
	minBytes, limit := opts.BloatGate()
	var suspects []int
	for i, t := range d.f.Tables {
		if t.DataBytes >= minBytes {
			suspects = append(suspects, i)
		}
	}
	sort.SliceStable(suspects, func(i, j int) bool {
		a, b := d.f.Tables[suspects[i]], d.f.Tables[suspects[j]]
		if a.BloatBytes != b.BloatBytes {
			return a.BloatBytes > b.BloatBytes
		}
		return a.DataBytes > b.DataBytes
	})
	if len(suspects) > limit {
		suspects = suspects[:limit]
	}
	sql := fmt.Sprintf(`SELECT table_len, dead_tuple_len, dead_tuple_percent, approx_free_space, approx_free_percent, scanned_percent
		FROM %s.pgstattuple_approx(format('%%I.%%I', $1::text, $2::text)::regclass)`, schema)
	var lastErr error
	for _, i := range suspects {
		t := &d.f.Tables[i]
		var deadBytes, freeBytes int64
		m := diagmodel.BloatMeasure{Method: diagmodel.MethodPgstattupleApprox}
		d.f.Queries++
		err := d.conn.QueryRow(ctx, sql, t.Schema, t.Name).Scan(&m.TableBytes, &deadBytes, &m.DeadPct, &freeBytes, &m.FreePct, &m.ScannedPct)
		if err != nil {
			lastErr = fmt.Errorf("pgstattuple_approx of %s.%s: %w", t.Schema, t.Name, err)
			if isCode(err, "42501") || ctx.Err() != nil {
				break
			}
			continue
		}
		m.Bytes = deadBytes + freeBytes
		t.Measured = &m
		d.r.Got(diagmodel.AreaBloatMeasured)
	}
	switch {
	case lastErr != nil:
		d.r.Miss(diagmodel.AreaBloatMeasured, lastErr.Error())
	case len(suspects) == 0:
		d.r.MissKey(diagmodel.AreaBloatMeasured, fmt.Sprintf("no table of at least %d bytes to measure", minBytes),
			"postgres.diag.no_bloat_suspects", "bytes", fmt.Sprint(minBytes))
	}
}
