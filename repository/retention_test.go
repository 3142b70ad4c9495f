package repository

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func genAt(t time.Time) GenerationInfo {
	id := t.UTC().Format("20060102T150405.000Z") + "-0000"
	return GenerationInfo{ID: id, Started: t, Backups: []string{id}}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 2, 0, 0, 0, time.UTC) }

// monthlyFulls returns one generation on the 5th of every month from
// (y0, m0) to (y1, m1) inclusive.
func monthlyFulls(y0 int, m0 time.Month, y1 int, m1 time.Month) []GenerationInfo {
	var out []GenerationInfo
	for t := date(y0, m0, 5); !t.After(date(y1, m1, 5)); t = t.AddDate(0, 1, 0) {
		out = append(out, genAt(t))
	}
	return out
}

func months(list ...string) []string { return list }

func TestRetain(t *testing.T) {
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	twoYears := monthlyFulls(2024, 12, 2026, 11)
	twicePerMonth := append(monthlyFulls(2026, 6, 2026, 11), func() []GenerationInfo {
		var out []GenerationInfo
		for _, g := range monthlyFulls(2026, 6, 2026, 11) {
			out = append(out, genAt(g.Started.AddDate(0, 0, 14)))
		}
		return out
	}()...)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		gens      []GenerationInfo
		policy    RetentionPolicy
		verified  []time.Time
		protected []time.Time
		loc       *time.Location
		// keep lists the kept generations by start month (YYYY-MM or, when
		// a month has several, YYYY-MM-DD).
		keep []string
		// reason, when set, must appear among the reasons of the kept
		// generation that starts in this month.
		reason map[string]string
	}{
		{name: "newest N only", gens: twoYears, policy: RetentionPolicy{Generations: 3},
			keep: months("2026-11", "2026-10", "2026-09"), reason: map[string]string{"2026-09": "newest 3 generations (#3)"}},
		{name: "N below 1 keeps the newest", gens: twoYears, policy: RetentionPolicy{Generations: 0},
			keep: months("2026-11")},
		{name: "monthly 12 includes this month", gens: twoYears, policy: RetentionPolicy{Generations: 1, Monthly: 12},
			keep:   months("2026-11", "2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05", "2026-04", "2026-03", "2026-02", "2026-01", "2025-12"),
			reason: map[string]string{"2025-12": "monthly 2025-12"}},
		{name: "quarterly keeps the newest of each quarter", gens: twoYears, policy: RetentionPolicy{Generations: 1, Quarterly: 4},
			keep:   months("2026-11", "2026-09", "2026-06", "2026-03"),
			reason: map[string]string{"2026-03": "quarterly 2026-Q1", "2026-11": "quarterly 2026-Q4"}},
		{name: "yearly", gens: twoYears, policy: RetentionPolicy{Generations: 1, Yearly: 3},
			keep:   months("2026-11", "2025-12", "2024-12"),
			reason: map[string]string{"2024-12": "yearly 2024"}},
		{name: "tiers combine", gens: twoYears, policy: RetentionPolicy{Generations: 2, Monthly: 3, Quarterly: 3, Yearly: 2},
			keep: months("2026-11", "2026-10", "2026-09", "2026-06", "2025-12")},
		{name: "two per month: the newest of each month", gens: twicePerMonth, policy: RetentionPolicy{Generations: 1, Monthly: 3},
			keep: months("2026-11-19", "2026-10-19", "2026-09-19")},
		{name: "newest verified full is kept whatever its age", gens: twoYears, policy: RetentionPolicy{Generations: 2},
			verified: []time.Time{date(2025, 3, 5), date(2025, 7, 5)},
			keep:     months("2026-11", "2026-10", "2025-07"), reason: map[string]string{"2025-07": "newest verified full"}},
		{name: "verified generation already kept", gens: twoYears, policy: RetentionPolicy{Generations: 2},
			verified: []time.Time{date(2026, 10, 5)}, keep: months("2026-11", "2026-10")},
		{name: "a live lock protects", gens: twoYears, policy: RetentionPolicy{Generations: 1},
			protected: []time.Time{date(2025, 1, 5)}, keep: months("2026-11", "2025-01"),
			reason: map[string]string{"2025-01": "backup running"}},
		{name: "a pause in backups does not stretch the tiers", gens: monthlyFulls(2023, 1, 2024, 6), policy: RetentionPolicy{Generations: 2, Monthly: 12, Quarterly: 4},
			keep: months("2024-06", "2024-05")},
		{name: "periods are cut in the policy's time zone", loc: shanghai, policy: RetentionPolicy{Generations: 1, Monthly: 2},
			// 20:00 UTC on 31 October is 04:00 on 1 November in Shanghai:
			// the October generation of UTC is a November one there.
			gens: []GenerationInfo{genAt(time.Date(2026, 10, 10, 2, 0, 0, 0, time.UTC)), genAt(time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC)), genAt(time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC))},
			keep: months("2026-11", "2026-10-10")},
		{name: "no generations", gens: nil, policy: RetentionPolicy{Generations: 3}, keep: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := RetentionInput{Generations: tc.gens, Policy: tc.policy, Now: now, Location: tc.loc,
				Verified: map[string]bool{}, Protected: map[string]string{}}
			for _, v := range tc.verified {
				in.Verified[genAt(v).ID] = true
			}
			for _, p := range tc.protected {
				in.Protected[genAt(p).ID] = "backup running: lock held by host h pid 1"
			}
			ds := Retain(in)
			if len(ds) != len(tc.gens) {
				t.Fatalf("%d decisions for %d generations", len(ds), len(tc.gens))
			}
			// Labels say the month, or the day where a month has several.
			perMonth := map[string]int{}
			for _, g := range tc.gens {
				perMonth[g.Started.UTC().Format("2006-01")]++
			}
			label := func(g GenerationInfo) string {
				m := g.Started.UTC().Format("2006-01")
				if perMonth[m] > 1 {
					return g.Started.UTC().Format("2006-01-02")
				}
				return m
			}
			var kept []string
			for i, d := range ds {
				if i > 0 && d.Started.After(ds[i-1].Started) {
					t.Errorf("decisions are not newest first")
				}
				if len(d.Reasons) == 0 {
					t.Errorf("%s: no reason given", d.ID)
				}
				if d.Keep {
					kept = append(kept, label(d.GenerationInfo))
				} else if !strings.HasPrefix(d.Reasons[0], "expired") {
					t.Errorf("%s goes with reasons %q", d.ID, d.Reasons)
				}
				if want, ok := tc.reason[label(d.GenerationInfo)]; ok {
					if !d.Keep || !slices.ContainsFunc(d.Reasons, func(r string) bool { return strings.Contains(r, want) }) {
						t.Errorf("%s: keep=%v reasons %q, want a reason with %q", label(d.GenerationInfo), d.Keep, d.Reasons, want)
					}
				}
			}
			if !slices.Equal(kept, tc.keep) {
				t.Errorf("kept %q, want %q", kept, tc.keep)
			}
		})
	}
}

func TestBackupTime(t *testing.T) {
	at := time.Date(2026, 11, 26, 19, 30, 12, 345e6, time.UTC)
	got, ok := backupTime(NewBackupID(at))
	if !ok || !got.Equal(at) {
		t.Fatalf("backupTime(NewBackupID(%s)) = %s, %v", at, got, ok)
	}
	if _, ok := backupTime("not-an-id"); ok {
		t.Fatal("a foreign name parsed as a backup id")
	}
}
