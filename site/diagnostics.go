package site

import (
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
)

// diagnosticsPolicy applies the policy's diagnostics { } block to r:
// thresholds it sets replace the check pages' defaults.
func diagnosticsPolicy(cfg *config.Config, db *config.Database, r *diagnostics.Run) {
	g := cfg.DiagnosticsFor(db)
	t := diagnostics.DefaultThresholds()
	setDur := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	setDur(&t.LongTransaction, g.LongTransaction)
	setDur(&t.IdleInTransaction, g.IdleInTransaction)
	setDur(&t.BlockedWait, g.BlockedWait)
	setDur(&t.ReplicationLag, g.ReplicationLag)
	setDur(&t.BackupDuration, g.BackupDuration)
	setDur(&t.CheckpointAge, g.CheckpointAge)
	if g.SlotRetainedBytes > 0 {
		t.SlotRetainedBytes = g.SlotRetainedBytes
	}
	if g.ConnectionsPct > 0 {
		t.ConnectionsPct = g.ConnectionsPct
	}
	if g.BloatPct > 0 {
		t.BloatPct = g.BloatPct
	}
	if g.BigTableBytes > 0 {
		t.BigTableBytes = g.BigTableBytes
	}
	if g.BloatMinBytes > 0 {
		t.BloatMinBytes = g.BloatMinBytes
	}
	if g.XIDAge > 0 {
		t.XIDAge = g.XIDAge
	}
	if g.HorizonDays > 0 {
		t.Horizon = time.Duration(g.HorizonDays) * 24 * time.Hour
	}
	r.Thresholds = t
	r.Capacity = g.Capacity
	r.DataPath = g.DataPath
	for _, s := range g.Suppressions {
		if s.Database != "" && s.Database != db.Name {
			continue
		}
		r.Suppressions = append(r.Suppressions, diagnostics.Suppression{Database: db.Name, Check: s.Check,
			Object: s.Object, Reason: s.Reason, Until: s.Until})
	}
}
