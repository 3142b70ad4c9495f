package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

type logOpts struct {
	globals
	database string
	kind     string
	since    string
	csv      bool
}

func logCmd() command {
	var o logOpts
	return command{
		name:    "log",
		summary: "Show the job log (备份日志): every backup, restore and verify attempt with its trigger, attempt number, times, bytes and outcome.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.kind, "kind", "", "only this kind of job: backup, restore, verify")
			fs.StringVar(&o.since, "since", "", "only jobs started on or after this date (YYYY-MM-DD)")
			fs.BoolVar(&o.csv, "csv", false, "print CSV")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runLog(ctx, o)
			}
		},
	}
}

func runLog(ctx context.Context, o logOpts) error {
	f := catalog.JobFilter{Database: o.database, Kind: o.kind}
	if o.since != "" {
		t, err := time.ParseInLocation("2006-01-02", o.since, time.Local)
		if err != nil {
			return usageError("--since: want YYYY-MM-DD, got %q", o.since)
		}
		f.Since = t
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	jobs, err := e.cat.Jobs(ctx, f)
	if err != nil {
		return err
	}
	switch {
	case o.jsonOut:
		if jobs == nil {
			jobs = []catalog.Job{}
		}
		return printJSON(o.stdout, map[string]any{"jobs": jobs})
	case o.csv:
		w := csv.NewWriter(o.stdout)
		// attempt comes last: scripts that read the columns by position
		// before it existed still work.
		_ = w.Write([]string{"id", "kind", "database", "backup_id", "target", "target_database", "trigger", "os_user", "started_at", "finished_at", "duration_seconds", "bytes", "status", "error", "attempt"})
		for _, j := range jobs {
			_ = w.Write([]string{strconv.FormatInt(j.ID, 10), j.Kind, j.Database, j.BackupID, j.Target, j.TargetDatabase, j.Trigger, j.OSUser,
				j.StartedAt.Format(time.RFC3339), fmtTime(j.FinishedAt), strconv.FormatFloat(j.DurationSeconds, 'f', 3, 64),
				strconv.FormatInt(j.Bytes, 10), j.Status, j.Error, strconv.Itoa(j.Attempt)})
		}
		w.Flush()
		return w.Error()
	}
	if len(jobs) == 0 {
		fmt.Fprintln(o.stdout, "no jobs")
		return nil
	}
	// The ATTEMPT column appears only when a job shown was retried: most
	// logs have none, and the table is wide enough.
	retried := slices.ContainsFunc(jobs, func(j catalog.Job) bool { return j.Attempt > 1 })
	attemptHead, attempt := "", func(catalog.Job) string { return "" }
	if retried {
		attemptHead = "ATTEMPT\t"
		attempt = func(j catalog.Job) string { return strconv.Itoa(j.Attempt) + "\t" }
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tKIND\tDATABASE\tBACKUP\tTRIGGER\t%sSTARTED\tDURATION\tBYTES\tSTATUS\tERROR\n", attemptHead)
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s%s\t%.1fs\t%s\t%s\t%s\n", j.ID, j.Kind, j.Database, orDash(j.BackupID),
			j.Trigger+by(j.OSUser), attempt(j), j.StartedAt.Local().Format("2006-01-02 15:04:05"), j.DurationSeconds, humanize.Bytes(j.Bytes), j.Status, truncate(j.Error, 80))
	}
	return tw.Flush()
}

func by(u string) string {
	if u == "" {
		return ""
	}
	return " (" + u + ")"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
