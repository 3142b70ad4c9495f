package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/history"
)

type findingsOpts struct {
	globals
	database string
	since    string
	csv      bool
	all      bool
}

func findingsCmd() command {
	var o findingsOpts
	return command{
		name: "findings",
		summary: "List the findings of the saved diagnostics snapshots (dbopsd diagnose --save), oldest first:\n" +
			"one line per finding with the snapshot's time, the database, check, priority, object and text.\n" +
			"Checks that could not run and suppressed findings are left out unless --all.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.since, "since", "", "only snapshots taken on or after this date (YYYY-MM-DD, local time)")
			fs.BoolVar(&o.csv, "csv", false, "print CSV")
			fs.BoolVar(&o.all, "all", false, "also list checks that could not run and suppressed findings")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runFindings(ctx, o)
			}
		},
	}
}

// findingRow is a finding with the snapshot it comes from.
type findingRow struct {
	Snapshot string    `json:"snapshot"`
	TakenAt  time.Time `json:"taken_at"`
	Database string    `json:"database"`
	Level    string    `json:"level"`
	diagnostics.Finding
}

func runFindings(ctx context.Context, o findingsOpts) error {
	if o.csv && o.jsonOut {
		return usageError("--csv and --json: choose one")
	}
	var since time.Time
	if o.since != "" {
		t, err := time.ParseInLocation(time.DateOnly, o.since, time.Local)
		if err != nil {
			return usageError("--since %q: want YYYY-MM-DD", o.since)
		}
		since = t
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	docs, err := e.cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: o.database, Since: since})
	if err != nil {
		return err
	}
	rows := []findingRow{}
	for _, d := range docs {
		r, err := diagnostics.DecodeReport(d.Body)
		if err != nil {
			fmt.Fprintf(o.stderr, "skipping diagnosis %s of %s: %v\n", d.ID, d.Database, err)
			continue
		}
		for _, f := range r.Findings {
			if !o.all && (f.NotChecked || f.Suppressed) {
				continue
			}
			rows = append(rows, findingRow{Snapshot: d.ID, TakenAt: d.TakenAt, Database: d.Database, Level: r.Level, Finding: f})
		}
	}
	switch {
	case o.jsonOut:
		return printJSON(o.stdout, rows)
	case o.csv:
		w := csv.NewWriter(o.stdout)
		w.Write([]string{"taken_at", "database", "level", "check", "priority", "group", "object", "finding", "details", "not_checked", "suppressed", "snapshot"})
		for _, r := range rows {
			w.Write([]string{r.TakenAt.UTC().Format(time.RFC3339), r.Database, r.Level, r.Check, strconv.Itoa(r.Priority), r.Group,
				r.Object, r.Finding.Finding, r.Details, strconv.FormatBool(r.NotChecked), strconv.FormatBool(r.Suppressed), r.Snapshot})
		}
		w.Flush()
		return w.Error()
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.stdout, "no findings")
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TAKEN\tDATABASE\tPRIO\tCHECK\tOBJECT\tFINDING")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.TakenAt.Local().Format(time.DateTime), r.Database, r.Priority, r.Check,
			orDash(r.Object), oneLine(r.Finding.Finding))
	}
	return tw.Flush()
}
