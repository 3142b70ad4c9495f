package config

import (
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/when"
)

// Named schedules in policy and report blocks. Anything else must be a
// five-field cron expression (minute hour day-of-month month day-of-week),
// read in daemon.timezone. Package when parses them all; config parses a
// policy's once, when it loads, into Policy.FullSpec, DifferentialSpec and
// VerifySpec.
const (
	Monthly   = when.Monthly   // full, report
	Quarterly = when.Quarterly // full
	Biweekly  = when.Biweekly  // differential: every two weeks
	Weekly    = when.Weekly    // differential, report
	None      = "none"         // differential, verify

	VerifyAfterFull = "after_full" // verify each new full backup
	VerifyAfterEach = "after_each" // verify every backup, full or differential
)

// Defaults of a policy's full_day, full_time, differential_time and
// differential_anchor: those of the named schedules (when.DefaultWeekday,
// when.DefaultTimeOfDay, when.DefaultAnchor).
const (
	DefaultFullDay            = when.DefaultWeekday
	DefaultTimeOfDay          = when.DefaultTimeOfDay // full_time and differential_time
	DefaultDifferentialAnchor = when.DefaultAnchor
)

// dateLayout is how differential_anchor is written.
const dateLayout = when.DateLayout

var defaultAnchor = mustDate(DefaultDifferentialAnchor)

func mustDate(s string) time.Time {
	t, err := when.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// weekdays are the values of full_day, by time.Weekday.
var weekdays = when.Weekdays

// criticalMaxGap is the contract's rule for important databases: a
// differential (or a full) at least every two weeks.
const criticalMaxGap = 14 * 24 * time.Hour

// parseSchedules reads p's schedules, already checked as text, into the
// Specs the scheduler runs, in loc (daemon.timezone) with the policy's day
// and times: fulls on the first FullDay of the month or quarter at
// FullTime; weekly and biweekly differentials on FullDay too, at
// DifferentialTime, counted from DifferentialStart. With equal times a
// differential due with a full is covered by it (the queue runs the full
// first and drops the differential); with different times both run that
// day, which keeps the differentials exactly one or two weeks apart, as
// the critical-database rule (recoveryGap) counts them.
func (p *Policy) parseSchedules(loc *time.Location) error {
	full, err := when.ParseSpecWith(p.Full, loc, when.Named{Weekday: &p.FullDay, TimeOfDay: &p.FullTime})
	if err != nil {
		return fmt.Errorf("full: %w", err)
	}
	var diff, verify when.Spec
	if p.Differential != None && p.Differential != "" {
		start := p.DifferentialStart()
		if diff, err = when.ParseSpecWith(p.Differential, loc, when.Named{TimeOfDay: &p.DifferentialTime, Anchor: &start}); err != nil {
			return fmt.Errorf("differential: %w", err)
		}
	}
	if when.IsCron(p.Verify) {
		if verify, err = when.ParseSpec(p.Verify, loc); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	p.FullSpec, p.DifferentialSpec, p.VerifySpec = full, diff, verify
	return nil
}

// recoveryGap reports whether p can leave more than two weeks between two
// backups of a database (over), measured on the Specs the scheduler runs
// over the coming year. A full counts as well as a differential, so a
// weekly full with differential = "none" passes.
func recoveryGap(p *Policy, loc *time.Location) (gap time.Duration, over bool) {
	if p.FullSpec == nil {
		return 0, false // its schedules did not parse: reported already
	}
	u := when.Union{p.FullSpec}
	if p.DifferentialSpec != nil {
		u = append(u, p.DifferentialSpec)
	}
	return when.LongestGap(u, now().In(loc), 366*24*time.Hour, criticalMaxGap)
}
