package main

import (
	"context"
	"flag"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/daemon"
	"github.com/dbopsd/dbopsd/logging"
)

type agentOpts struct {
	globals
	drainTimeout time.Duration
}

func agentCmd() command {
	var o agentOpts
	return command{
		name: "agent",
		summary: "Run the daemon: scheduled full and differential backups, verifications, prune and mirror,\n" +
			"signed restores and drills (dbopsd request submit), the local API on daemon.socket\n" +
			"(dbopsd status, dbopsd run, dbopsd request status), /metrics and /healthz on\n" +
			"daemon.http_listen, and the alerts. SIGHUP reloads the policy (a bad file is refused and the\n" +
			"old one stays); SIGTERM drains (running jobs get --drain-timeout, then are cancelled).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "on SIGTERM, how long running jobs may finish before they are cancelled")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runAgent(ctx, o)
			}
		},
	}
}

func runAgent(ctx context.Context, o agentOpts) error {
	// Validate first, printing the diagnostics with their snippets; the
	// agent loads the file again itself (and on every SIGHUP).
	if _, err := loadConfig(&o.globals); err != nil {
		return err
	}
	logger := logging.New(logging.Options{JSON: o.logJSON, Level: o.logLevel, Output: o.stderr})
	opts := daemon.Options{
		ConfigPath: o.configPath, Logger: logger, Version: version, DrainTimeout: o.drainTimeout,
		HandleSignals: true,
	}
	if o.stateDir != "" {
		opts.Configure = func(c *config.Config) { c.Daemon.StateDir = o.stateDir }
	}
	a, err := daemon.New(opts)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
