package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"sort"
	"strings"

	"github.com/dbopsd/dbopsd/repository"
)

type checkOpts struct {
	globals
	database string
	readData bool
	storage  string
}

func checkCmd() command {
	var o checkOpts
	return command{
		name: "check",
		summary: "Check the repository: every manifest opens and every chunk it names exists with the\n" +
			"right size; with --read-data every chunk is also decrypted, decompressed and re-hashed.\n" +
			"Each problem is reported with the backups it affects. Exits 1 when anything is wrong.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.BoolVar(&o.readData, "read-data", false, "read and authenticate every chunk")
			fs.StringVar(&o.storage, "storage", "", "check this mirror instead of the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runCheck(ctx, o)
			}
		},
	}
}

func runCheck(ctx context.Context, o checkOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return err
	}
	pr := newProgress(o.stderr, "check: chunks", 0, o.quiet || o.jsonOut || !o.readData).countItems()
	res, err := repo.Check(ctx, repository.CheckOptions{Database: o.database, ReadData: o.readData,
		Progress: func(done, total int64) { pr.set(done, total) }})
	pr.finish()
	if err != nil {
		return err
	}
	if o.storage == "" || o.storage == e.cfg.Repository.Storage {
		if err := addRememberedMissing(ctx, e, repo, o.database, res); err != nil {
			return err
		}
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, res); err != nil {
			return err
		}
	} else {
		mode := "structure"
		if o.readData {
			mode = "structure and data"
		}
		fmt.Fprintf(o.stdout, "checked %s of %d backups, %d chunks", mode, res.Backups, res.Chunks)
		if o.readData {
			fmt.Fprintf(o.stdout, " (%s read)", humanize.Bytes(res.ReadBytes))
		}
		fmt.Fprintln(o.stdout)
		for _, p := range res.Problems {
			if len(p.Backups) == 0 {
				fmt.Fprintf(o.stdout, "problem: %s: %s\n", p.Object, p.Problem)
				continue
			}
			fmt.Fprintf(o.stdout, "problem: %s: %s (affects %s)\n", p.Object, p.Problem, strings.Join(p.Backups, ", "))
		}
		if res.OK() {
			fmt.Fprintln(o.stdout, "no problems found")
		} else {
			fmt.Fprintf(o.stdout, "%d problems; damaged backups: %s\n", len(res.Problems), strings.Join(res.Damaged, ", "))
		}
	}
	if !res.OK() {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// addRememberedMissing adds to res the backups the catalog listed whose
// manifest has gone since, not by prune, that the repository alone cannot
// show (manifests written before the chain).
func addRememberedMissing(ctx context.Context, e *env, repo *repository.Repo, database string, res *repository.CheckResult) error {
	sr, err := e.cat.Sync(ctx, repo, database)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, id := range res.Damaged {
		known[id] = true
	}
	for _, m := range sr.Missing {
		if m.ID == "" || known[m.ID] {
			continue
		}
		res.Problems = append(res.Problems, repository.Problem{Object: m.Object, Problem: "manifest is missing: " + m.How + "; deleted, and not by prune", Backups: []string{m.ID}})
		res.Damaged = append(res.Damaged, m.ID)
	}
	sort.Strings(res.Damaged)
	return nil
}
