package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
)

// States of an Event.
const (
	StateFiring   = "firing"   // a problem began or changed
	StateResolved = "resolved" // a problem cleared
	StateNotice   = "notice"   // a one-off message
)

// Event is one message to send.
type Event struct {
	// Type is one of config's Event* names (backup_failed, stale, ...).
	Type     string `json:"event"`
	State    string `json:"state"`
	Database string `json:"database,omitempty"`
	// Kind is the job kind the event is about (full, differential, verify).
	Kind    string    `json:"kind,omitempty"`
	Summary string    `json:"summary"`
	Detail  string    `json:"detail,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
	// Since is when the problem began (resolved and changed messages).
	Since time.Time `json:"since,omitzero"`
	Host  string    `json:"host,omitempty"`
	// Suppressed counts the messages the rate limit held back from this
	// destination since its last message.
	Suppressed int `json:"suppressed,omitempty"`
}

// titles names each event in the two languages of the site.
var titles = map[string][2]string{
	config.EventBackupFailed:  {"备份失败", "Backup failed"},
	config.EventVerifyFailed:  {"恢复验证失败", "Verification failed"},
	config.EventVerifyNotRun:  {"恢复验证未能执行", "Verification could not run"},
	config.EventCheckFailed:   {"仓库检查失败", "Repository check failed"},
	config.EventStale:         {"备份超期", "No recent backup"},
	config.EventDaemonGap:     {"守护进程停机后恢复运行", "Daemon resumed after a gap"},
	config.EventMonthlyReport: {"月度报告", "Monthly report"},
	config.EventWeeklySummary: {"每周摘要", "Weekly summary"},
	config.EventRestoreDone:   {"恢复完成", "Restore done"},
	config.EventDrillDone:     {"恢复演练完成", "Restore drill done"},
}

// Title is the event's name in Chinese and English.
func Title(typ string) string {
	if t, ok := titles[typ]; ok {
		return t[0] + " " + t[1]
	}
	return typ
}

// Subject is the one-line summary used as an email subject.
func (e Event) Subject() string {
	s := "[dbopsd] "
	switch e.State {
	case StateResolved:
		s += "已恢复 Resolved: "
	case StateFiring:
		if !e.Since.IsZero() && e.Since.Before(e.Time) {
			s += "有变化 Changed: "
		}
	}
	s += Title(e.Type)
	if e.Database != "" {
		s += ": " + e.Database
	}
	return s
}

// Text is the message body for people.
func (e Event) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", e.Subject())
	if e.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", e.Summary)
	}
	row := func(zh, en, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s / %s: %s\n", zh, en, v)
		}
	}
	row("数据库", "Database", e.Database)
	row("任务", "Job", e.Kind)
	row("状态", "State", e.State)
	row("时间", "Time", e.Time.Format(time.RFC3339))
	if !e.Since.IsZero() {
		row("开始于", "Since", e.Since.Format(time.RFC3339))
	}
	row("主机", "Host", e.Host)
	row("错误", "Error", e.Error)
	if e.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", e.Detail)
	}
	if e.Suppressed > 0 {
		fmt.Fprintf(&b, "\n另有 %d 条消息因频率限制未发送。%d more messages were held back by the rate limit.\n", e.Suppressed, e.Suppressed)
	}
	b.WriteString("\n-- dbopsd\n")
	return b.String()
}
