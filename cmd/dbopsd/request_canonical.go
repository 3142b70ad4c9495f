package main

import (
	"context"
	"flag"

	"github.com/dbopsd/dbopsd/request"
)

func requestCanonicalCmd() command {
	var o globals
	return command{
		name:  "request canonical",
		usage: "FILE",
		summary: "Print the bytes that request signatures sign, for ssh-keygen -Y sign and -Y verify.\n" +
			"No trailing newline: dbopsd request canonical req.json | ssh-keygen -Y sign -n dbopsd -f KEY > req.sig",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			o.stdout, o.stderr = sio.out, sio.err
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				return runRequestCanonical(ctx, o, args[0])
			}
		},
	}
}

// runRequestCanonical prints the bytes the signatures of the request in
// file sign.
func runRequestCanonical(_ context.Context, o globals, file string) error {
	r, _, err := request.ReadFile(file)
	if err != nil {
		return err
	}
	_, err = o.stdout.Write(r.Canonical())
	return err
}
