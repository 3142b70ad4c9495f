package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/request"
)

type requestVerifyOpts struct {
	globals
	file string
	at   string
}

func requestVerifyCmd() command {
	var o requestVerifyOpts
	return command{
		name:  "request verify",
		usage: "FILE",
		summary: "Check a request against the policy and print each check's verdict.\n" +
			"Signatures, roles, approvals, validity and target are checked as the daemon will; the\n" +
			"target database and the nonce are checked by the daemon on submit. Exits 0 only when\n" +
			"every check made here passes.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.at, "at", "", "check validity at this RFC 3339 time instead of now")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				o.file = args[0]
				return runRequestVerify(ctx, o)
			}
		},
	}
}

func runRequestVerify(_ context.Context, o requestVerifyOpts) error {
	cfg, err := loadConfig(&o.globals)
	if err != nil {
		return err
	}
	now := time.Now()
	if o.at != "" {
		if now, err = time.Parse(time.RFC3339, o.at); err != nil {
			return usageError("--at %q: want an RFC 3339 time", o.at)
		}
	}
	r, _, err := request.ReadFile(o.file)
	if err != nil {
		if o.jsonOut {
			_ = printJSON(o.stdout, map[string]any{"ok": false, "checks": []request.Result{{Check: request.CheckFormat, Verdict: request.Fail, Detail: err.Error()}}})
		}
		return err
	}
	rep := request.Offline(cfg, r, now, request.DefaultSkew)
	daemonOnly := "checked by the daemon when the request is submitted"
	rep.Results = append([]request.Result{{Check: request.CheckFormat, Verdict: request.Pass, Detail: "well-formed request " + r.ID}}, rep.Results...)
	rep.Results = append(rep.Results,
		request.Result{Check: request.CheckAbsent, Verdict: request.Skip, Detail: daemonOnly},
		request.Result{Check: request.CheckNonce, Verdict: request.Skip, Detail: daemonOnly})
	if o.jsonOut {
		if err := printJSON(o.stdout, map[string]any{"ok": rep.OK(), "id": r.ID, "request_sha256": r.Digest(), "checks": rep.Results}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.stdout, "request %s: %s\n", r.ID, describeRequest(r))
		if r.Reason != "" {
			fmt.Fprintf(o.stdout, "reason: %s\n", r.Reason)
		}
		for _, c := range r.CommentChanges() { // what an approver signs: each text, quoted
			fmt.Fprintf(o.stdout, "comment on %s: %q\n", c.Object(), c.Text)
		}
		fmt.Fprintf(o.stdout, "valid: %s to %s\n\n", r.NotBefore.Local().Format("2006-01-02 15:04:05"), r.Expires.Local().Format("2006-01-02 15:04:05"))
		for _, c := range rep.Results {
			fmt.Fprintf(o.stdout, "  %-11s  %-15s  %s\n", c.Verdict, c.Check, c.Detail)
		}
		if rep.OK() {
			fmt.Fprintf(o.stdout, "\npasses every check made here\n")
		} else {
			fmt.Fprintf(o.stdout, "\nthe daemon would refuse it\n")
		}
	}
	if !rep.OK() {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}
