package site

import (
	"regexp"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/reconcile"
)

// TestGrowth: the wording of a run's differences changes (counts aside,
// as the notifier compares problems) only when they grow, so the alert is
// sent when differences appear and when they grow, not at every run.
func TestGrowth(t *testing.T) {
	digits := regexp.MustCompile(`[0-9]+`)
	shape := func(s string) string { return digits.ReplaceAllString(s, "#") }
	at := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	res := func(n int64) *reconcile.Result { return &reconcile.Result{Different: n} }
	prev := func(status string, n int64) *catalog.Reconciliation {
		return &catalog.Reconciliation{Status: status, Different: n, Started: at}
	}
	appeared := growth(res(3), nil)
	for _, tc := range []struct {
		name string
		got  string
		grew bool
	}{
		{"after a match", growth(res(3), prev(reconcile.StatusMatch, 0)), true},
		{"after a failed run", growth(res(3), prev(reconcile.StatusFailed, 0)), true},
		{"grown", growth(res(5), prev(reconcile.StatusDifferent, 3)), true},
		{"the same", growth(res(3), prev(reconcile.StatusDifferent, 3)), false},
		{"fewer", growth(res(2), prev(reconcile.StatusDifferent, 3)), false},
	} {
		grewShape := shape(growth(res(5), prev(reconcile.StatusDifferent, 3)))
		if (shape(tc.got) == grewShape) != tc.grew {
			t.Errorf("%s: %q, grew = %v", tc.name, tc.got, tc.grew)
		}
	}
	if shape(growth(res(3), prev(reconcile.StatusDifferent, 3))) != shape(growth(res(1), prev(reconcile.StatusDifferent, 9))) {
		t.Error("two runs that did not grow are worded differently")
	}
	if appeared == "" {
		t.Error("no wording for the first run")
	}
}
