package schedule

import (
	"time"

	"github.com/dbopsd/dbopsd/when"
)

// Spec says when something runs by the clock. Specs are parsed by package
// when, which config shares: a policy's schedules are parsed once, when it
// loads (config.Policy's FullSpec, DifferentialSpec and VerifySpec), and
// the plan runs on those values.
type Spec = when.Spec

// Union runs whenever any of its specs runs.
type Union = when.Union

// Named sets the day and time of the named schedules.
type Named = when.Named

// DefaultPrune is when the repository is pruned: daily, after the usual
// night windows.
const DefaultPrune = "30 7 * * *"

// ParseSpec reads a named schedule or a cron expression (when.ParseSpec),
// for the site's own jobs, which no policy schedules.
func ParseSpec(s string, loc *time.Location) (Spec, error) { return when.ParseSpec(s, loc) }

// ParseSpecWith is ParseSpec with the named schedules' day and time set.
func ParseSpecWith(s string, loc *time.Location, n Named) (Spec, error) {
	return when.ParseSpecWith(s, loc, n)
}

// Slots counts the runs of s in (after, until], up to limit.
func Slots(s Spec, after, until time.Time, limit int) int { return when.Slots(s, after, until, limit) }

// Prev returns the last run of s at or before t, searching back at most
// span; zero when there is none.
func Prev(s Spec, t time.Time, span time.Duration) time.Time { return when.Prev(s, t, span) }

// every runs every d from start; the sweep's spec.
type every struct {
	start time.Time
	d     time.Duration
}

func (e every) Next(t time.Time) time.Time {
	if t.Before(e.start) {
		return e.start
	}
	n := t.Sub(e.start)/e.d + 1
	return e.start.Add(n * e.d)
}

func (e every) String() string { return "every " + e.d.String() }
