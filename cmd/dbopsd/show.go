package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
)

type showOpts struct {
	globals
	database string
	backupID string
	storage  string
}

func showCmd() command {
	var o showOpts
	return command{
		name: "show",
		summary: "Show what one backup holds: type and generation, server version and snapshot position,\n" +
			"every table with its rows and checksum, parts and sizes, warnings.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "database (its label in the policy)")
			fs.StringVar(&o.backupID, "backup", "", "backup id or a unique prefix of it (default: the newest)")
			fs.StringVar(&o.storage, "storage", "", "read from this mirror instead of the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runShow(ctx, o)
			}
		},
	}
}

func runShow(ctx context.Context, o showOpts) error {
	if o.database == "" {
		return usageError("--database is required")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return err
	}
	m, err := repo.FindBackup(ctx, o.database, o.backupID)
	if err != nil {
		return err
	}
	if o.jsonOut {
		// The manifest minus chunk lists: those are the repository's business.
		type part struct {
			engines.PartInfo
			Size         int64  `json:"size"`
			Chunks       int    `json:"chunks"`
			Method       string `json:"method,omitempty"`
			MethodReason string `json:"method_reason,omitempty"`
		}
		parts := make([]part, len(m.Parts))
		for i, p := range m.Parts {
			parts[i] = part{p.PartInfo, p.Size, len(p.Chunks), p.Method, p.MethodReason}
		}
		return printJSON(o.stdout, map[string]any{
			"id": m.ID, "database": m.Database, "engine": m.Engine, "type": m.Type, "generation": m.Generation,
			"base": m.Base, "reason": m.Reason, "trigger": m.Trigger, "host": m.Host, "started_at": m.StartedAt,
			"finished_at": m.FinishedAt, "snapshot": m.Snapshot, "parts": parts, "stats": m.Stats,
		})
	}
	w := o.stdout
	fmt.Fprintf(w, "backup      %s\ndatabase    %s (%s)\ntype        %s", m.ID, m.Database, m.Engine, m.Type)
	if m.Type != "full" {
		fmt.Fprintf(w, " of full %s", m.Base)
	}
	fmt.Fprintf(w, "\ngeneration  %s\ntaken       %s on %s, %s, trigger %s\n", m.Generation,
		m.StartedAt.Local().Format("2006-01-02 15:04:05"), m.Host, m.Duration().Round(time.Millisecond), orDash(m.Trigger))
	if m.Reason != "" {
		fmt.Fprintf(w, "note        %s\n", m.Reason)
	}
	if s := m.Snapshot; s != nil {
		fmt.Fprintf(w, "server      %s\nposition    %s\n", s.ServerVersion, orDash(s.Position))
		if s.Consistency != "" {
			fmt.Fprintf(w, "consistency %s\n", s.Consistency)
		}
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "warning     %s\n", warn)
		}
	}
	fmt.Fprintf(w, "size        %s raw, %s stored by this backup, %s referenced (%d chunks, %d new)\n\n",
		humanize.Bytes(m.Stats.RawBytes), humanize.Bytes(m.Stats.StoredBytes), humanize.Bytes(m.Stats.ReferencedBytes), m.Stats.Chunks, m.Stats.NewChunks)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tSIZE\tCHECKSUM"+storedHeader(m))
	var why []string // a differential: how each table was stored, and why
	if m.Snapshot != nil {
		tables := append([]engines.TableStats(nil), m.Snapshot.Tables...)
		engines.SortTables(tables)
		for _, t := range tables {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s", t.Table, t.Rows, humanize.Bytes(t.Bytes), t.Checksum)
			if storedHeader(m) != "" {
				method, reasons := m.TableMethod(t.Table)
				fmt.Fprintf(tw, "\t%s", orDash(method))
				for _, r := range reasons {
					why = append(why, fmt.Sprintf("  %s: %s", t.Table, r))
				}
			}
			fmt.Fprintln(tw)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(why) > 0 {
		fmt.Fprintf(w, "\nhow tables were stored (rows: only the rows changed since the full)\n%s\n", strings.Join(why, "\n"))
	}
	return nil
}

// storedHeader is the STORED column's header for a differential.
func storedHeader(m *repository.Manifest) string {
	if m.Type == repository.Differential {
		return "\tSTORED"
	}
	return ""
}
