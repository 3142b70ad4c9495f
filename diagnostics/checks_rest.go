package diagnostics

import (
	"fmt"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// checkBloatMeasured is table-bloat on a table whose bloat was measured
// (pgstattuple_approx): the measured dead and free space replace the
// estimate, and the finding names the method.
func checkBloatMeasured(a *analysis, t diagmodel.Table) {
	m := t.Measured
	pct := m.DeadPct + m.FreePct
	if m.Bytes < a.t.BloatMinBytes || m.TableBytes == 0 || pct < a.t.BloatPct {
		return
	}
	a.addAs(a.check.Priority, "finding_measured", "details_measured", tableName(t.Schema, t.Name),
		"bloat", bytesText(m.Bytes), "pct", fmt.Sprintf("%.0f", pct), "method", m.Method,
		"dead_pct", fmt.Sprintf("%.1f", m.DeadPct), "free_pct", fmt.Sprintf("%.1f", m.FreePct),
		"scanned_pct", fmt.Sprintf("%.0f", m.ScannedPct), "size", bytesText(t.Bytes), "vacuum", timeOrNever(t.LastVacuum))
}

// bloatEstimateMethod is where each engine's collector takes the
// estimate in Table.BloatBytes from, as the finding names it.
var bloatEstimateMethod = map[string]string{
	"postgres": "n_dead_tup",
	"mysql":    "DATA_FREE",
}
