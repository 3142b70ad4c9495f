package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/i18n"
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

// both is key in Chinese and English, side by side ("备份失败 Backup
// failed"): alerts are read by the bureau and by the DBAs on call.
func both(key string, params i18n.Params) string {
	return i18n.T(i18n.ZH, key, params) + " " + i18n.T(i18n.EN, key, params)
}

// Title is the event's name in Chinese and English; the type itself when
// the catalog does not name it.
func Title(typ string) string {
	if _, ok := i18n.Lookup(i18n.EN, "notify.event."+typ); !ok {
		return typ
	}
	return both("notify.event."+typ, nil)
}

// Subject is the one-line summary used as an email subject.
func (e Event) Subject() string {
	s := "[dbopsd] "
	switch e.State {
	case StateResolved:
		s += both("notify.state.resolved", nil) + ": "
	case StateFiring:
		if !e.Since.IsZero() && e.Since.Before(e.Time) {
			s += both("notify.state.changed", nil) + ": "
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
	row := func(field, v string) {
		if v != "" {
			key := "notify.field." + field
			fmt.Fprintf(&b, "%s / %s: %s\n", i18n.T(i18n.ZH, key, nil), i18n.T(i18n.EN, key, nil), v)
		}
	}
	row("database", e.Database)
	row("job", e.Kind)
	row("state", e.State)
	row("time", e.Time.Format(time.RFC3339))
	if !e.Since.IsZero() {
		row("since", e.Since.Format(time.RFC3339))
	}
	row("host", e.Host)
	row("error", e.Error)
	if e.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", e.Detail)
	}
	if e.Suppressed > 0 {
		n := i18n.Params{"count": strconv.Itoa(e.Suppressed)}
		fmt.Fprintf(&b, "\n%s%s\n", i18n.T(i18n.ZH, "notify.suppressed", n), i18n.T(i18n.EN, "notify.suppressed", n))
	}
	b.WriteString("\n-- dbopsd\n")
	return b.String()
}
