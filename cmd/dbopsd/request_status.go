package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

type requestStatusOpts struct {
	globals
	daemon daemonFlags
	id     string
	follow bool
	poll   time.Duration
}

func requestStatusCmd() command {
	var o requestStatusOpts
	return command{
		name:  "request status",
		usage: "ID",
		summary: "Show a submitted request: received, refused (and why), queued (and what it waits\n" +
			"for), running (with progress), done or failed (with the outcome), from the restore\n" +
			"register and the daemon's queue. --follow waits until it ends and exits 1 unless it\n" +
			"is done. Over the socket, or with --server over HTTPS, as request submit.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addDaemonFlags(fs, &o.daemon)
			fs.BoolVar(&o.follow, "follow", false, "poll until the request is done, failed or refused, showing progress")
			fs.DurationVar(&o.poll, "poll", time.Second, "with --follow, how often to ask")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "a request id"); err != nil {
					return err
				}
				o.id = args[0]
				return runRequestStatus(ctx, o)
			}
		},
	}
}

func runRequestStatus(ctx context.Context, o requestStatusOpts) error {
	c, err := o.daemon.client(&o.globals)
	if err != nil {
		return err
	}
	rs, err := c.Request(ctx, o.id)
	if err != nil {
		return o.daemon.explain(err)
	}
	if !o.follow {
		if o.jsonOut {
			return printJSON(o.stdout, rs)
		}
		printRequestStatus(o.stdout, rs)
		return nil
	}
	var pr *progress
	last, lastStep := "", ""
	for !rs.Finished() {
		if s := rs.State + waitingFor(rs); s != last && !o.jsonOut {
			if pr != nil {
				pr.finish()
			}
			fmt.Fprintf(o.stderr, "request %s: %s", rs.ID, rs.State)
			if w := waitingFor(rs); w != "" {
				fmt.Fprintf(o.stderr, " (waiting for %s)", w)
			}
			fmt.Fprintln(o.stderr)
			last = s
		}
		if rs.State == api.RequestRunning && rs.Task != nil && rs.Task.Step != "" {
			// A maintenance goes in steps, not bytes: each new one a line.
			if rs.Task.Step != lastStep && !o.quiet && !o.jsonOut {
				fmt.Fprintf(o.stderr, "request %s: %s\n", rs.ID, rs.Task.Step)
			}
			lastStep = rs.Task.Step
		} else if rs.State == api.RequestRunning && rs.Task != nil {
			if pr == nil {
				pr = newProgress(o.stderr, rs.Action+" of "+rs.Database, rs.Task.TotalBytes, o.quiet || o.jsonOut)
			}
			pr.set(rs.Task.Bytes, rs.Task.TotalBytes)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
		if rs, err = c.Request(ctx, o.id); err != nil {
			return o.daemon.explain(err)
		}
	}
	if pr != nil {
		pr.finish()
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, rs); err != nil {
			return err
		}
	} else {
		printRequestStatus(o.stdout, rs)
	}
	if rs.State != api.RequestDone {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func waitingFor(rs api.RequestStatus) string {
	if rs.State == api.RequestQueued && rs.Task != nil {
		return rs.Task.Waiting
	}
	return ""
}

// printRequestStatus prints a request's state, a few lines.
func printRequestStatus(w io.Writer, rs api.RequestStatus) {
	what := rs.Action + " of " + rs.Database
	if len(rs.Tables) > 0 {
		what += " (tables " + strings.Join(rs.Tables, ", ") + ")"
	}
	backup := "the newest backup"
	if rs.Backup != "" {
		backup = "backup " + rs.Backup
	}
	fmt.Fprintf(w, "request %s: %s\n", rs.ID, rs.State)
	fmt.Fprintf(w, "  %s from %s onto %s as %q\n", what, backup, rs.Target, rs.As)
	who := "requested by " + rs.Requester
	if len(rs.Approvers) > 0 {
		who += ", approved by " + strings.Join(rs.Approvers, ", ")
	}
	fmt.Fprintf(w, "  %s; received %s\n", who, rs.Received.Local().Format("2006-01-02 15:04:05"))
	if rs.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", rs.Reason)
	}
	switch rs.State {
	case api.RequestRefused:
		fmt.Fprintf(w, "  refused: %s\n", rs.Refusal)
	case api.RequestQueued:
		if rs.Task != nil {
			fmt.Fprintf(w, "  job #%d queued", rs.Task.ID)
			if rs.Task.Waiting != "" {
				fmt.Fprintf(w, ", waiting for %s", rs.Task.Waiting)
			}
			fmt.Fprintln(w)
		}
	case api.RequestRunning:
		if rs.Task != nil {
			fmt.Fprintf(w, "  job #%d running since %s: ", rs.Task.ID, rs.Task.Started.Local().Format("15:04:05"))
			if rs.Task.Step != "" {
				fmt.Fprintln(w, rs.Task.Step)
				break
			}
			fmt.Fprint(w, humanize.Bytes(rs.Task.Bytes))
			if rs.Task.TotalBytes > 0 {
				fmt.Fprintf(w, " of %s (%.0f%%)", humanize.Bytes(rs.Task.TotalBytes), 100*float64(rs.Task.Bytes)/float64(rs.Task.TotalBytes))
			}
			fmt.Fprintln(w)
		}
	case api.RequestDone, api.RequestFailed:
		fmt.Fprintf(w, "  %s after %s\n", rs.Outcome, (time.Duration(rs.Duration * float64(time.Second))).Round(time.Millisecond))
		if rs.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", rs.Error)
		}
	}
	if rs.Report != "" {
		fmt.Fprintf(w, "  drill report: dbopsd drill report %s\n", rs.Report)
	}
	if rs.Submissions > 1 {
		fmt.Fprintf(w, "  received %d times; a request runs at most once (see dbopsd register show --request %s)\n", rs.Submissions, rs.ID)
	}
}
