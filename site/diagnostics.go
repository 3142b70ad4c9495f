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
	override(&t.LongTransaction, g.LongTransaction)
	override(&t.IdleInTransaction, g.IdleInTransaction)
	override(&t.BlockedWait, g.BlockedWait)
	override(&t.ReplicationLag, g.ReplicationLag)
	override(&t.BackupDuration, g.BackupDuration)
	override(&t.CheckpointAge, g.CheckpointAge)
	override(&t.SlotRetainedBytes, g.SlotRetainedBytes)
	override(&t.ConnectionsPct, g.ConnectionsPct)
	override(&t.BloatPct, g.BloatPct)
	override(&t.BigTableBytes, g.BigTableBytes)
	override(&t.BloatMinBytes, g.BloatMinBytes)
	override(&t.XIDAge, g.XIDAge)
	override(&t.Horizon, time.Duration(g.HorizonDays)*24*time.Hour)
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

// override sets *dst to v where the policy sets it (v > 0; unset is zero).
func override[T time.Duration | int64 | float64](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}
