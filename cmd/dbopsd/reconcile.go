package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

type reconcileOpts struct {
	globals
	name     string
	exitCode bool // reconcile run: exit 1 when the tables differ
	csv      bool // reconcile show
}

func reconcileRunCmd() command {
	var o reconcileOpts
	return command{
		name:  "reconcile run",
		usage: "NAME",
		summary: "Compare the two tables of a reconcile block now: rows missing on the left, missing\n" +
			"on the right, and different (with the columns that differ), with sample keys.\n" +
			"Read-only; the result is stored in the catalog for `reconcile show`. Exits 0 when\n" +
			"the comparison ran, whatever it found (1 on differences with --exit-code).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.BoolVar(&o.exitCode, "exit-code", false, "exit 1 when the tables differ, as diff(1) does")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the name of a reconcile block"); err != nil {
					return err
				}
				o.name = args[0]
				return runReconcile(ctx, o)
			}
		},
	}
}

func runReconcile(ctx context.Context, o reconcileOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	r, err := e.cfg.Reconcile(o.name)
	if err != nil {
		return usageError("%v", err)
	}
	out, err := site.Reconcile(ctx, e.cfg, r, site.Run{Catalog: e.cat, Trigger: schedule.TriggerCLI, OSUser: osUser(), Logger: e.logger})
	var de *reconcile.DifferencesError
	if err != nil && !errors.As(err, &de) {
		if out.Result != nil && o.jsonOut {
			printJSON(o.stdout, out.Result)
		}
		return err
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, out.Result); err != nil {
			return err
		}
	} else {
		printReconciliation(o.stdout, out.Result, out.Previous)
	}
	if de != nil && o.exitCode {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func reconcileShowCmd() command {
	var o reconcileOpts
	return command{
		name:  "reconcile show",
		usage: "NAME",
		summary: "Show the newest stored result of a reconcile block: counts per kind, the columns\n" +
			"not compared and why, and the sample keys (--csv: one line per sample key).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.BoolVar(&o.csv, "csv", false, "print the sample keys as CSV: kind,key,columns")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the name of a reconcile block"); err != nil {
					return err
				}
				if o.csv && o.jsonOut {
					return usageError("--json and --csv exclude each other")
				}
				o.name = args[0]
				return runReconcileShow(ctx, o)
			}
		},
	}
}

func runReconcileShow(ctx context.Context, o reconcileOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	if _, err := e.cfg.Reconcile(o.name); err != nil {
		return usageError("%v", err)
	}
	runs, err := e.cat.Reconciliations(ctx, o.name, 2)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return &exitError{code: 1, err: fmt.Errorf("reconcile %q has not run yet (dbopsd reconcile run %s)", o.name, o.name)}
	}
	var res reconcile.Result
	if err := json.Unmarshal(runs[0].Result, &res); err != nil {
		return fmt.Errorf("reading the stored result of reconcile %s: %w", o.name, err)
	}
	switch {
	case o.jsonOut:
		return printJSON(o.stdout, &res)
	case o.csv:
		return writeReconcileCSV(o.stdout, &res)
	}
	var prev *catalog.Reconciliation
	if len(runs) > 1 {
		prev = &runs[1]
	}
	printReconciliation(o.stdout, &res, prev)
	return nil
}

// writeReconcileCSV writes one line per sample key.
func writeReconcileCSV(w io.Writer, res *reconcile.Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"kind", "key", "columns"})
	for _, k := range res.Samples.MissingLeft {
		cw.Write([]string{"missing_left", k, ""})
	}
	for _, k := range res.Samples.MissingRight {
		cw.Write([]string{"missing_right", k, ""})
	}
	for _, d := range res.Samples.Different {
		cw.Write([]string{"different", d.Key, strings.Join(d.Columns, " ")})
	}
	cw.Flush()
	return cw.Error()
}

func printReconciliation(w io.Writer, res *reconcile.Result, prev *catalog.Reconciliation) {
	verdict := map[string]string{reconcile.StatusMatch: "MATCH", reconcile.StatusDifferent: "DIFFERENT", reconcile.StatusFailed: "FAILED"}[res.Status]
	fmt.Fprintf(w, "reconcile %s: %s (%s)\n", res.Name, verdict, res.Started.Local().Format("2006-01-02 15:04:05"))
	for _, s := range []struct {
		name string
		info reconcile.SideInfo
	}{{"left ", res.Left}, {"right", res.Right}} {
		fmt.Fprintf(w, "  %s %s %s.%s: %d rows\n", s.name, s.info.Engine, s.info.Database, s.info.Table, s.info.Rows)
	}
	if res.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", res.Error)
		return
	}
	fmt.Fprintf(w, "  key %s; compared %s\n", strings.Join(res.Key, ", "), strings.Join(res.Compared, ", "))
	for _, s := range res.NotCompared {
		fmt.Fprintf(w, "  not compared: %s (%s)\n", s.Column, s.Reason)
	}
	fmt.Fprintf(w, "  missing on the left:  %d%s\n", res.MissingLeft, sampleList(res.Samples.MissingLeft, res.MissingLeft))
	fmt.Fprintf(w, "  missing on the right: %d%s\n", res.MissingRight, sampleList(res.Samples.MissingRight, res.MissingRight))
	fmt.Fprintf(w, "  different:            %d\n", res.Different)
	for _, d := range res.Samples.Different {
		fmt.Fprintf(w, "    %s: %s\n", d.Key, strings.Join(d.Columns, ", "))
	}
	if n := res.Different - int64(len(res.Samples.Different)); n > 0 {
		fmt.Fprintf(w, "    ... and %d more\n", n)
	}
	if prev != nil && prev.Status != reconcile.StatusFailed {
		fmt.Fprintf(w, "  previous run %s: %d missing or different\n", prev.Started.Local().Format("2006-01-02 15:04"), prev.Total())
	}
	fmt.Fprintf(w, "  %d statements, %s over the network, %s\n", res.Statements, humanize.Bytes(res.NetworkBytes),
		(time.Duration(res.Duration * float64(time.Second))).Round(time.Millisecond))
}

func sampleList(keys []string, total int64) string {
	if len(keys) == 0 {
		return ""
	}
	s := " (" + strings.Join(keys, ", ")
	if more := total - int64(len(keys)); more > 0 {
		s += ", ... " + strconv.FormatInt(more, 10) + " more"
	}
	return s + ")"
}
