package when

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Window is a daily time window, window = "HH:MM-HH:MM" in a policy.
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

// NextOpen is when w next opens after now, in now's location.
func (w Window) NextOpen(now time.Time) time.Time {
	y, m, d := now.Date()
	for i := range 3 {
		open := time.Date(y, m, d+i, 0, 0, 0, 0, now.Location()).Add(w.Start)
		if open.After(now) {
			return open
		}
	}
	return now.Add(24 * time.Hour)
}

// String gives the window back as HH:MM-HH:MM ("" for any time).
func (w Window) String() string {
	if w.Start == w.End {
		return ""
	}
	return clock(w.Start) + "-" + clock(w.End)
}

// Weekdays are the days of the week as policy files write them, by
// time.Weekday.
var Weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// ParseWeekday reads an English day of the week in any case ("Saturday").
func ParseWeekday(s string) (time.Weekday, bool) {
	i := slices.Index(Weekdays, strings.ToLower(s))
	return time.Weekday(i), i >= 0
}

// ParseTimeOfDay reads "HH:MM" (00:00 to 23:59) as the time since midnight.
func ParseTimeOfDay(s string) (time.Duration, error) { return parseClock(s, false) }

// ParseDate reads "YYYY-MM-DD" as midnight UTC of that date.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
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

// clock formats a time since midnight as HH:MM.
func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
