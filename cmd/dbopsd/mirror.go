package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"slices"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/mirror"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

type mirrorOpts struct {
	globals
	to string
}

func mirrorCmd() command {
	var o mirrorOpts
	return command{
		name: "mirror",
		summary: "Copy to each mirror (repository.mirrors) what it lacks of the repository: keys and config,\n" +
			"then chunks, each backup's manifest last; verify every copy and record the state on the\n" +
			"mirror and in the catalog. Restore, verify, list, check and catalog rebuild read a mirror\n" +
			"with --storage NAME.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.to, "to", "", "only this mirror (default: every mirror of the repository)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runMirror(ctx, o)
			}
		},
	}
}

func runMirror(ctx context.Context, o mirrorOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	mirrors := e.cfg.Repository.Mirrors
	if len(mirrors) == 0 {
		return fmt.Errorf("the repository has no mirrors: list storage blocks in repository.mirrors of %s", e.cfg.Path)
	}
	if o.to != "" {
		if !slices.Contains(mirrors, o.to) {
			return usageError("--to %q is not one of the repository's mirrors (%s)", o.to, strings.Join(mirrors, ", "))
		}
		mirrors = []string{o.to}
	}
	repo, err := e.openRepo(ctx, "")
	if err != nil {
		return err
	}
	var results []*mirror.Result
	var errs []error
	for _, name := range mirrors {
		st, err := site.OpenStorage(ctx, e.cfg, name, e.logger)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pr := newProgress(o.stderr, "mirror "+name, 0, o.quiet || o.jsonOut)
		res, err := mirror.Run(ctx, mirror.Options{
			Primary: repo, Mirror: st, Name: name, Passphrase: e.cfg.Repository.Passphrase,
			ObjectLock: e.cfg.Storages[name].ObjectLock, Catalog: e.cat, Trigger: "cli", OSUser: osUser(),
			Logger: e.logger, Progress: pr.set,
		})
		pr.finish()
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, map[string]any{"mirrors": results}); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			var objs int
			var bytes int64
			for _, c := range r.Copied {
				objs += c.Objects
				bytes += c.Bytes
			}
			took := ""
			if !r.Finished.IsZero() {
				took = ", in " + r.Finished.Sub(r.Started).Round(time.Millisecond).String()
			}
			fmt.Fprintf(o.stdout, "mirror %s (%s): copied %d objects (%s: %d chunks, %d manifests), %d backups on the mirror%s\n",
				r.Mirror, r.MirrorURL, objs, humanize.Bytes(bytes), r.Copied[repository.ObjectChunk].Objects,
				r.Copied[repository.ObjectManifest].Objects, r.Backups, took)
			for _, k := range r.RemovedKeys {
				fmt.Fprintf(o.stdout, "  removed old key file %s (the repository was rekeyed)\n", k)
			}
			for _, m := range r.Missing {
				fmt.Fprintf(o.stdout, "  not mirrored: %s\n", m)
			}
			for _, p := range r.Problems {
				fmt.Fprintf(o.stdout, "  problem: %s\n", p)
			}
		}
	}
	return errors.Join(errs...)
}
