package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/prune"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

type pruneOpts struct {
	globals
	database string
	storage  string
	dryRun   bool
	grace    time.Duration
}

func pruneCmd() command {
	var o pruneOpts
	return command{
		name: "prune",
		summary: "Apply the policies' retention: delete whole expired generations (manifests first, then\n" +
			"their data) and chunks no backup names that are older than --grace. Prints what goes,\n" +
			"and which rule keeps each generation that stays. Never deletes the newest generation, the\n" +
			"generation of the newest verified full, that of a running backup, nor anything under\n" +
			"object-lock retention (reported as retained until its date).\n" +
			"The repository's storage is pruned first, then each mirror (repository.mirrors), each on\n" +
			"its own backups by the same retention: deleting backups from the primary never deletes\n" +
			"them from a mirror. A storage that fails does not stop the others.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.storage, "storage", "", "only this storage: the repository's or one of its mirrors (default: the repository's, then every mirror)")
			fs.BoolVar(&o.dryRun, "dry-run", false, "delete nothing; print what would go and why")
			fs.DurationVar(&o.grace, "grace", repository.DefaultPruneGrace, "remove chunks no backup names only once they are this old")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runPrune(ctx, o)
			}
		},
	}
}

func runPrune(ctx context.Context, o pruneOpts) error {
	if o.grace < 0 {
		return usageError("--grace must not be negative")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	if o.database != "" {
		if _, err := e.cfg.Database(o.database); err != nil {
			return err
		}
	}
	if o.storage != "" {
		if _, err := site.RepoStorageName(e.cfg, o.storage); err != nil {
			return usageError("%v", err)
		}
	}
	res, err := site.Prune(ctx, e.cfg, e.cat, prune.Options{
		PruneOptions: repository.PruneOptions{Database: o.database, Grace: o.grace, DryRun: o.dryRun},
		Storage:      o.storage, Trigger: "cli", OSUser: osUser(), Logger: e.logger,
	})
	if res == nil {
		return err
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, res); err != nil {
			return err
		}
	} else {
		for i, sp := range res.Storages {
			if i > 0 {
				fmt.Fprintln(o.stdout)
			}
			printStoragePrune(o.stdout, sp)
		}
		if o.dryRun {
			fmt.Fprintln(o.stdout, "dry run: nothing was deleted")
		}
	}
	// What could not be deleted is in the report already; a storage that
	// could not be pruned at all is said on stderr too.
	var errs []error
	for _, sp := range res.Storages {
		if err := sp.Err(); err != nil && !errors.Is(err, prune.ErrIncomplete) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err != nil {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// printStoragePrune prints one storage's prune: a heading, then what
// happened to each database.
func printStoragePrune(w io.Writer, sp *prune.StorageResult) {
	where := sp.Role
	if sp.URL != "" {
		where += ", " + sp.URL
	}
	fmt.Fprintf(w, "storage %s (%s)\n", sp.Storage, where)
	if sp.Result != nil {
		printPrune(w, sp.Result)
	}
	switch {
	case sp.Skipped != "":
		fmt.Fprintf(w, "  nothing to prune: %s\n", sp.Skipped)
	case sp.Err() != nil && !errors.Is(sp.Err(), prune.ErrIncomplete):
		fmt.Fprintf(w, "  FAILED: %s\n", sp.Error)
	}
}

func printPrune(w io.Writer, res *repository.PruneResult) {
	del, remove := "delete", "remove"
	if res.DryRun {
		del, remove = "would delete", "would remove"
	}
	line := func(status, format string, a ...any) {
		fmt.Fprintf(w, "    %-12s "+format+"\n", append([]any{status}, a...)...)
	}
	for _, d := range res.Databases {
		if d.Skipped != "" {
			fmt.Fprintf(w, "  %s: %s\n", d.Database, d.Skipped)
			continue
		}
		p := d.Policy
		fmt.Fprintf(w, "  %s (keep: newest %d, monthly %d, quarterly %d, yearly %d)\n", d.Database, p.Generations, p.Monthly, p.Quarterly, p.Yearly)
		for _, g := range d.Generations {
			what := fmt.Sprintf("generation %s (%s, %d backups)", g.ID, g.Started.Local().Format("2006-01-02"), len(g.Backups))
			switch g.Status {
			case repository.PruneKept:
				line("keep", "%s: %s", what, strings.Join(g.Reasons, "; "))
			case repository.PruneDeleted, repository.PruneWouldDelete:
				line(del, "%s, %d objects, %s: %s", what, g.Objects, humanize.Bytes(g.Bytes), strings.Join(g.Reasons, "; "))
			case repository.PruneRetained:
				line("retained", "%s: expired, but %s", what, g.Error)
			default:
				line("FAILED", "%s: %s", what, g.Error)
			}
		}
		for _, o := range d.Orphans {
			what := "chunks no backup names in generation " + o.Generation
			switch o.Status {
			case repository.PruneDeleted, repository.PruneWouldDelete:
				line(remove, "%d %s (%s)", o.Objects, what, humanize.Bytes(o.Bytes))
			case repository.PruneKept:
				line("keep", "%d %s: %s", o.Young, what, o.Detail)
			case repository.PruneProtected, repository.PruneSkipped:
				line("keep", "%d %s: %s", o.Objects+o.Young, what, o.Detail)
			case repository.PruneRetained:
				line("retained", "%d %s: %s", o.Objects-o.Deleted, what, o.Detail)
			default:
				line("FAILED", "%d of %d %s: %s", o.Objects-o.Deleted, o.Objects, what, o.Detail)
			}
		}
		for _, p := range d.Problems {
			line("problem", "%s", p)
		}
	}
	if res.DryRun {
		return
	}
	fmt.Fprintf(w, "  deleted %d backups, %d objects, %s\n", res.DeletedBackups, res.DeletedObjects, humanize.Bytes(res.DeletedBytes))
}
