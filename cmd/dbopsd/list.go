package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/repository"
)

type listOpts struct {
	globals
	database string
	storage  string
}

func listCmd() command {
	var o listOpts
	return command{
		name:    "list",
		summary: "List the backups in the repository (id, database, type, start, duration, stored bytes, status).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.storage, "storage", "", "read from this mirror instead of the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runList(ctx, o)
			}
		},
	}
}

// listEntry is one backup in `list --json`.
type listEntry struct {
	catalog.Backup
}

func listEntryFromManifest(m *repository.Manifest) listEntry {
	return listEntry{catalog.FromManifest(m)}
}

func runList(ctx context.Context, o listOpts) error {
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
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return err
	}
	// The repository is the truth; the catalog makes this cheap. A mirror
	// may lack backups: that is not a deletion to remember.
	sync := e.cat.Sync
	if o.storage != "" && o.storage != e.cfg.Repository.Storage {
		sync = e.cat.SyncMirror
	}
	res, err := sync(ctx, repo, o.database)
	if err != nil {
		return err
	}
	for _, d := range res.Damaged {
		e.logger.Warn("damaged manifest", "detail", d)
	}
	defer printMissing(o.stdout, o.jsonOut, res.Missing)
	bs, err := e.cat.Backups(ctx, o.database)
	if err != nil {
		return err
	}
	if o.jsonOut {
		out := make([]listEntry, len(bs))
		for i, b := range bs {
			out[i] = listEntry{b}
		}
		if len(res.Missing) > 0 {
			return printJSON(o.stdout, map[string]any{"backups": out, "missing": res.Missing})
		}
		return printJSON(o.stdout, map[string]any{"backups": out})
	}
	if len(bs) == 0 {
		fmt.Fprintln(o.stdout, "no backups")
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDATABASE\tTYPE\tSTARTED\tDURATION\tRAW\tSTORED\tSTATUS\tVERIFIED")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Database, b.Type,
			b.StartedAt.Local().Format("2006-01-02 15:04:05"), (time.Duration(b.DurationSeconds * float64(time.Second))).Round(time.Millisecond),
			humanize.Bytes(b.RawBytes), humanize.Bytes(b.StoredBytes), b.Status, orDash(b.VerifyStatus))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printMissing tells of backups whose manifest was deleted (not by prune),
// after the list.
func printMissing(w io.Writer, jsonOut bool, missing []repository.MissingBackup) {
	if jsonOut {
		return
	}
	for _, m := range missing {
		fmt.Fprintf(w, "MISSING: %s (run `dbopsd check`)\n", m)
	}
}
