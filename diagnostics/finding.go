package diagnostics

import (
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
)

// ReportVersion is the version of Report this build writes.
const ReportVersion = 1

// Finding is one thing a check found, in the same schema for every engine.
// Finding, Details and Recommendation are rendered in the report's
// language; Message and DetailsMessage keep them as catalog keys so that a
// stored report renders in another language later.
type Finding struct {
	Check          string       `json:"check"`
	Priority       int          `json:"priority"`
	Group          string       `json:"group"`
	Finding        string       `json:"finding"`
	Object         string       `json:"object"`
	Details        string       `json:"details"`
	Recommendation string       `json:"recommendation"`
	Link           string       `json:"link"`
	Message        i18n.Message `json:"message"`
	DetailsMessage i18n.Message `json:"details_message"`
	// NotChecked: the check could not run; Details says why.
	NotChecked bool `json:"not_checked,omitempty"`
	// Suppressed by the policy; still counted and shown.
	Suppressed       bool   `json:"suppressed,omitempty"`
	SuppressedReason string `json:"suppressed_reason,omitempty"`
}

// Key identifies a problem across runs: the same check on the same object.
func (f Finding) Key() string { return f.Check + "\x00" + f.Object }

// Status of a check in one run.
const (
	StatusRan           = "ran"
	StatusNotChecked    = "not_checked"
	StatusNotApplicable = "not_applicable"
)

// CheckRun says whether a check ran.
type CheckRun struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Report is the result of one run: the facts and what the checks made of
// them. It is what --save stores (history.KindDiagnosis) and what --json
// prints.
type Report struct {
	Version  int       `json:"version"`
	Database string    `json:"database"`
	Engine   string    `json:"engine"`
	Level    string    `json:"level"`
	At       time.Time `json:"at"`
	Lang     i18n.Lang `json:"lang"`
	// Checks lists every check of the level and whether it ran; Ran and
	// NotChecked count them.
	Checks     []CheckRun `json:"checks"`
	Ran        int        `json:"ran"`
	NotChecked int        `json:"not_checked"`
	Findings   []Finding  `json:"findings"`
	// Deltas are the counters' changes since the previous snapshot.
	Deltas *Deltas `json:"deltas,omitempty"`
	// Size is the database's size and its growth since the previous
	// snapshot, when measured.
	Size *Size `json:"size,omitempty"`
	// Forecasts are the space forecasts, when there is history for them.
	Forecasts []Forecast `json:"forecasts,omitempty"`
	// BackupForecasts are the backup duration and stored-size trends of
	// a monthly diagnosis (checks_backup.go), apart from Forecasts, which
	// the monthly report draws on its size chart.
	BackupForecasts []Forecast `json:"backup_forecasts,omitempty"`
	// Facts are what was collected; re-analysing them gives the findings
	// again (under the thresholds and checks of the reader's version).
	Facts *diagmodel.Facts `json:"facts"`
}

// Size is a database's size and growth.
type Size struct {
	Bytes int64 `json:"bytes"`
	// Growth is the change since Since (the previous snapshot), absent
	// without one.
	Growth *int64    `json:"growth,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Problems returns the findings that are neither suppressed nor "not
// checked", with priority at most max.
func (r *Report) Problems(max int) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if !f.Suppressed && !f.NotChecked && f.Priority <= max {
			out = append(out, f)
		}
	}
	return out
}
