package when

import (
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	at := func(hm string) time.Time {
		tm, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		in       string
		wantErr  bool
		inside   []string
		outside  []string
		asString string
	}{
		{in: "", inside: []string{"00:00", "12:00", "23:59"}},
		{in: "00:30-05:30", inside: []string{"00:30", "05:29"}, outside: []string{"00:29", "05:30", "12:00"}, asString: "00:30-05:30"},
		{in: "22:00-04:00", inside: []string{"22:00", "23:59", "00:00", "03:59"}, outside: []string{"04:00", "12:00", "21:59"}, asString: "22:00-04:00"},
		{in: "18:00-24:00", inside: []string{"23:59"}, outside: []string{"00:00", "17:59"}, asString: "18:00-24:00"},
		{in: "25:00-03:00", wantErr: true},
		{in: "1:00-03:00", wantErr: true},
		{in: "01:00", wantErr: true},
		{in: "01:60-03:00", wantErr: true},
		{in: "24:00-03:00", wantErr: true},
		{in: "03:00-03:00", wantErr: true},
		{in: "00:00-24:00", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			w, err := ParseWindow(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseWindow(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			for _, hm := range tc.inside {
				if !w.Contains(at(hm)) {
					t.Errorf("%s should be inside %q", hm, tc.in)
				}
			}
			for _, hm := range tc.outside {
				if w.Contains(at(hm)) {
					t.Errorf("%s should be outside %q", hm, tc.in)
				}
			}
			if !tc.wantErr && w.String() != tc.asString {
				t.Errorf("String() = %q, want %q", w.String(), tc.asString)
			}
		})
	}
}

func TestParseWeekday(t *testing.T) {
	for s, want := range map[string]time.Weekday{"sunday": time.Sunday, "Saturday": time.Saturday, "WEDNESDAY": time.Wednesday} {
		if got, ok := ParseWeekday(s); !ok || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "sun", "周日", "sunday ", "7"} {
		if _, ok := ParseWeekday(s); ok {
			t.Errorf("ParseWeekday(%q) accepted", s)
		}
	}
}

func TestParseTimeOfDayAndDate(t *testing.T) {
	if d, err := ParseTimeOfDay("22:30"); err != nil || d != 22*time.Hour+30*time.Minute {
		t.Errorf("ParseTimeOfDay(22:30) = %v, %v", d, err)
	}
	for _, s := range []string{"24:00", "3:30", "12:60", ""} {
		if _, err := ParseTimeOfDay(s); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", s)
		}
	}
	if d, err := ParseDate("2025-03-01"); err != nil || !d.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseDate(2025-03-01) = %v, %v", d, err)
	}
	if _, err := ParseDate("2024-02-30"); err == nil {
		t.Error("ParseDate(2024-02-30) accepted")
	}
}
