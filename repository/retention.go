package repository

import (
	"fmt"
	"sort"
	"time"
)

// Retention decides which generations of one database to keep. It is a pure
// function of the generations' dates, the policy, the clock and what must
// never go; prune.go applies it.
//
// Periods are calendar periods in the policy's time zone, counted back from
// the one holding now, whether or not they hold a generation: "monthly = 12"
// keeps the newest generation started in each of the last 12 months
// (this month included), so the tiers reach back a fixed time, as archive
// rules are written, and a pause in backups does not stretch them. The
// newest N generations are kept whatever their age, so a pause never loses
// the last recovery points either.

// RetentionPolicy is a policy's retention { } block.
type RetentionPolicy struct {
	Generations int `json:"generations"` // newest N (at least 1 is always kept)
	Monthly     int `json:"monthly"`
	Quarterly   int `json:"quarterly"`
	Yearly      int `json:"yearly"`
}

// GenerationInfo is what retention needs to know of a generation.
type GenerationInfo struct {
	ID string `json:"id"` // the generation id: its full backup's id
	// Started is when the generation's full backup started.
	Started time.Time `json:"started"`
	// Backups are the ids of its backups (the full and its differentials).
	Backups []string `json:"backups"`
}

// RetentionInput is everything Retain looks at.
type RetentionInput struct {
	Generations []GenerationInfo
	Policy      RetentionPolicy
	Now         time.Time
	// Location is the time zone periods are cut in (default time.Local).
	Location *time.Location
	// Verified holds the ids of backups whose restore verification passed
	// (catalog verify_status "ok").
	Verified map[string]bool
	// Protected holds generations that must stay whatever the policy says,
	// with the reason (e.g. a backup writing into it holds a live lock).
	Protected map[string]string
}

// GenerationDecision is the verdict on one generation.
type GenerationDecision struct {
	GenerationInfo
	Keep bool `json:"keep"`
	// Reasons lists every rule that keeps the generation; for one that
	// goes, why it goes.
	Reasons []string `json:"reasons"`
}

// Retain returns one decision per generation, newest first.
func Retain(in RetentionInput) []GenerationDecision {
	loc := in.Location
	if loc == nil {
		loc = time.Local
	}
	ds := make([]GenerationDecision, len(in.Generations))
	for i, g := range in.Generations {
		ds[i] = GenerationDecision{GenerationInfo: g}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].Started.Equal(ds[j].Started) {
			return ds[i].Started.After(ds[j].Started)
		}
		return ds[i].ID > ds[j].ID
	})
	keep := func(i int, reason string) {
		ds[i].Keep = true
		ds[i].Reasons = append(ds[i].Reasons, reason)
	}

	n := max(in.Policy.Generations, 1)
	for i := range ds {
		if i < n {
			keep(i, fmt.Sprintf("newest %d generations (#%d)", n, i+1))
		}
	}

	// Tiers: ds is newest first, so the first generation met in a period is
	// the newest of that period.
	now := in.Now.In(loc)
	tiers := []struct {
		name   string
		count  int
		period func(t time.Time) int // a period number, increasing with time
		label  func(t time.Time) string
	}{
		{"monthly", in.Policy.Monthly,
			func(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 },
			func(t time.Time) string { return t.Format("2006-01") }},
		{"quarterly", in.Policy.Quarterly,
			func(t time.Time) int { return t.Year()*4 + (int(t.Month())-1)/3 },
			func(t time.Time) string { return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1) }},
		{"yearly", in.Policy.Yearly,
			func(t time.Time) int { return t.Year() },
			func(t time.Time) string { return fmt.Sprintf("%d", t.Year()) }},
	}
	for _, tier := range tiers {
		if tier.count <= 0 {
			continue
		}
		cur := tier.period(now)
		seen := map[int]bool{}
		for i := range ds {
			t := ds[i].Started.In(loc)
			p := tier.period(t)
			if p > cur-tier.count && p <= cur && !seen[p] {
				seen[p] = true
				keep(i, fmt.Sprintf("%s %s (one per period for %d)", tier.name, tier.label(t), tier.count))
			}
		}
	}

	// The newest verified recovery points stay, whatever their age: until
	// a newer one is verified they are the only ones known to restore.
	newestFull, newestAny := -1, -1
	var newestAnyID string
	for i := range ds {
		if newestFull < 0 && in.Verified[ds[i].ID] {
			newestFull = i
		}
		for _, b := range ds[i].Backups {
			if in.Verified[b] && b > newestAnyID {
				newestAny, newestAnyID = i, b
			}
		}
	}
	if newestFull >= 0 {
		keep(newestFull, "newest verified full")
	}
	if newestAny >= 0 && newestAny != newestFull {
		keep(newestAny, "newest verified backup ("+newestAnyID+")")
	}

	for i := range ds {
		if why, ok := in.Protected[ds[i].ID]; ok {
			keep(i, why)
		}
		if !ds[i].Keep {
			ds[i].Reasons = append(ds[i].Reasons, fmt.Sprintf("expired: older than the newest %d generations and kept by no tier", n))
		}
	}
	return ds
}

// backupTime is the time encoded in a backup id from NewBackupID.
func backupTime(id string) (time.Time, bool) {
	const layout = "20060102T150405.000Z"
	if len(id) < len(layout) {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, id[:len(layout)])
	return t, err == nil
}
