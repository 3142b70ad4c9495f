package register

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
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

// Languages of an export.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// NormalizeLang maps "zh", "zh-CN", "cn" to LangZH and "en" to LangEN.
func NormalizeLang(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "zh", "zh-cn", "cn", "zh_cn":
		return LangZH, nil
	case "en", "en-us", "en-gb":
		return LangEN, nil
	}
	return "", fmt.Errorf("language %q: want zh-CN or en", s)
}

type words struct {
	headers                                          []string
	newest, refused, accepted, running, ok, failed   string
	received, restore, drill, maintenance, sep, list string
	sheet                                            string
}

var vocab = map[string]words{
	LangZH: {
		headers: []string{"日期", "数据库", "使用的备份", "恢复目标", "申请人", "审批人", "原因", "结果", "耗时", "类型", "申请编号"},
		newest:  "最新备份", refused: "已拒绝", accepted: "已批准，待执行", running: "执行中", ok: "成功", failed: "失败",
		received: "已接收", restore: "恢复", drill: "演练", maintenance: "维护", sep: "：", list: "、", sheet: "数据库恢复登记表",
	},
	LangEN: {
		headers: []string{"Date", "Database", "Backup used", "Target", "Requester", "Approvers", "Reason", "Outcome", "Duration", "Type", "Request ID"},
		newest:  "newest backup", refused: "refused", accepted: "approved, queued", running: "running", ok: "succeeded", failed: "failed",
		received: "received", restore: "restore", drill: "drill", maintenance: "maintenance", sep: ": ", list: ", ", sheet: "Restore register",
	},
}

// cells renders rows as text in lang, times in loc.
func cells(rows []Row, lang string, loc *time.Location) [][]string {
	w := vocab[lang]
	if loc == nil {
		loc = time.Local
	}
	out := [][]string{w.headers}
	for _, r := range rows {
		backup := r.Backup
		if backup == "" {
			backup = w.newest
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
			outcome = w.received
		case Refused:
			outcome = w.refused + w.sep + r.Detail
		case Accepted:
			outcome = w.accepted
		case Started:
			outcome = w.running
		case Finished:
			outcome = w.ok
			if r.Outcome != Succeeded {
				outcome = w.failed
				if r.Detail != "" {
					outcome += w.sep + r.Detail
				}
			}
		}
		action := map[string]string{"restore": w.restore, "drill": w.drill, "maintenance": w.maintenance}[r.Action]
		if action == "" {
			action = r.Action
		}
		out = append(out, []string{
			r.Date.In(loc).Format("2006-01-02 15:04:05"), r.Database, backup, target, r.Requester,
			strings.Join(r.Approvers, w.list), r.Reason, outcome, formatDuration(r.Duration, lang), action, r.RequestID,
		})
	}
	return out
}

// formatDuration writes d as 1小时2分3秒 or 1h2m3s; "" for none.
func formatDuration(d time.Duration, lang string) string {
	if d <= 0 {
		return ""
	}
	d = d.Round(time.Second)
	if d == 0 {
		d = time.Second
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	units := [3]string{"h", "m", "s"}
	if lang == LangZH {
		units = [3]string{"小时", "分", "秒"}
	}
	var b strings.Builder
	for i, v := range []int{h, m, s} {
		if v > 0 || (i == 2 && b.Len() == 0) {
			fmt.Fprintf(&b, "%d%s", v, units[i])
		}
	}
	return b.String()
}

// WriteCSV writes rows as CSV in lang ("zh-CN" or "en"), times in loc. With
// bom, it starts with a UTF-8 byte-order mark, which spreadsheet programs
// need to read Chinese text in a CSV file correctly.
func WriteCSV(w io.Writer, rows []Row, lang string, loc *time.Location, bom bool) error {
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
