package diagnostics

import (
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// restartSlack is how far two MariaDB snapshots' server start times may
// differ and still be one server lifetime: its start is computed from its
// uptime in whole seconds. PostgreSQL's is exact.
const restartSlack = 3 * time.Second

// Deltas are the changes of the cumulative counters between two snapshots
// of one database, AWR-style.
type Deltas struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Seconds float64   `json:"seconds"`
	// Restarted: the server started again in between; Counters is then
	// empty, since the counters began again from zero.
	Restarted     bool             `json:"restarted,omitempty"`
	PrevStartedAt time.Time        `json:"prev_started_at,omitzero"`
	StartedAt     time.Time        `json:"started_at,omitzero"`
	Counters      map[string]int64 `json:"counters,omitempty"`
	// Reset lists counters that went down without a restart (statistics
	// reset): no delta for them.
	Reset []string `json:"reset,omitempty"`
}

// ComputeDeltas compares cur with the previous snapshot prev; nil when
// there is no usable previous snapshot.
func ComputeDeltas(prev, cur *diagmodel.Facts) *Deltas {
	if prev == nil || cur == nil || !prev.CollectedAt.Before(cur.CollectedAt) {
		return nil
	}
	d := &Deltas{From: prev.CollectedAt, To: cur.CollectedAt, Seconds: cur.CollectedAt.Sub(prev.CollectedAt).Seconds()}
	if prev.Server != nil && cur.Server != nil {
		d.PrevStartedAt, d.StartedAt = prev.Server.StartedAt, cur.Server.StartedAt
		diff := cur.Server.StartedAt.Sub(prev.Server.StartedAt)
		slack := time.Duration(0)
		if cur.Engine == "mysql" {
			slack = restartSlack
		}
		if diff > slack || diff < -slack {
			d.Restarted = true
			return d
		}
	}
	if prev.Counters == nil || cur.Counters == nil {
		return d
	}
	d.Counters = map[string]int64{}
	for name, v := range cur.Counters {
		p, ok := prev.Counters[name]
		if !ok {
			continue
		}
		if v < p {
			d.Reset = append(d.Reset, name)
			continue
		}
		d.Counters[name] = v - p
	}
	return d
}
