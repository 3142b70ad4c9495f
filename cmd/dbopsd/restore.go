package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/site"
)

type restoreOpts struct {
	globals
	database string
	backupID string
	target   string
	as       string
	tables   stringList
	replace  bool
	parallel int
	storage  string

	// tableScratch is --table-scratch.
	tableScratch string
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func restoreCmd() command {
	var o restoreOpts
	return command{
		name: "restore",
		summary: "Restore a backup onto a restore target under a new name (redirected restore),\n" +
			"the whole database or single tables (--table schema.table, repeatable).\n" +
			"An existing database (or table) is refused unless --replace.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addRestoreFlags(fs, &o)
			fs.StringVar(&o.as, "as", "", "name of the database to create on the target")
			fs.Var(&o.tables, "table", "restore only this table (schema.table; repeatable)")
			fs.BoolVar(&o.replace, "replace", false, "drop and replace an existing database or table of that name")
			fs.StringVar(&o.tableScratch, "table-scratch", "", "with --table, SQL Server: the scratch restore_target to restore the whole backup on\n(default: the target's own server); the tables are then bulk-copied across")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runRestore(ctx, o)
			}
		},
	}
}

func addRestoreFlags(fs *flag.FlagSet, o *restoreOpts) {
	fs.StringVar(&o.database, "database", "", "source database (its label in the policy)")
	fs.StringVar(&o.backupID, "backup", "", "backup id (default: the newest)")
	fs.StringVar(&o.target, "target", "", "restore_target to restore onto")
	fs.IntVar(&o.parallel, "parallel", 0, "parts loaded at once (default: the policy's parallel)")
	fs.StringVar(&o.storage, "storage", "", "read the backup from this mirror instead of the repository's storage")
}

// restoreRequest builds the request restore runs, or, with verify, the one
// verify runs.
func restoreRequest(ctx context.Context, o restoreOpts, e *env, verify bool) (restore.Request, error) {
	if o.database == "" || o.target == "" {
		return restore.Request{}, usageError("--database and --target are required")
	}
	db, err := e.cfg.Database(o.database)
	if err != nil {
		return restore.Request{}, err
	}
	t, err := e.cfg.RestoreTarget(o.target)
	if err != nil {
		return restore.Request{}, err
	}
	if err := site.CheckRestore(db, t); err != nil {
		return restore.Request{}, err
	}
	var tables []engines.TableRef
	for _, s := range o.tables {
		tr, err := engines.ParseTableRef(s)
		if err != nil {
			return restore.Request{}, usageError("--table: %v", err)
		}
		tables = append(tables, tr)
	}
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return restore.Request{}, err
	}
	build := site.RestoreRequest
	if verify {
		build = site.VerifyRequest
	}
	req, err := build(e.cfg, db, t, o.backupID, e.siteRun(repo, o.parallel))
	if err != nil {
		return restore.Request{}, err
	}
	req.As, req.Tables, req.Replace = o.as, tables, o.replace
	if o.tableScratch != "" {
		st, err := e.cfg.RestoreTarget(o.tableScratch)
		if err != nil {
			return restore.Request{}, err
		}
		if len(tables) == 0 || !st.Scratch {
			return restore.Request{}, usageError("--table-scratch names a scratch restore_target, for a restore of --table")
		}
		if err := site.CheckRestore(db, st); err != nil {
			return restore.Request{}, err
		}
		sc := site.RestoreTarget(e.cfg, st)
		req.TableScratch = &sc
	}
	return req, nil
}

func runRestore(ctx context.Context, o restoreOpts) error {
	if o.as == "" {
		return usageError("--as is required: the name of the database to create on the target")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	req, err := restoreRequest(ctx, o, e, false)
	if err != nil {
		return err
	}
	pr := newProgress(o.stderr, "restore "+o.database, 0, o.quiet || o.jsonOut)
	req.Progress = pr.set
	res, err := restore.Restore(ctx, req)
	pr.finish()
	if errors.Is(err, engines.ErrExists) {
		return fmt.Errorf("%w\n(add --replace to drop and replace it)", err)
	}
	if err != nil {
		return err
	}
	if o.jsonOut {
		return printJSON(o.stdout, res)
	}
	what := "database"
	if len(res.Tables) > 0 {
		what = fmt.Sprintf("%d table(s)", len(res.Tables))
	}
	fmt.Fprintf(o.stdout, "restored %s of backup %s onto %s as %q in %s (%s)\n", what, res.BackupID, res.Target, res.As,
		res.Duration.Round(time.Millisecond), humanize.Bytes(res.Bytes))
	if res.Report != nil {
		for _, s := range res.Report.Skipped {
			fmt.Fprintf(o.stdout, "skipped: %s\n", s)
		}
		for _, n := range res.Report.Notes {
			fmt.Fprintf(o.stdout, "note: %s\n", n)
		}
	}
	return nil
}
