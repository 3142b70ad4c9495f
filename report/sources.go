package report

import (
	"context"
	"time"
)

// Sources are what other packages collect and the report shows: the
// diagnostics' findings, the data-volume register, the dictionary's schema
// changes and connection peaks, the month's table maintenance and
// reconciliations. Any field may be nil: that section then says "not
// collected yet".
type Sources struct {
	Findings    FindingsSource
	Volume      VolumeSource
	Schema      SchemaSource
	Connections ConnectionsSource
	// Forecasts gives the newest diagnosis's space forecasts.
	Forecasts ForecastSource
	// Maintenance and Reconciliations feed the monthly report only.
	Maintenance     MaintenanceSource
	Reconciliations ReconcileSource
	// Dictionary gives the data dictionary workbook attached for each
	// database whose schema changed in the period.
	Dictionary DictionarySource
}

// Priorities of a finding, most pressing first.
const (
	PriorityUrgent = "urgent"
	PriorityHigh   = "high"
	PriorityMedium = "medium"
	PriorityLow    = "low"
)

// Priorities lists the priorities in order, most pressing first.
var Priorities = []string{PriorityUrgent, PriorityHigh, PriorityMedium, PriorityLow}

// Finding is one diagnosis finding as the report needs it.
type Finding struct {
	Database string    `json:"database"`
	Check    string    `json:"check"`
	Group    string    `json:"group,omitempty"` // check group, for the weekly marks
	Priority string    `json:"priority"`
	Finding  string    `json:"finding"`
	Object   string    `json:"object,omitempty"`
	Details  string    `json:"details,omitempty"`
	Seen     time.Time `json:"seen"` // when the inspection saw it
	// New: first seen in the period; Resolved: seen before, gone by the
	// period's end; Suppressed: acknowledged by a DBA, counted only.
	New        bool   `json:"new,omitempty"`
	Resolved   bool   `json:"resolved,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
	Link       string `json:"link,omitempty"` // the check's page, for the HTML attachment
}

// FindingsSource gives the findings of database's inspections in [from, to).
type FindingsSource interface {
	Findings(ctx context.Context, database string, from, to time.Time) ([]Finding, error)
}

// Inspection is one inspection of a database: when it ran, and the check
// groups of the checks that ran, named as the findings' groups (Finding.Group,
// or the check when it has none).
type Inspection struct {
	At     time.Time
	Groups []string
}

// InspectionsSource, when the FindingsSource has it too, gives database's
// inspections in [from, to), so that the weekly summary tells a group
// inspected and clean that day (✓) from one not inspected (·). Without
// it, a day with a finding counts as inspecting every group.
type InspectionsSource interface {
	Inspections(ctx context.Context, database string, from, to time.Time) ([]Inspection, error)
}

// VolumeSample is a database's data volume at the end of a month.
type VolumeSample struct {
	Month  time.Time     `json:"month"` // first day of the month
	Rows   int64         `json:"rows"`
	Bytes  int64         `json:"bytes"`
	Tables []TableVolume `json:"tables,omitempty"` // the registered tables of the data resource platform first
}

// TableVolume is one table's volume.
type TableVolume struct {
	Name       string `json:"name"`
	Registered bool   `json:"registered,omitempty"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
}

// VolumeSource gives database's monthly volume samples in [from, to), oldest first.
type VolumeSource interface {
	Volume(ctx context.Context, database string, from, to time.Time) ([]VolumeSample, error)
}

// SchemaChange is one change of the dictionary between two snapshots.
type SchemaChange struct {
	At     time.Time `json:"at"`
	Object string    `json:"object"`
	Change string    `json:"change"` // added, removed, altered, with the detail
}

// SchemaSource gives database's schema changes in [from, to).
type SchemaSource interface {
	SchemaChanges(ctx context.Context, database string, from, to time.Time) ([]SchemaChange, error)
}

// ConnectionsSource gives database's highest number of connections in
// [from, to); ok false when none was sampled.
type ConnectionsSource interface {
	ConnectionPeak(ctx context.Context, database string, from, to time.Time) (peak int, ok bool, err error)
}

// ConnectionDay is a database's most connections counted on one day (a
// sample at each inspection) and its max_connections then.
type ConnectionDay struct {
	Day  time.Time `json:"day"` // the day's start, in the report's time zone
	Peak int       `json:"peak"`
	Max  int       `json:"max,omitempty"` // 0: not known
}

// ConnectionDaysSource, when the ConnectionsSource has it too, gives
// database's daily peaks in [from, to), oldest first, for the monthly
// report's connections chart.
type ConnectionDaysSource interface {
	ConnectionDays(ctx context.Context, database string, from, to time.Time) ([]ConnectionDay, error)
}

// Forecast statuses the report draws a line for (the others, "insufficient",
// "no_growth" and "capped", are said in words only).
const (
	ForecastDays    = "days"
	ForecastReached = "reached"
)

// Forecast is a diagnosis's space forecast for one limit (85 % or 90 %
// full), as the diagnostics compute it: the range of days from the 30-
// and 90-day Theil–Sen slopes.
type Forecast struct {
	At       time.Time `json:"at"`        // the diagnosis
	Series   string    `json:"series"`    // "volume" (its used bytes) or "database" (its size)
	LimitPct float64   `json:"limit_pct"` // 85, 90
	Status   string    `json:"status"`    // ForecastDays, ForecastReached, or a status said in words
	DaysMin  float64   `json:"days_min,omitempty"`
	DaysMax  float64   `json:"days_max,omitempty"`
	// SlopePerDay is the 30-day slope, bytes a day: the dashed line.
	SlopePerDay float64 `json:"slope_per_day,omitempty"`
	// Text is the diagnosis's sentence with its honesty rules ("数据不足",
	// "未见增长趋势", "超过 N 天").
	Text string `json:"text"`
}

// ForecastSource gives the space forecasts of database's newest diagnosis
// before to that made them; none gives nil.
type ForecastSource interface {
	SpaceForecasts(ctx context.Context, database string, to time.Time) ([]Forecast, error)
}

// DictionarySource gives database's data dictionary as an xlsx workbook;
// ok false when none was collected.
type DictionarySource interface {
	DictionaryXLSX(ctx context.Context, database string) (xlsx []byte, ok bool, err error)
}

// MaintenanceRun is one table maintenance run (a signed, approved request
// the daemon ran, or refused to start).
type MaintenanceRun struct {
	At        time.Time `json:"at"`
	Database  string    `json:"database"`
	Request   string    `json:"request,omitempty"`
	Operation string    `json:"operation"` // vacuum_full, optimize, ...
	Object    string    `json:"object"`    // the table (and index)
	// BeforeBytes and AfterBytes are the table's total size around the run
	// (0: not measured, e.g. the statement never ran to its end).
	BeforeBytes int64   `json:"before_bytes,omitempty"`
	AfterBytes  int64   `json:"after_bytes,omitempty"`
	Secs        float64 `json:"seconds"`
	Outcome     string  `json:"outcome"` // succeeded, failed, lock timeout, not run
	Error       string  `json:"error,omitempty"`
}

// MaintenanceSource gives database's maintenance runs started in
// [from, to), oldest first.
type MaintenanceSource interface {
	Maintenance(ctx context.Context, database string, from, to time.Time) ([]MaintenanceRun, error)
}

// Reconciliation is a reconcile block's latest result in a period.
type Reconciliation struct {
	Name  string `json:"name"`
	Left  string `json:"left"`  // database.table
	Right string `json:"right"` // database.table
	// Ran: the block has a result in the period; the fields below are
	// that result's.
	Ran          bool      `json:"ran"`
	At           time.Time `json:"at,omitzero"`
	Status       string    `json:"status,omitempty"` // match, different, failed (could not compare)
	MissingLeft  int64     `json:"missing_left"`
	MissingRight int64     `json:"missing_right"`
	Different    int64     `json:"different"`
	Samples      int       `json:"samples"` // sample keys kept
	Error        string    `json:"error,omitempty"`
	// HasPrevious: a run before it compared the tables; PreviousTotal
	// is that run's rows missing or different, for the trend.
	HasPrevious   bool  `json:"has_previous,omitempty"`
	PreviousTotal int64 `json:"previous_total,omitempty"`
}

// Total is the number of rows missing or different.
func (r Reconciliation) Total() int64 { return r.MissingLeft + r.MissingRight + r.Different }

// ReconcileSource gives the latest result in [from, to) of every reconcile
// block with a side in one of databases, by name; a block that did not
// run in the period is there with Ran false.
type ReconcileSource interface {
	Reconciliations(ctx context.Context, databases []string, from, to time.Time) ([]Reconciliation, error)
}
