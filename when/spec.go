package when

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Spec says when something runs by the clock.
type Spec interface {
	// Next returns the first run strictly after t, or the zero time when
	// there is none.
	Next(t time.Time) time.Time
	// String gives the schedule back as it was written, a named one with
	// its day and time ("monthly (first Saturday, 02:30)").
	String() string
}

// The named schedules. Anything else is a cron expression.
const (
	Monthly   = "monthly"   // the first Weekday of every month
	Quarterly = "quarterly" // the first Weekday of January, April, July, October
	Weekly    = "weekly"    // every week on the anchor's weekday
	Biweekly  = "biweekly"  // every other week, counted from the anchor
	Daily     = "daily"     // every day
)

// Defaults of the named schedules, those of a policy that sets none of
// full_day, full_time, differential_time and differential_anchor: the first
// Sunday of the month at 01:00, weekly and biweekly on Sundays at 01:00,
// biweekly in the fortnights from Sunday 7 January 2024. The anchor is
// fixed, not the daemon's start, so that a restart never shifts a
// database's differentials.
const (
	DefaultTimeOfDay = time.Hour   // 01:00
	DefaultWeekday   = time.Sunday // monthly and quarterly: the first Sunday
	DefaultAnchor    = "2024-01-07"
)

// DateLayout is how dates are written in policy files (differential_anchor).
const DateLayout = "2006-01-02"

// defaultAnchor is DefaultAnchor as a date.
var defaultAnchor = func() civilDate {
	t, err := ParseDate(DefaultAnchor)
	if err != nil {
		panic(err)
	}
	return civilDate{t.Year(), t.Month(), t.Day()}
}()

type civilDate struct {
	year  int
	month time.Month
	day   int
}

// ParseSpec reads a named schedule ("monthly", "quarterly", "weekly",
// "biweekly", "daily") or a cron expression, read in loc. Cron expressions
// have five fields; six fields (seconds first) are accepted for programmatic
// use (tests), though policy files are validated to five.
func ParseSpec(s string, loc *time.Location) (Spec, error) {
	return ParseSpecWith(s, loc, Named{})
}

// Named sets the day and time of the named schedules; zero fields take the
// defaults (Sunday, 01:00, DefaultAnchor). The anchor's weekday is the
// weekly and biweekly day.
type Named struct {
	Weekday   *time.Weekday  // monthly, quarterly: the first such day of the month
	TimeOfDay *time.Duration // since midnight
	Anchor    *time.Time     // weekly, biweekly: a date they run on (its date only)
}

// ParseSpecWith is ParseSpec with the named schedules' day and time set.
func ParseSpecWith(s string, loc *time.Location, n Named) (Spec, error) {
	if loc == nil {
		loc = time.Local
	}
	at, weekday, anchor := DefaultTimeOfDay, DefaultWeekday, defaultAnchor
	if n.TimeOfDay != nil {
		if *n.TimeOfDay < 0 || *n.TimeOfDay >= 24*time.Hour {
			return nil, fmt.Errorf("time of day %s is not within a day", *n.TimeOfDay)
		}
		at = *n.TimeOfDay
	}
	if n.Weekday != nil {
		weekday = *n.Weekday
	}
	if n.Anchor != nil {
		y, m, d := n.Anchor.Date()
		anchor = civilDate{y, m, d}
	}
	switch s {
	case Monthly:
		return nthWeekday{text: s, months: 1, weekday: weekday, at: at, loc: loc}, nil
	case Quarterly:
		return nthWeekday{text: s, months: 3, weekday: weekday, at: at, loc: loc}, nil
	case Weekly:
		return everyWeeks{text: s, weeks: 1, anchor: anchor, at: at, loc: loc}, nil
	case Biweekly:
		return everyWeeks{text: s, weeks: 2, anchor: anchor, at: at, loc: loc}, nil
	case Daily:
		return ParseSpec(fmt.Sprintf("%d %d * * *", int(at%time.Hour/time.Minute), int(at/time.Hour)), loc)
	}
	var (
		sched cron.Schedule
		err   error
	)
	switch n := len(strings.Fields(s)); n {
	case 5:
		sched, err = cron.ParseStandard(s)
	case 6:
		sched, err = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(s)
	default:
		return nil, fmt.Errorf("schedule %q is neither a named schedule nor a cron expression (5 fields)", s)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %q: unsupported cron form", s)
	}
	spec.Location = loc
	return cronSpec{text: s, s: spec}, nil
}

type cronSpec struct {
	text string
	s    *cron.SpecSchedule
}

func (c cronSpec) Next(t time.Time) time.Time { return c.s.Next(t) }
func (c cronSpec) String() string             { return c.text }

// nthWeekday runs on the first weekday of every months-th month (January
// first), at the time of day at.
type nthWeekday struct {
	text    string
	months  int
	weekday time.Weekday
	at      time.Duration
	loc     *time.Location
}

func (s nthWeekday) String() string {
	return fmt.Sprintf("%s (first %s, %s)", s.text, s.weekday, hhmm(s.at))
}

func (s nthWeekday) Next(t time.Time) time.Time {
	lt := t.In(s.loc)
	y, m := lt.Year(), lt.Month()
	// Back to the first month of the period holding t.
	m -= time.Month((int(m) - 1) % s.months)
	for range 30 {
		if c := s.in(y, m); c.After(t) {
			return c
		}
		m += time.Month(s.months)
		if m > 12 {
			m -= 12
			y++
		}
	}
	return time.Time{}
}

func (s nthWeekday) in(y int, m time.Month) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, s.loc)
	day := 1 + (int(s.weekday)-int(first.Weekday())+7)%7
	return atTime(y, m, day, s.at, s.loc)
}

// everyWeeks runs every weeks weeks on the anchor's weekday, at the time of
// day at.
type everyWeeks struct {
	text   string
	weeks  int
	anchor civilDate
	at     time.Duration
	loc    *time.Location
}

func (s everyWeeks) String() string {
	a := time.Date(s.anchor.year, s.anchor.month, s.anchor.day, 0, 0, 0, 0, time.UTC)
	if s.weeks == 1 {
		return fmt.Sprintf("%s (%s, %s)", s.text, a.Weekday(), hhmm(s.at))
	}
	return fmt.Sprintf("%s (%s, %s, from %s)", s.text, a.Weekday(), hhmm(s.at), a.Format("2006-01-02"))
}

func (s everyWeeks) Next(t time.Time) time.Time {
	lt := t.In(s.loc)
	// Count whole days in the calendar (UTC dates), which DST cannot skew.
	a := time.Date(s.anchor.year, s.anchor.month, s.anchor.day, 0, 0, 0, 0, time.UTC)
	d := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	days := int(d.Sub(a).Hours() / 24)
	period := 7 * s.weeks
	k := days / period
	if days < 0 && days%period != 0 {
		k--
	}
	for range 3 {
		c := a.AddDate(0, 0, k*period)
		if run := atTime(c.Year(), c.Month(), c.Day(), s.at, s.loc); run.After(t) {
			return run
		}
		k++
	}
	return time.Time{}
}

// hhmm formats a time of day as HH:MM, with seconds when it has them.
func hhmm(at time.Duration) string {
	if at%time.Minute != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", int(at/time.Hour), int(at%time.Hour/time.Minute), int(at%time.Minute/time.Second))
	}
	return fmt.Sprintf("%02d:%02d", int(at/time.Hour), int(at%time.Hour/time.Minute))
}

func atTime(y int, m time.Month, day int, at time.Duration, loc *time.Location) time.Time {
	return time.Date(y, m, day, int(at/time.Hour), int(at%time.Hour/time.Minute), int(at%time.Minute/time.Second), 0, loc)
}

// Union runs whenever any of its specs runs.
type Union []Spec

// Next is the earliest Next of the specs.
func (u Union) Next(t time.Time) time.Time {
	var next time.Time
	for _, s := range u {
		if n := s.Next(t); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next
}

func (u Union) String() string {
	parts := make([]string, len(u))
	for i, s := range u {
		parts[i] = s.String()
	}
	return strings.Join(parts, " | ")
}

// Slots counts the runs of s in (after, until], up to limit.
func Slots(s Spec, after, until time.Time, limit int) int {
	n := 0
	for t := s.Next(after); !t.IsZero() && !t.After(until) && n < limit; t = s.Next(t) {
		n++
	}
	return n
}

// Prev returns the last run of s at or before t, searching back at most
// span; zero when there is none.
func Prev(s Spec, t time.Time, span time.Duration) time.Time {
	var prev time.Time
	for x := s.Next(t.Add(-span)); !x.IsZero() && !x.After(t); x = s.Next(x) {
		prev = x
	}
	return prev
}
