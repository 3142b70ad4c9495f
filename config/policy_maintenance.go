package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/when"
)

// DefaultMaintenanceLockTimeout is maintenance_lock_timeout's default: a
// maintenance statement that cannot get its lock within it gives up rather
// than queue every session of the service behind it.
const DefaultMaintenanceLockTimeout = 5 * time.Second

// maxMaintenanceLockTimeout bounds maintenance_lock_timeout: longer, and the
// sessions queued behind the waiting statement would stall the service.
const maxMaintenanceLockTimeout = 10 * time.Minute

// maintenance reads maintenance_window and maintenance_lock_timeout; a
// value that does not parse keeps its default and is reported at the value.
func (d *decoder) maintenance(p *Policy, a hcl.Attributes) {
	p.MaintenanceLockTimeout = DefaultMaintenanceLockTimeout
	var v string
	if d.str(a, "maintenance_window", &v) {
		w, err := when.ParseWindow(v)
		if err != nil {
			d.errorf(d.at(p, "maintenance_window"), "Invalid maintenance_window", "policy %q: %v; write it as \"HH:MM-HH:MM\" in daemon.timezone, e.g. \"01:00-05:00\" or \"22:00-04:00\" (past midnight).", p.Name, err)
		} else {
			p.MaintenanceWindow = w
		}
	}
	v = ""
	if d.str(a, "maintenance_lock_timeout", &v) {
		t, err := time.ParseDuration(v)
		switch {
		case err != nil:
			d.errorf(d.at(p, "maintenance_lock_timeout"), "Invalid maintenance_lock_timeout", "policy %q: %q is not a duration; write it as e.g. \"5s\" or \"30s\".", p.Name, v)
		case t < time.Second || t > maxMaintenanceLockTimeout:
			d.errorf(d.at(p, "maintenance_lock_timeout"), "Invalid maintenance_lock_timeout", "policy %q: %s is out of range; between 1s and %s.", p.Name, t, maxMaintenanceLockTimeout)
		default:
			p.MaintenanceLockTimeout = t
		}
	}
}
