package register

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
)

// Row is one request as the bureau sees it: what was asked, by whom, who
// approved it, and how it ended.
type Row struct {
	Date      time.Time     `json:"date"` // when the request was received
	RequestID string        `json:"request_id"`
	Action    string        `json:"action"`
	Database  string        `json:"database"`
	Backup    string        `json:"backup"` // the backup used, else the one requested, else "" (newest)
	Target    string        `json:"target"`
	As        string        `json:"as"`
	Tables    []string      `json:"tables,omitempty"`
	Requester string        `json:"requester"`
	Approvers []string      `json:"approvers,omitempty"`
	Reason    string        `json:"reason"`
	Status    Kind          `json:"status"`  // the last step: Received, Refused, Accepted, Started, Finished
	Outcome   string        `json:"outcome"` // on Finished: Succeeded or Failed
	Detail    string        `json:"detail"`  // the refusal reason or the error
	Duration  time.Duration `json:"duration_ns"`
}

// Rows folds entries into one row per received request, in the order they
// were received. Entries refer to their request's Received entry by Ref.
func Rows(entries []Entry) []Row {
	var rows []Row
	index := map[int64]int{} // Received seq -> row
	for _, e := range entries {
		if e.Kind == Received {
			index[e.Seq] = len(rows)
			rows = append(rows, Row{Date: e.Time, RequestID: e.Request, Action: e.Action, Database: e.Database,
				Backup: e.Backup, Target: e.Target, As: e.As, Tables: e.Tables, Requester: e.Requester,
				Reason: e.Reason, Status: Received})
			continue
		}
		i, ok := index[e.Ref]
		if !ok {
			continue
		}
		r := &rows[i]
		switch e.Kind {
		case Refused:
			r.Status, r.Detail = Refused, e.Refusal
		case Accepted:
			r.Status, r.Approvers = Accepted, e.Approvers
		case Started:
			r.Status = Started
			if e.Backup != "" {
				r.Backup = e.Backup
			}
		case Finished:
			r.Status, r.Outcome, r.Detail, r.Duration = Finished, e.Outcome, e.Error, e.Duration()
			if e.Backup != "" {
				r.Backup = e.Backup
			}
		}
	}
	return rows
}

// columns are the export's columns, in order; their headers are
// "register.header.<column>" in the catalog.
var columns = []string{"date", "database", "backup", "target", "requester", "approvers", "reason", "outcome", "duration", "type", "request_id"}

// cells renders rows as text in lang, times in loc.
func cells(rows []Row, lang i18n.Lang, loc *time.Location) [][]string {
	t := func(key string, params ...string) string { return i18n.M("register."+key, params...).Text(lang) }
	if loc == nil {
		loc = time.Local
	}
	headers := make([]string, len(columns))
	for i, c := range columns {
		headers[i] = t("header." + c)
	}
	out := [][]string{headers}
	for _, r := range rows {
		backup := r.Backup
		if backup == "" {
			backup = t("backup.newest")
		}
		target := r.Target
		if r.As != "" {
			target += " / " + r.As
		}
		if len(r.Tables) > 0 {
			target += " (" + strings.Join(r.Tables, ", ") + ")"
		}
		var outcome string
		switch r.Status {
		case Received:
			outcome = t("status.received")
		case Refused:
			outcome = t("status.refused", "detail", r.Detail)
		case Accepted:
			outcome = t("status.accepted")
		case Started:
			outcome = t("status.running")
		case Finished:
			switch {
			case r.Outcome == Succeeded:
				outcome = t("status.succeeded")
			case r.Detail != "":
				outcome = t("status.failed_because", "detail", r.Detail)
			default:
				outcome = t("status.failed")
			}
		}
		action := r.Action
		if s, ok := i18n.Lookup(lang, "register.action."+r.Action); ok {
			action = s
		}
		out = append(out, []string{
			r.Date.In(loc).Format("2006-01-02 15:04:05"), r.Database, backup, target, r.Requester,
			strings.Join(r.Approvers, t("sep.list")), r.Reason, outcome, formatDuration(r.Duration, lang), action, r.RequestID,
		})
	}
	return out
}

// formatDuration writes d as 1小时2分3秒 or 1h2m3s; "" for none.
func formatDuration(d time.Duration, lang i18n.Lang) string {
	if d <= 0 {
		return ""
	}
	d = d.Round(time.Second)
	if d == 0 {
		d = time.Second
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var b strings.Builder
	for i, unit := range []string{"hours", "minutes", "seconds"} {
		v := []int{h, m, s}[i]
		if v > 0 || (i == 2 && b.Len() == 0) {
			b.WriteString(i18n.T(lang, "register.duration."+unit, i18n.Params{"n": strconv.Itoa(v)}))
		}
	}
	return b.String()
}

// WriteCSV writes rows as CSV in lang, times in loc. With
// bom, it starts with a UTF-8 byte-order mark, which spreadsheet programs
// need to read Chinese text in a CSV file correctly.
func WriteCSV(w io.Writer, rows []Row, lang i18n.Lang, loc *time.Location, bom bool) error {
	if bom {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return fmt.Errorf("writing CSV: %w", err)
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(cells(rows, lang, loc)); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}
