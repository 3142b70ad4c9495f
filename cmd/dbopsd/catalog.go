package main

import (
	"context"
	"flag"
	"fmt"
)

type catalogOpts struct {
	globals
	storage string
}

func catalogRebuildCmd() command {
	var o catalogOpts
	return command{
		name:    "catalog rebuild",
		summary: "Recreate the catalog's list of backups from the manifests in storage (the job log is kept).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.storage, "storage", "", "rebuild from this mirror instead of the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runCatalogRebuild(ctx, o)
			}
		},
	}
}

func runCatalogRebuild(ctx context.Context, o catalogOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return err
	}
	res, err := e.cat.Rebuild(ctx, repo)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return printJSON(o.stdout, res)
	}
	fmt.Fprintf(o.stdout, "catalog %s: %d backups from %s, %d stale entries removed\n", e.cat.Path(), res.Backups, repo.Storage(), res.Removed)
	for _, d := range res.Damaged {
		fmt.Fprintf(o.stdout, "damaged: %s\n", d)
	}
	printMissing(o.stdout, false, res.Missing)
	return nil
}
