package when

import "time"

// LongestGap returns the longest time between consecutive runs of s that
// starts within [from, from+span), and whether it is over limit. A schedule
// that stops running (robfig gives up after five years) counts as over.
//
// Gaps are measured on the wall clock of from's location, so that a
// fortnight across a daylight-saving change is two weeks, not two weeks
// and an hour: the rule "at least every two weeks" is about the calendar.
//
// The gap is exact when it is longer than a few hours (shorter ones all
// come back as at most that). It samples every hour rather than walking
// every run, so a schedule firing each minute costs the same as a monthly
// one; wherever a sample may open a gap longer than the longest so far, it
// finds the exact run before it.
func LongestGap(s Spec, from time.Time, span, limit time.Duration) (gap time.Duration, over bool) {
	const step = time.Hour
	// slack covers the difference between elapsed and wall-clock time (a
	// daylight-saving shift is at most an hour), so that sampling never
	// skips a gap that is longer on the wall clock.
	const slack = time.Hour
	const floor = 2*step + slack // gaps up to this need no exact measure
	loc := from.Location()
	until := from.Add(span)
	for x := from; x.Before(until); x = x.Add(step) {
		n := s.Next(x)
		if n.IsZero() {
			return 0, true
		}
		if n.Sub(x)+step+slack <= max(gap, floor) {
			continue
		}
		// The run that opens this gap lies in (x-step, x], if any; if
		// none does, the gap is at least n-x.
		start := x
		for f := s.Next(x.Add(-step)); !f.IsZero() && !f.After(x); f = s.Next(f) {
			start = f
		}
		if g := wall(n, loc).Sub(wall(start, loc)); g > gap {
			gap = g
		}
	}
	return gap, gap > limit
}

// wall is t's wall-clock reading in loc, as a UTC time, so that the
// difference of two is calendar time.
func wall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
