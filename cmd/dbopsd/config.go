package main

import (
	"context"
	"flag"
	"fmt"
)

func configValidateCmd() command {
	var g globals
	var servers bool
	return command{
		name: "config validate",
		summary: "Check a policy file: syntax, schema, references, schedules, keys and DSNs.\n" +
			"Problems are printed with file:line:col and the offending snippet; exits 1 on any error.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &g, false, sio)
			fs.BoolVar(&servers, "servers", false, "also connect to the reconcile blocks' servers to check that their tables have the key and the columns")
			return func(ctx context.Context, args []string) error {
				if len(args) == 1 { // `dbopsd config validate FILE` works too
					g.configPath = args[0]
				} else if err := needArgs(args, 0, "at most one file"); err != nil {
					return err
				}
				return runConfigValidate(g, servers)
			}
		},
	}
}

// runConfigValidate checks the policy file; with servers it also connects
// to the reconcile blocks' databases. That is opt-in: validation runs where
// the servers may not be reachable (a DBA's workstation, the systemd unit's
// pre-start check, CI), and a file check sends nothing over the network.
func runConfigValidate(g globals, servers bool) error {
	cfg, err := loadConfig(&g)
	if err != nil {
		return err
	}
	if servers {
		if err := checkReconciles(&g, cfg); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.stdout, "%s: valid (%d databases, %d storages, %d policies, %d restore targets, %d signers)\n",
		g.configPath, len(cfg.Databases), len(cfg.Storages), len(cfg.Policies), len(cfg.RestoreTargets), len(cfg.Signers))
	return nil
}
