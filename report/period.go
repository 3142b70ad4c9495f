package report

import (
	"fmt"
	"time"
)

// MonthPeriod is the calendar month named "YYYY-MM" in loc; "" is the month
// before now's.
func MonthPeriod(s string, now time.Time, loc *time.Location) (from, to time.Time, label string, err error) {
	if s == "" {
		n := now.In(loc)
		from = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0)
	} else {
		t, perr := time.ParseInLocation("2006-01", s, loc)
		if perr != nil {
			return time.Time{}, time.Time{}, "", fmt.Errorf("month %q: want YYYY-MM, e.g. 2026-11", s)
		}
		from = t
	}
	return from, from.AddDate(0, 1, 0), from.Format("2006-01"), nil
}

// WeekPeriod is the ISO week named "YYYY-Www" in loc (Monday to Monday);
// "" is the week before now's.
func WeekPeriod(s string, now time.Time, loc *time.Location) (from, to time.Time, label string, err error) {
	if s == "" {
		n := now.In(loc)
		day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
		from = day.AddDate(0, 0, -((int(day.Weekday())+6)%7)-7)
	} else {
		var y, w int
		if _, perr := fmt.Sscanf(s, "%4d-W%2d", &y, &w); perr != nil || w < 1 || w > 53 || len(s) != 8 {
			return time.Time{}, time.Time{}, "", fmt.Errorf("week %q: want YYYY-Www, e.g. 2026-W48", s)
		}
		// 4 January is always in week 1.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
		from = jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+(w-1)*7)
		if yy, ww := from.ISOWeek(); yy != y || ww != w {
			return time.Time{}, time.Time{}, "", fmt.Errorf("week %q: %d has no week %d", s, y, w)
		}
	}
	y, w := from.ISOWeek()
	return from, from.AddDate(0, 0, 7), fmt.Sprintf("%04d-W%02d", y, w), nil
}
