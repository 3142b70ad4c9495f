package site

import (
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
)

// diagnosticsPolicy applies the policy's diagnostics settings to r.
func diagnosticsPolicy(cfg *config.Config, db *config.Database, r *diagnostics.Run) {
	r.Thresholds = diagnostics.DefaultThresholds()
}
