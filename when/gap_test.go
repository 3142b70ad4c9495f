package when

import (
	"testing"
	"time"
)

// TestLongestGap measures named schedules and cron expressions with the one
// implementation the scheduler runs, across daylight-saving changes too.
func TestLongestGap(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	const twoWeeks = 14 * 24 * time.Hour
	day := 24 * time.Hour
	for _, tc := range []struct {
		specs []string
		loc   *time.Location
		gap   time.Duration // 0: only over is checked
		over  bool
	}{
		{[]string{Weekly}, time.UTC, 7 * day, false},
		{[]string{Biweekly}, time.UTC, 14 * day, false},
		// The fortnights across 30 March and 26 October 2025 are two
		// weeks on the wall clock (an hour less or more elapsed).
		{[]string{Biweekly}, berlin, 14 * day, false},
		{[]string{Monthly}, time.UTC, 35 * day, true},
		{[]string{Monthly, Weekly}, time.UTC, 7 * day, false},
		{[]string{"0 1 1,15 * *"}, time.UTC, 17 * day, true},
		{[]string{"0 2 1 * *", "0 3 8,15,22 * *"}, time.UTC, 0, false},
		{[]string{"0 1 29 2 *"}, time.UTC, 0, true}, // leap days only
	} {
		var u Union
		for _, s := range tc.specs {
			sp, err := ParseSpec(s, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			u = append(u, sp)
		}
		from := time.Date(2025, 1, 1, 0, 0, 0, 0, tc.loc)
		gap, over := LongestGap(u, from, 366*day, twoWeeks)
		if over != tc.over || (tc.gap != 0 && gap != tc.gap) {
			t.Errorf("%v in %s: gap %v, over %v; want %v, %v", tc.specs, tc.loc, gap, over, tc.gap, tc.over)
		}
	}
}
