package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

type backupOpts struct {
	globals
	database string
	typ      string
	parallel int
	copyOnly bool
}

func backupCmd() command {
	var o backupOpts
	return command{
		name:    "backup",
		summary: "Back up one database now (full or differential) into the repository.\nA differential with no full before it becomes a full, and says so.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "database to back up (its label in the policy)")
			fs.StringVar(&o.typ, "type", "full", "full or differential")
			fs.IntVar(&o.parallel, "parallel", 0, "tables read at once (default: the policy's parallel)")
			fs.BoolVar(&o.copyOnly, "copy-only", true, "a full taken now leaves the server's native backup chain alone (SQL Server COPY_ONLY);\n--copy-only=false makes it the base of the scheduled differentials that follow")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runBackup(ctx, o)
			}
		},
	}
}

func runBackup(ctx context.Context, o backupOpts) error {
	if o.database == "" {
		return usageError("--database is required")
	}
	if o.typ != repository.Full && o.typ != repository.Differential {
		return usageError("--type must be full or differential, not %q", o.typ)
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	db, err := e.cfg.Database(o.database)
	if err != nil {
		return err
	}
	if _, err := site.Engine(db.Engine); err != nil {
		return err
	}
	repo, err := e.openRepo(ctx, "")
	if err != nil {
		return err
	}
	job, err := site.BackupJob(e.cfg, db, o.typ, e.siteRun(repo, o.parallel))
	if err != nil {
		return err
	}
	job.CopyOnly = o.copyOnly
	pr := newProgress(o.stderr, "backup "+o.database, 0, o.quiet || o.jsonOut)
	job.Progress = pr.add
	res, err := backup.Run(ctx, job)
	pr.finish()
	if err != nil {
		return err
	}
	m := res.Manifest
	if o.jsonOut {
		return printJSON(o.stdout, listEntryFromManifest(m))
	}
	fmt.Fprintf(o.stdout, "backup %s of %s: %s, %d tables, %s read, %s stored in %s\n",
		m.ID, m.Database, m.Type, len(m.Snapshot.Tables), humanize.Bytes(m.Stats.RawBytes), humanize.Bytes(m.Stats.StoredBytes),
		m.Duration().Round(time.Millisecond))
	if m.Reason != "" {
		fmt.Fprintf(o.stdout, "note: %s\n", m.Reason)
	}
	for _, w := range m.Snapshot.Warnings {
		fmt.Fprintf(o.stdout, "warning: %s\n", w)
	}
	return nil
}

// siteRun is what a job the CLI starts takes from the command line
// (site.Run): parallel is the --parallel flag, 0 for the policy's.
func (e *env) siteRun(repo *repository.Repo, parallel int) site.Run {
	return site.Run{Repo: repo, Catalog: e.cat, Trigger: "cli", OSUser: osUser(), Logger: e.logger, Parallel: parallel}
}
