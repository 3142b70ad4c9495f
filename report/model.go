package report

import (
	"time"

	"github.com/dbopsd/dbopsd/i18n"
)

// Version of the stored model; a reader meets older ones too.
const Version = 1

// Kinds of report.
const (
	Monthly = "monthly"
	Weekly  = "weekly"
)

// Status of a database over the period.
type Status string

// Statuses, from good to bad.
const (
	StatusOK        Status = "ok"        // 正常
	StatusAttention Status = "attention" // 需关注
	StatusSevere    Status = "severe"    // 严重
)

func (s Status) rank() int {
	switch s {
	case StatusSevere:
		return 2
	case StatusAttention:
		return 1
	}
	return 0
}

// Report is a monthly report or a weekly summary. Fields a source did not
// provide stay nil ("not collected yet"); an empty period has Empty set.
type Report struct {
	Version     int       `json:"version"`
	Kind        string    `json:"kind"` // Monthly or Weekly
	Site        string    `json:"site"`
	Label       string    `json:"label"` // 2026-11, 2026-W48
	From        time.Time `json:"from"`  // inclusive, in the daemon's zone
	To          time.Time `json:"to"`    // exclusive
	GeneratedAt time.Time `json:"generated_at"`
	Empty       bool      `json:"empty,omitempty"`

	Databases []Database `json:"databases"`
	Totals    Totals     `json:"totals"`
	Register  Register   `json:"register"`
	Prune     []Maint    `json:"prune,omitempty"`
	Mirror    []Maint    `json:"mirror,omitempty"`
	// Maintenance is the month's table maintenance, oldest first, and
	// Reconciliations each reconcile block's latest result; nil: not
	// collected (the weekly summary, or no source).
	Maintenance     []MaintenanceRun `json:"maintenance"`
	Reconciliations []Reconciliation `json:"reconciliations"`
	// Days are the weekly summary's columns.
	Days []time.Time `json:"days,omitempty"`
	// Dictionaries are the workbooks to attach, by database: those whose
	// schema changed. Not stored: the dictionary keeps its own history.
	Dictionaries map[string][]byte `json:"-"`
}

// Totals are the period's figures at a glance.
type Totals struct {
	Backups       int   `json:"backups"`
	Failed        int   `json:"failed"`
	Verified      int   `json:"verified"`
	VerifyFailed  int   `json:"verify_failed"`
	Drills        int   `json:"drills"`
	NewUrgent     int   `json:"new_urgent"`
	StoredBytes   int64 `json:"stored_bytes"`
	FindingsKnown bool  `json:"findings_known"`
}

// Database is one database's part of the report.
type Database struct {
	Name   string       `json:"name"`
	Engine string       `json:"engine,omitempty"`
	Status Status       `json:"status"`
	Reason i18n.Message `json:"reason"`

	Fulls         int     `json:"fulls"`
	Differentials int     `json:"differentials"`
	Failed        int     `json:"failed"`
	StoredBytes   int64   `json:"stored_bytes"`
	LastFullBytes int64   `json:"last_full_raw_bytes"`
	AvgFullSecs   float64 `json:"avg_full_seconds"`
	// PrevAvgFullSecs is the average full duration of the months before
	// (up to twelve), for the trend; 0 when there were none.
	PrevAvgFullSecs float64        `json:"prev_avg_full_seconds"`
	Failures        []Failure      `json:"failures,omitempty"`
	Verifications   []Verification `json:"verifications,omitempty"`
	History         []MonthPoint   `json:"history,omitempty"` // up to 13 months, oldest first

	Findings      []Finding      `json:"findings"` // nil: not collected
	Volume        []VolumeSample `json:"volume"`   // nil: not collected
	SchemaChanges []SchemaChange `json:"schema_changes"`
	SchemaKnown   bool           `json:"schema_known"`
	ConnPeak      int            `json:"connection_peak,omitempty"`
	ConnKnown     bool           `json:"connection_known"`
	// ConnDays are the daily connection peaks of a monthly report (its
	// chart); nil: not collected.
	ConnDays []ConnectionDay `json:"connection_days,omitempty"`
	// Forecasts are the newest diagnosis's space forecasts (85 %, 90 %);
	// nil: none.
	Forecasts []Forecast `json:"forecasts,omitempty"`

	// Days: the weekly summary's cells, one per day of Report.Days, and
	// the check groups the week's findings fall into (its rows).
	Days   []DayMark `json:"days,omitempty"`
	Groups []string  `json:"groups,omitempty"`
}

// Failure is a failed backup attempt.
type Failure struct {
	At       time.Time `json:"at"`
	Type     string    `json:"type"`
	Error    string    `json:"error"`
	Resolved bool      `json:"resolved"` // a later backup of the type succeeded
}

// Verification is a verified restore of a backup.
type Verification struct {
	At       time.Time `json:"at"`
	BackupID string    `json:"backup_id"`
	OK       bool      `json:"ok"`
	RTOSecs  float64   `json:"rto_seconds"`
	Error    string    `json:"error,omitempty"`
}

// MonthPoint is a month of a database's history, for the charts.
type MonthPoint struct {
	Month       time.Time `json:"month"`
	RawBytes    int64     `json:"raw_bytes"`    // the month's largest full, as read from the server
	StoredBytes int64     `json:"stored_bytes"` // stored by the month's backups
	AvgSecs     float64   `json:"avg_seconds"`  // average full duration
	Backups     int       `json:"backups"`
}

// DayMark is one day of a database in the weekly summary.
type DayMark struct {
	Backup string `json:"backup"` // "ok", "failed", "" (none)
	Verify string `json:"verify"` // "ok", "failed", ""
	// Worst is the most pressing priority of the day's findings ("" none,
	// "-" not collected).
	Worst string `json:"worst"`
	// Inspected: an inspection ran that day. Groups holds each check
	// group it ran, with the most pressing priority of the group's
	// findings that day ("" none: clean); a group not in it was not
	// inspected that day.
	Inspected bool              `json:"inspected,omitempty"`
	Groups    map[string]string `json:"groups,omitempty"`
}

// Register is the restore register's part of the period.
type Register struct {
	Checked  bool   `json:"checked"` // the register file was read
	Intact   bool   `json:"intact"`  // its hash chain verified
	Problem  string `json:"problem"` // the first problem when not intact
	Lines    int    `json:"lines"`   // entries in the whole register
	HeadHash string `json:"head"`    // the newest entry's hash
	Entries  []Reg  `json:"entries"` // the period's requests, one line each
	Drills   int    `json:"drills"`  // drills finished in the period
	// Anchored is how many anchors in the repository's storage the chain
	// was checked against; AnchorProblem why none could be read.
	Anchored      int    `json:"anchored"`
	AnchorProblem string `json:"anchor_problem,omitempty"`
	Restores      int    `json:"restores"` // restores finished in the period
}

// Reg is one request of the register and what became of it.
type Reg struct {
	At        time.Time `json:"at"`
	Request   string    `json:"request"`
	Action    string    `json:"action"`
	Database  string    `json:"database"`
	Requester string    `json:"requester,omitempty"`
	Approvers []string  `json:"approvers,omitempty"`
	Outcome   string    `json:"outcome"` // succeeded, failed, refused, pending
	Detail    string    `json:"detail,omitempty"`
	RTOSecs   float64   `json:"rto_seconds,omitempty"`
}

// Maint is one prune or mirror run.
type Maint struct {
	At      time.Time `json:"at"`
	Target  string    `json:"target,omitempty"`
	OK      bool      `json:"ok"`
	Deleted int       `json:"deleted,omitempty"` // prune: backups removed
	Error   string    `json:"error,omitempty"`
}
