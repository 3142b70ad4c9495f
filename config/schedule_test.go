package config

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCriticalRuleUsesTheSchedules checks the critical databases' two-week
// rule on the schedules the scheduler runs, parsed once when the policy
// loads: the full counts between the differentials, and a fortnight
// across a daylight-saving change is two weeks.
func TestCriticalRuleUsesTheSchedules(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET", "")
	os.Unsetenv("DBOPS_TEST_UNSET")
	for _, tc := range []struct {
		name, timezone, body string
		err                  string // "" = valid
	}{
		{name: "biweekly across daylight saving", timezone: "Europe/Berlin", body: "  differential = \"biweekly\"\n"},
		{name: "weekly across daylight saving", timezone: "America/New_York", body: "  differential = \"weekly\"\n"},
		// 24th to 10th is 17 days in a 31-day month, but the monthly full
		// on the first Sunday (the 7th at the latest) falls in between.
		{name: "the full fills the differentials' gap", timezone: "UTC", body: "  differential = \"0 1 10,24 * *\"\n"},
		{name: "without the full's help", timezone: "UTC", body: "  full = \"0 1 1 1 *\"\n  differential = \"0 1 10,24 * *\"\n",
			err: "can leave 17 days between backups"},
		{name: "no differentials", timezone: "Asia/Shanghai", body: "  differential = \"none\"\n", err: "has no differentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "daemon {\n  timezone = \"" + tc.timezone + "\"\n}\n" + policySite(tc.body)
			cfg, diags := Parse([]byte(src), "p.hcl")
			var out bytes.Buffer
			PrintDiagnostics(&out, diags)
			if tc.err == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected diagnostics:\n%s", out.String())
				}
				if p := cfg.Policies["p"]; p.FullSpec == nil || p.DifferentialSpec == nil {
					t.Fatalf("schedules not parsed: %v, %v", p.FullSpec, p.DifferentialSpec)
				}
				return
			}
			// At the database's policy attribute.
			at := fmt.Sprintf("p.hcl:%d:14: error: Critical database backed up too rarely", 17+strings.Count(tc.body, "\n"))
			if !diags.HasErrors() || !strings.Contains(out.String(), tc.err) || !strings.HasPrefix(out.String(), at) {
				t.Fatalf("want an error %q with %q, got:\n%s", at, tc.err, out.String())
			}
		})
	}
}

// TestSchedulesParsedOnLoad checks the typed values a policy loads into:
// the scheduler runs on them, in daemon.timezone, with the policy's day
// and times.
func TestSchedulesParsedOnLoad(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET", "")
	os.Unsetenv("DBOPS_TEST_UNSET")
	src := "daemon {\n  timezone = \"Asia/Shanghai\"\n}\n" + policySite(`  full              = "monthly"
  differential      = "weekly"
  full_day          = "saturday"
  full_time         = "02:30"
  differential_time = "04:00"
  window            = "22:00-05:00"
  verify            = "0 3 * * 3"
  verify_target     = "scratch"
`) + `restore_target "scratch" {
  engine  = "postgres"
  dsn     = "postgres://dbops@127.0.0.1:5432/postgres"
  scratch = true
}
`
	cfg, diags := Parse([]byte(src), "p.hcl")
	if diags.HasErrors() {
		var out bytes.Buffer
		PrintDiagnostics(&out, diags)
		t.Fatalf("unexpected diagnostics:\n%s", out.String())
	}
	p := cfg.Policies["p"]
	sh := cfg.Daemon.Location
	from := time.Date(2025, 3, 1, 12, 0, 0, 0, sh) // a Saturday
	for _, c := range []struct {
		what string
		got  time.Time
		want time.Time
	}{
		{"full", p.FullSpec.Next(from), time.Date(2025, 4, 5, 2, 30, 0, 0, sh)},
		{"differential", p.DifferentialSpec.Next(from), time.Date(2025, 3, 8, 4, 0, 0, 0, sh)},
		{"verify", p.VerifySpec.Next(from), time.Date(2025, 3, 5, 3, 0, 0, 0, sh)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: next run %s, want %s", c.what, c.got, c.want)
		}
	}
	if p.Window.String() != "22:00-05:00" || !p.Window.Contains(time.Date(2025, 3, 1, 23, 0, 0, 0, sh)) ||
		p.Window.Contains(time.Date(2025, 3, 1, 12, 0, 0, 0, sh)) {
		t.Errorf("window %q", p.Window)
	}
}
