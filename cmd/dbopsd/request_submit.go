package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/request"
)

type requestSubmitOpts struct {
	globals
	daemon daemonFlags
	file   string
}

func requestSubmitCmd() command {
	var o requestSubmitOpts
	return command{
		name:  "request submit",
		usage: "FILE",
		summary: "Send a signed, approved request to the daemon over its socket, or with --server over\n" +
			"HTTPS to a remote daemon's request listener. The daemon checks it (signatures, roles,\n" +
			"approvals, validity, target, the target database, the nonce), records the decision in the\n" +
			"restore register and queues the work. Prints the request id and exits 0 when accepted;\n" +
			"exits 1 with the reason when refused. Follow it with request status.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addDaemonFlags(fs, &o.daemon)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				o.file = args[0]
				return runRequestSubmit(ctx, o)
			}
		},
	}
}

func runRequestSubmit(ctx context.Context, o requestSubmitOpts) error {
	// Parse here first: a malformed or oversized file fails with a clear
	// message before it reaches the daemon (which would refuse it too).
	r, data, err := request.ReadFile(o.file)
	if err != nil {
		return err
	}
	c, err := o.daemon.client(&o.globals)
	if err != nil {
		return err
	}
	ra, err := c.SubmitRequest(ctx, data)
	err = o.daemon.explain(err)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == http.StatusForbidden {
		if o.jsonOut {
			if jerr := printJSON(o.stdout, map[string]any{"id": r.ID, "state": api.RequestRefused, "refusal": ae.Refusal,
				"register_seq": ae.RegisterSeq}); jerr != nil {
				return jerr
			}
		}
		return fmt.Errorf("request %s refused: %s", r.ID, ae.Refusal)
	}
	if err != nil {
		return fmt.Errorf("submitting request %s: %w", r.ID, err)
	}
	if o.jsonOut {
		return printJSON(o.stdout, ra)
	}
	fmt.Fprintln(o.stdout, ra.ID)
	fmt.Fprintf(o.stderr, "request %s accepted: %s; job #%d %s", ra.ID, describeRequest(r), ra.Task.ID, ra.State)
	if ra.Task.Waiting != "" {
		fmt.Fprintf(o.stderr, " (waiting for %s)", ra.Task.Waiting)
	}
	fmt.Fprintf(o.stderr, "\nfollow it: dbopsd request status %s --follow%s\n", ra.ID, o.daemon.args())
	return nil
}
