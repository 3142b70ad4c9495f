package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

type runOpts struct {
	globals
	socket   string
	database string
	typ      string
	backupID string
	wait     bool
	poll     time.Duration
}

func runCmd() command {
	var o runOpts
	return command{
		name: "run",
		summary: "Ask the running agent to run a job now, through its queue and limits (max_parallel,\n" +
			"max_per_server, one job per database); the policy's window does not hold it back.\n" +
			"The job log records it as triggered by the CLI, with your OS user. A reconcile block runs\n" +
			"the same way: --type reconcile --database <its name>, under its rate_limit.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addSocket(fs, &o.socket)
			fs.StringVar(&o.database, "database", "", "the database (its label in the policy); with --type reconcile, the reconcile block's name")
			fs.StringVar(&o.typ, "type", "", "full, differential, verify or reconcile")
			fs.StringVar(&o.backupID, "backup", "", "verify: this backup (default: the newest)")
			fs.BoolVar(&o.wait, "wait", false, "wait until the job has finished; exit 1 if it failed")
			fs.DurationVar(&o.poll, "poll", time.Second, "with --wait, how often to ask")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runRun(ctx, o)
			}
		},
	}
}

func runRun(ctx context.Context, o runOpts) error {
	if o.database == "" {
		return usageError("--database is required")
	}
	switch o.typ {
	case schedule.KindFull, schedule.KindDifferential, schedule.KindVerify, site.KindReconcile:
	default:
		return usageError("--type must be full, differential, verify or reconcile, not %q", o.typ)
	}
	c, err := daemonClient(&o.globals, o.socket)
	if err != nil {
		return err
	}
	ti, err := c.Run(ctx, api.RunRequest{Database: o.database, Type: o.typ, Backup: o.backupID})
	if err != nil {
		return err
	}
	if !o.wait {
		if o.jsonOut {
			return printJSON(o.stdout, ti)
		}
		fmt.Fprintf(o.stdout, "job #%d: %s, %s", ti.ID, describeTask(ti), ti.State)
		if ti.Waiting != "" {
			fmt.Fprintf(o.stdout, " (waiting for %s)", ti.Waiting)
		}
		fmt.Fprintln(o.stdout)
		return nil
	}
	last := ""
	for {
		if s := ti.State + ti.Waiting; s != last && !o.jsonOut {
			fmt.Fprintf(o.stderr, "job #%d: %s", ti.ID, ti.State)
			if ti.Waiting != "" {
				fmt.Fprintf(o.stderr, " (waiting for %s)", ti.Waiting)
			}
			fmt.Fprintln(o.stderr)
			last = s
		}
		switch ti.State {
		case schedule.StateOK, schedule.StateFailed, schedule.StateDropped:
			if o.jsonOut {
				if err := printJSON(o.stdout, ti); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(o.stdout, "job #%d: %s %s after %d attempt(s)", ti.ID, describeTask(ti), ti.State, ti.Attempt)
				if ti.Error != "" {
					fmt.Fprintf(o.stdout, ": %s", ti.Error)
				}
				fmt.Fprintln(o.stdout)
			}
			if ti.State != schedule.StateOK {
				return &exitError{code: 1, err: errSilent}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
		if ti, err = c.Task(ctx, ti.ID); err != nil {
			return err
		}
	}
}
