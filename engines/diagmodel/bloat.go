package diagmodel

// AreaBloatMeasured is the measured bloat of the largest suspects
// (Table.Measured): collected where the engine can measure it cheaply
// (PostgreSQL's pgstattuple_approx), missing with the reason elsewhere.
// No check needs it: table-bloat takes the measured figure where there is
// one and the estimate otherwise.
const AreaBloatMeasured = "bloat_measured"

// Bloat measurement methods (BloatMeasure.Method).
const (
	MethodPgstattupleApprox = "pgstattuple_approx"
)

// BloatMeasure is a table's dead and free space as measured, beside the
// statistics-based estimate in Table.BloatBytes.
type BloatMeasure struct {
	// Method is how it was measured: MethodPgstattupleApprox.
	Method string `json:"method"`
	// TableBytes is the heap measured; DeadPct and FreePct its shares
	// held by dead rows and by free space; Bytes the two together, the
	// space a rewrite would give back.
	TableBytes int64   `json:"table_bytes"`
	DeadPct    float64 `json:"dead_pct"`
	FreePct    float64 `json:"free_pct"`
	Bytes      int64   `json:"bytes"`
	// ScannedPct is the share of the heap pgstattuple_approx read (the
	// rest it took from the visibility map and the free space map).
	ScannedPct float64 `json:"scanned_pct"`
}

// Defaults of the bloat measurement's size gate (Options).
const (
	DefaultMeasureBloatMinBytes = 100 << 20
	DefaultMeasureBloatTables   = 10
)

// BloatGate returns the size gate of the bloat measurement with defaults
// filled: tables of at least minBytes, at most tables of them.
func (o Options) BloatGate() (minBytes int64, tables int) {
	minBytes, tables = o.MeasureBloatMinBytes, o.MeasureBloatTables
	if minBytes <= 0 {
		minBytes = DefaultMeasureBloatMinBytes
	}
	if tables <= 0 {
		tables = DefaultMeasureBloatTables
	}
	return minBytes, tables
}
