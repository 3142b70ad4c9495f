package daemon

import (
	"testing"

	"github.com/dbopsd/dbopsd/schedule"
)

// TestOutsideSchedule: the backups asked for by hand (dbopsd run, signed
// requests) take their fulls COPY_ONLY; the schedule's, caught up or
// retried, do not.
func TestOutsideSchedule(t *testing.T) {
	for trigger, want := range map[string]bool{
		schedule.TriggerCLI: true, schedule.TriggerRequest: true,
		schedule.TriggerSchedule: false, schedule.TriggerCatchUp: false, schedule.TriggerRetry: false, schedule.TriggerAfterBackup: false,
	} {
		if got := outsideSchedule(trigger); got != want {
			t.Errorf("outsideSchedule(%q) = %v, want %v", trigger, got, want)
		}
	}
}
