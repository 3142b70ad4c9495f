package when

import (
	"testing"
	"time"
)

func TestSpecs(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		spec string
		loc  *time.Location
		from string
		want []string // the next runs, in order
	}{
		{"monthly", sh, "2025-01-01 00:00:00", []string{"2025-01-05 01:00:00", "2025-02-02 01:00:00", "2025-03-02 01:00:00", "2025-04-06 01:00:00"}},
		// From exactly a run, the next one.
		{"monthly", sh, "2025-01-05 01:00:00", []string{"2025-02-02 01:00:00"}},
		{"monthly", sh, "2025-01-05 00:59:59", []string{"2025-01-05 01:00:00"}},
		{"quarterly", sh, "2025-01-06 00:00:00", []string{"2025-04-06 01:00:00", "2025-07-06 01:00:00", "2025-10-05 01:00:00", "2026-01-04 01:00:00"}},
		{"quarterly", sh, "2025-05-15 00:00:00", []string{"2025-07-06 01:00:00"}},
		{"weekly", sh, "2025-01-01 00:00:00", []string{"2025-01-05 01:00:00", "2025-01-12 01:00:00"}},
		// Biweekly counts from the fixed anchor, 2024-01-07.
		{"biweekly", sh, "2025-01-01 00:00:00", []string{"2025-01-05 01:00:00", "2025-01-19 01:00:00", "2025-02-02 01:00:00"}},
		{"biweekly", sh, "2025-01-05 01:00:00", []string{"2025-01-19 01:00:00"}},
		{"0 2 1 * *", sh, "2025-01-01 02:00:00", []string{"2025-02-01 02:00:00"}},
		{"*/10 * * * * *", sh, "2025-01-01 00:00:00", []string{"2025-01-01 00:00:10", "2025-01-01 00:00:20"}},
		{"daily", sh, "2025-01-01 01:00:00", []string{"2025-01-02 01:00:00"}},
		// Across the spring change in Berlin (30 March 2025, 02:00 -> 03:00):
		// named schedules keep their wall-clock time.
		{"weekly", berlin, "2025-03-29 12:00:00", []string{"2025-03-30 01:00:00", "2025-04-06 01:00:00"}},
		{"biweekly", berlin, "2025-03-20 12:00:00", []string{"2025-03-30 01:00:00", "2025-04-13 01:00:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.from, func(t *testing.T) {
			s, err := ParseSpec(tt.spec, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			x := at(tt.loc, tt.from)
			for _, w := range tt.want {
				x = s.Next(x)
				if want := at(tt.loc, w); !x.Equal(want) {
					t.Fatalf("Next = %s, want %s", x.In(tt.loc), want)
				}
			}
		})
	}
	// Before the anchor, biweekly still lands on the anchor's fortnights.
	s, _ := ParseSpec("biweekly", sh)
	n := s.Next(at(sh, "2023-12-20 00:00:00"))
	if want := at(sh, "2023-12-24 01:00:00"); !n.Equal(want) {
		t.Errorf("biweekly before the anchor: %s, want %s", n, want)
	}
	if n.In(sh).Weekday() != time.Sunday {
		t.Errorf("biweekly before the anchor is a %s", n.In(sh).Weekday())
	}
}

func TestSpecErrors(t *testing.T) {
	for _, s := range []string{"fortnightly", "0 2 1 *", "61 * * * *", "@daily"} {
		if _, err := ParseSpec(s, time.UTC); err == nil {
			t.Errorf("ParseSpec(%q) accepted", s)
		}
	}
}

func TestSlotsAndPrev(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	s, _ := ParseSpec("monthly", sh)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, sh)
	if n := Slots(s, from, from.AddDate(1, 0, 0), 100); n != 12 {
		t.Errorf("monthly: %d slots in a year", n)
	}
	q, _ := ParseSpec("quarterly", sh)
	if n := Slots(q, from, from.AddDate(1, 0, 0), 100); n != 4 {
		t.Errorf("quarterly: %d slots in a year", n)
	}
	if p := Prev(s, from, 60*24*time.Hour); !p.Equal(time.Date(2024, 12, 1, 1, 0, 0, 0, sh)) {
		t.Errorf("Prev = %s", p)
	}
	u := Union{s, q}
	if n := Slots(u, from, from.AddDate(1, 0, 0), 100); n != 12 {
		t.Errorf("union of monthly and quarterly: %d slots, want 12 (they coincide)", n)
	}
}

func TestNamedDayAndTime(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	sat, at := time.Saturday, 2*time.Hour+30*time.Minute
	anchor := time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC) // a Wednesday
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, sh)
	m, err := ParseSpecWith("monthly", sh, Named{Weekday: &sat, TimeOfDay: &at})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Next(from), time.Date(2025, 1, 4, 2, 30, 0, 0, sh); !got.Equal(want) {
		t.Errorf("monthly on the first Saturday at 02:30: %s, want %s", got, want)
	}
	b, _ := ParseSpecWith("biweekly", sh, Named{Anchor: &anchor, TimeOfDay: &at})
	if got, want := b.Next(from), time.Date(2025, 1, 8, 2, 30, 0, 0, sh); !got.Equal(want) {
		t.Errorf("biweekly from Wednesday 8 January: %s, want %s", got, want)
	}
	if got, want := b.Next(time.Date(2025, 1, 8, 2, 30, 0, 0, sh)), time.Date(2025, 1, 22, 2, 30, 0, 0, sh); !got.Equal(want) {
		t.Errorf("the next: %s, want %s", got, want)
	}
	bad := 25 * time.Hour
	if _, err := ParseSpecWith("monthly", sh, Named{TimeOfDay: &bad}); err == nil {
		t.Error("25:00 accepted")
	}
}
