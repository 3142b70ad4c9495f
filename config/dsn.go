package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/engines"
)

// What config knows about engines it learns from the registry
// (engines.Register): their names and aliases, their DSNs, and the daemon
// settings that say where their client tools live. config never imports an
// adapter; the program that loads a policy links them (engines/all).

// Server returns the host:port (or socket directory) the database's DSN
// names, so that daemon.max_per_server can group databases by server. It
// returns "" for a DSN that does not parse (validation has refused those).
func (d *Database) Server() string {
	return engines.ServerOf(d.Engine, d.DSN)
}

// Server is like Database.Server, for a restore target.
func (t *RestoreTarget) Server() string {
	return engines.ServerOf(t.Engine, t.DSN)
}

// ToolDir is the directory a daemon setting named by an engine's
// registration (engines.Registration.ToolDirSetting, e.g. "pg_bin_dir")
// gives for its client tools; "" means search.
func (d *Daemon) ToolDir(setting string) string {
	return d.ToolDirs[setting]
}

// daemonBodySchema is daemonSchema plus the client-tool settings of the
// registered engines.
func daemonBodySchema() *hcl.BodySchema {
	s := &hcl.BodySchema{Attributes: append([]hcl.AttributeSchema(nil), daemonSchema.Attributes...)}
	for _, name := range engines.ToolDirSettings() {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: name})
	}
	return s
}

// decodeToolDirs reads the client-tool settings of the registered engines
// from the daemon block's attributes.
func (d *decoder) decodeToolDirs(a hcl.Attributes, dm *Daemon) {
	for _, name := range engines.ToolDirSettings() {
		var dir string
		d.str(a, name, &dir)
		if dir != "" {
			if dm.ToolDirs == nil {
				dm.ToolDirs = map[string]string{}
			}
			dm.ToolDirs[name] = dir
		}
	}
}
