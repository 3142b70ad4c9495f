package schedule

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// dayPolicy moves two policies to Saturdays: "weekend" runs its fulls and
// weekly differentials at 02:30, "fortnight" its fulls at 02:30 and its
// biweekly differentials at 04:00 in the fortnights from 18 January 2025,
// which fall on the first Saturdays of February and March.
const dayPolicy = `
daemon {
  state_dir    = "/nonexistent/state"
  max_parallel = 2
  timezone     = "Asia/Shanghai"
}
storage "primary" {
  type = "local"
  path = "/nonexistent/repo"
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_SIM_UNSET")
}
policy "weekend" {
  full              = "monthly"
  differential      = "weekly"
  full_day          = "saturday"
  full_time         = "02:30"
  differential_time = "02:30"
}
policy "fortnight" {
  full                = "monthly"
  differential        = "biweekly"
  full_day            = "Saturday"
  full_time           = "02:30"
  differential_time   = "04:00"
  differential_anchor = "2025-01-18"
}
database "queue" {
  engine   = "postgres"
  dsn      = "postgres://dbops@10.0.0.11:5432/queue"
  policy   = "weekend"
  critical = true
}
database "rating" {
  engine   = "mysql"
  dsn      = "dbops@tcp(10.0.0.12:3306)/rating"
  policy   = "fortnight"
  critical = true
}
`

// TestSimulatedMonthFullDay drives February 2025 through gocron on a fake
// clock with full_day = "saturday" and full_time = "02:30": the fulls run
// on the first Saturdays (1 February, 1 March) at 02:30 Asia/Shanghai and
// at no other time; weekly differentials at the full's time run on the
// other Saturdays, the full standing in for the one due with it; biweekly
// differentials at their own time run on their fortnights, full days
// included.
func TestSimulatedMonthFullDay(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := func(day, hh, mm int) time.Time { return time.Date(2025, 2, day, hh, mm, 0, 0, loc) }
	start, end := at(1, 0, 0), at(1, 0, 0).AddDate(0, 1, 1) // to 2 March: the March full too

	m := newSim(t, dayPolicy, start)
	for _, tc := range []struct {
		key  Key
		want string
	}{
		{Key{KindFull, "queue"}, "monthly (first Saturday, 02:30)"},
		{Key{KindDifferential, "queue"}, "weekly (Saturday, 02:30)"},
		{Key{KindFull, "rating"}, "monthly (first Saturday, 02:30)"},
		{Key{KindDifferential, "rating"}, "biweekly (Saturday, 04:00, from 2025-01-18)"},
	} {
		if e := m.plan.Entry(tc.key); e == nil || e.Schedule != tc.want {
			t.Errorf("%s: schedule %v, want %q", tc.key, e, tc.want)
		}
	}
	m.seed()
	m.start(start.Add(-time.Minute))
	m.advance(end, 5*time.Minute)
	m.stop()

	var got []string
	for _, r := range m.runner.runs() {
		if r.trigger != TriggerSchedule {
			t.Errorf("%s at %s: trigger %s", r.key, r.start.In(loc), r.trigger)
		}
		if IsBackup(r.key.Kind) {
			got = append(got, fmt.Sprintf("%s %s", r.start.In(loc).Format("Mon 01-02 15:04"), r.key))
		}
	}
	slices.Sort(got)
	want := []string{
		"Sat 02-01 02:30 full of queue", // the weekly differential due with it is dropped
		"Sat 02-01 02:30 full of rating",
		"Sat 02-01 04:00 differential of rating", // its own time: after the full
		"Sat 02-08 02:30 differential of queue",
		"Sat 02-15 02:30 differential of queue",
		"Sat 02-15 04:00 differential of rating",
		"Sat 02-22 02:30 differential of queue",
		"Sat 03-01 02:30 full of queue",
		"Sat 03-01 02:30 full of rating",
		"Sat 03-01 04:00 differential of rating",
	}
	if !slices.Equal(got, want) {
		t.Errorf("backups:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// A changed full_day or full_time is a changed schedule: a SIGHUP logs it.
func TestPlanDiffFullTime(t *testing.T) {
	old, err := NewPlan(loadSimConfig(t, dayPolicy))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(dayPolicy, `full_time         = "02:30"`, `full_time         = "03:15"`, 1)
	p, err := NewPlan(loadSimConfig(t, changed))
	if err != nil {
		t.Fatal(err)
	}
	diff := p.Diff(old)
	want := "changed full of queue: schedule monthly (first Saturday, 02:30), critical, server 10.0.0.11:5432 -> " +
		"schedule monthly (first Saturday, 03:15), critical, server 10.0.0.11:5432"
	if len(diff) != 1 || diff[0] != want {
		t.Errorf("changes %q, want [%q]", diff, want)
	}
}

// Without the attributes, a policy keeps the defaults it always had: the
// first Sunday at 01:00, differentials on Sundays at 01:00, biweekly from
// Sunday 7 January 2024.
func TestPolicySpecsDefaults(t *testing.T) {
	cfg := loadSimConfig(t, simPolicy)
	loc := cfg.Daemon.Location
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
	for _, name := range []string{"important", "standard", "archive"} {
		pol := cfg.Policies[name]
		full, diff := pol.FullSpec, pol.DifferentialSpec
		for _, c := range []struct {
			got  Spec
			text string
		}{{full, pol.Full}, {diff, pol.Differential}} {
			plain, _ := ParseSpec(c.text, loc)
			for x, y, i := from, from, 0; i < 30; i++ {
				x, y = c.got.Next(x), plain.Next(y)
				if !x.Equal(y) {
					t.Fatalf("policy %s, %s: run %d at %s, the default at %s", name, c.text, i, x, y)
				}
			}
		}
	}
}
