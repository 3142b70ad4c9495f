package catalog

import (
	"context"
	"testing"
	"time"
)

// TestReconciliations: runs are stored and read back newest first, per
// reconcile block, with the limit honoured.
func TestReconciliations(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	for i, r := range []Reconciliation{
		{Name: "persons", Started: t0, Status: "match", Result: []byte(`{"n":1}`)},
		{Name: "persons", Started: t0.AddDate(0, 0, 14), Status: "different", MissingLeft: 2, MissingRight: 1, Different: 4, NetworkBytes: 900, Result: []byte(`{"n":2}`)},
		{Name: "firms", Started: t0.AddDate(0, 0, 15), Status: "failed", Result: []byte(`{}`)},
	} {
		r.Finished = r.Started.Add(time.Minute)
		if id, err := c.RecordReconciliation(ctx, r); err != nil || id != int64(i+1) {
			t.Fatalf("RecordReconciliation #%d = %d, %v", i, id, err)
		}
	}
	got, err := c.Reconciliations(ctx, "persons", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 2 || got[1].ID != 1 {
		t.Fatalf("Reconciliations(persons) = %+v, want runs 2 then 1", got)
	}
	if g := got[0]; g.Total() != 7 || g.NetworkBytes != 900 || string(g.Result) != `{"n":2}` || !g.Started.Equal(t0.AddDate(0, 0, 14)) ||
		!g.Finished.Equal(g.Started.Add(time.Minute)) || g.Status != "different" {
		t.Errorf("newest run = %+v", g)
	}
	if got, _ := c.Reconciliations(ctx, "persons", 1); len(got) != 1 || got[0].ID != 2 {
		t.Errorf("limit 1 = %+v", got)
	}
	if got, _ := c.Reconciliations(ctx, "nothing", 0); len(got) != 0 {
		t.Errorf("unknown name = %+v", got)
	}
	// The run that failed does not count as reconciled.
	last, err := c.LastReconciled(ctx)
	if err != nil || len(last) != 1 || !last["persons"].Equal(t0.AddDate(0, 0, 14)) {
		t.Errorf("LastReconciled = %v, %v; want persons at the second run only", last, err)
	}
}
