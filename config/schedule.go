package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Named schedules in policy and report blocks. Anything else must be a
// five-field cron expression (minute hour day-of-month month day-of-week),
// read in daemon.timezone.
const (
	Monthly   = "monthly"   // full, report
	Quarterly = "quarterly" // full
	Biweekly  = "biweekly"  // differential: every two weeks
	Weekly    = "weekly"    // differential, report
	None      = "none"      // differential, verify

	VerifyAfterFull = "after_full" // verify each new full backup
	VerifyAfterEach = "after_each" // verify every backup, full or differential
)

// Defaults of a policy's full_day, full_time, differential_time and
// differential_anchor: the first Sunday of the month at 01:00, differentials
// on Sundays at 01:00, biweekly in the fortnights from Sunday 7 January 2024.
// The anchor is fixed, not the daemon's start, so that a restart never
// shifts a database's differentials.
const (
	DefaultFullDay            = time.Sunday
	DefaultTimeOfDay          = time.Hour // full_time and differential_time
	DefaultDifferentialAnchor = "2024-01-07"
)

// dateLayout is how differential_anchor is written.
const dateLayout = "2006-01-02"

var defaultAnchor = mustDate(DefaultDifferentialAnchor)

func mustDate(s string) time.Time {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// weekdays are the values of full_day, by time.Weekday.
var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// ParseWeekday reads an English day of the week in any case ("Saturday").
func ParseWeekday(s string) (time.Weekday, bool) {
	i := slices.Index(weekdays, strings.ToLower(s))
	return time.Weekday(i), i >= 0
}

// ParseTimeOfDay reads "HH:MM" (00:00 to 23:59) as the time since midnight.
func ParseTimeOfDay(s string) (time.Duration, error) { return parseClock(s, false) }

// ParseDate reads "YYYY-MM-DD" as midnight UTC of that date.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// clock formats a time since midnight as HH:MM.
func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// criticalMaxGap is the contract's rule for important databases: a
// differential (or a full) at least every two weeks.
const criticalMaxGap = 14 * 24 * time.Hour

// IsCron reports whether s is meant as a cron expression rather than one of
// the named schedules; the scheduler hands such values to gocron as they are.
func IsCron(s string) bool { return len(strings.Fields(s)) > 1 }

// parseCron accepts exactly five fields. Descriptors (@daily) and CRON_TZ=
// prefixes are refused so that one policy file reads one way: the named
// schedules cover the common cases and daemon.timezone covers the zone.
func parseCron(s string) (cron.Schedule, error) {
	if n := len(strings.Fields(s)); n != 5 {
		return nil, fmt.Errorf("a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has %d", n)
	}
	return cron.ParseStandard(s)
}

// namedGap is the longest time between two runs of a named schedule; 0 means
// the schedule never runs.
var namedGap = map[string]time.Duration{
	Weekly:    7 * 24 * time.Hour,
	Biweekly:  14 * 24 * time.Hour,
	Monthly:   31 * 24 * time.Hour,
	Quarterly: 92 * 24 * time.Hour,
	None:      0,
}

// unionSchedule fires whenever any of its schedules fires.
type unionSchedule []cron.Schedule

func (u unionSchedule) Next(t time.Time) time.Time {
	var next time.Time
	for _, s := range u {
		if n := s.Next(t); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next
}

// longestGap returns the longest time between consecutive runs of s that
// starts within [from, from+span), or ok = false when that is at most limit.
// It samples every hour rather than walking every run, so a schedule firing
// each minute costs the same as a monthly one; wherever a sample comes close
// to the limit it finds the exact run before it.
func longestGap(s cron.Schedule, from time.Time, span, limit time.Duration) (gap time.Duration, over bool) {
	const step = time.Hour
	until := from.Add(span)
	for x := from; x.Before(until); x = x.Add(step) {
		n := s.Next(x)
		if n.IsZero() { // robfig gives up after five years: effectively never
			return 0, true
		}
		if n.Sub(x)+step <= limit {
			continue
		}
		// The run that opens this gap lies in (x-step, x], if any; if
		// none does, the gap is at least n-x.
		start := x
		for f := s.Next(x.Add(-step)); !f.IsZero() && !f.After(x); f = s.Next(f) {
			start = f
		}
		if g := n.Sub(start); g > gap {
			gap = g
		}
	}
	return gap, gap > limit
}

// Window is a daily time window from a policy's window = "HH:MM-HH:MM".
// Start and End are offsets from midnight; End <= Start means the window
// wraps past midnight ("22:00-04:00"). The zero Window means any time.
type Window struct {
	Start, End time.Duration
}

// ParseWindow parses "HH:MM-HH:MM" ("" gives the zero Window, any time).
// "24:00" is allowed as an end.
func ParseWindow(s string) (Window, error) {
	if s == "" {
		return Window{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("window %q is not HH:MM-HH:MM", s)
	}
	start, err := parseClock(strings.TrimSpace(from), false)
	if err != nil {
		return Window{}, fmt.Errorf("window start: %w", err)
	}
	end, err := parseClock(strings.TrimSpace(to), true)
	if err != nil {
		return Window{}, fmt.Errorf("window end: %w", err)
	}
	if start == end%(24*time.Hour) {
		return Window{}, fmt.Errorf("window %q starts when it ends; leave window out to allow any time of day", s)
	}
	return Window{Start: start, End: end}, nil
}

func parseClock(s string, end bool) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Contains reports whether t, in its own location, falls inside w.
func (w Window) Contains(t time.Time) bool {
	if w.Start == w.End {
		return true
	}
	h, m, s := t.Clock()
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if w.Start < w.End {
		return d >= w.Start && d < w.End
	}
	return d >= w.Start || d < w.End
}

// String gives the window back as HH:MM-HH:MM ("" for any time).
func (w Window) String() string {
	if w.Start == w.End {
		return ""
	}
	return clock(w.Start) + "-" + clock(w.End)
}
