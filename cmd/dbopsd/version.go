package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"

	"github.com/dbopsd/dbopsd/repository"
)

func versionCmd() command {
	return command{
		name:    "version",
		summary: "Print the version of dbopsd and of the formats it writes.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				fmt.Fprintf(sio.out, "dbopsd %s (%s, %s/%s), repository format %d, manifest format %d\n", version, runtime.Version(),
					runtime.GOOS, runtime.GOARCH, repository.FormatVersion, repository.ManifestVersion)
				return nil
			}
		},
	}
}
