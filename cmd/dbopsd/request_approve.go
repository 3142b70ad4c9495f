package main

import (
	"context"
	"flag"
)

// request approve is request sign for the second and later signatures; the
// two share requestSignOpts and addSignature (request_sign.go).

func requestApproveCmd() command {
	var o requestSignOpts
	return command{
		name:  "request approve",
		usage: "--key KEY FILE",
		summary: "Approve a request: add your signature after the requester's (needs role approver).\n" +
			"The requester cannot approve. The signatures already there are checked first, so you\n" +
			"approve exactly what was signed. Keys as for request sign.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addSignFlags(fs, &o, sio)
			return func(ctx context.Context, args []string) error {
				if err := o.parseArgs(fs, args); err != nil {
					return err
				}
				return runRequestApprove(ctx, o)
			}
		},
	}
}

// runRequestApprove adds an approver's signature.
func runRequestApprove(ctx context.Context, o requestSignOpts) error {
	o.approve = true
	return addSignature(ctx, o)
}
