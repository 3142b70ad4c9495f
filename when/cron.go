package when

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
)

// IsCron reports whether s is meant as a cron expression rather than one of
// the named schedules.
func IsCron(s string) bool { return len(strings.Fields(s)) > 1 }

// CheckCron is the policy files' rule for a cron expression: exactly five
// fields. Descriptors (@daily) and CRON_TZ= prefixes are refused so that one
// policy file reads one way: the named schedules cover the common cases and
// daemon.timezone covers the zone.
func CheckCron(s string) error {
	if n := len(strings.Fields(s)); n != 5 {
		return fmt.Errorf("a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has %d", n)
	}
	_, err := cron.ParseStandard(s)
	return err
}
