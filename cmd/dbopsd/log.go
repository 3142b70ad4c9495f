package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	missing, err := missingManifests(ctx, e, o.database)
	if err != nil {
		return err
	}
	jobs, err := e.cat.Jobs(ctx, f)
	if err != nil {
		return err
	}
	if err := completeInterrupted(ctx, e.cat, jobs); err != nil {
		return err
	}
	gone := func(j catalog.Job) *manifestMissing {
		if j.Kind != "backup" || j.Status != catalog.StatusOK || j.BackupID == "" {
			return nil
		}
		return missing[j.BackupID]
	}
	switch {
	case o.jsonOut:
		entries := make([]logEntry, len(jobs))
		for i, j := range jobs {
			entries[i] = logEntry{Job: j, ManifestMissing: gone(j)}
		}
		return printJSON(o.stdout, map[string]any{"jobs": entries})
	case o.csv:
		w := csv.NewWriter(o.stdout)
		// attempt and manifest_missing come last: scripts that read the
		// columns by position before they existed still work.
		_ = w.Write([]string{"id", "kind", "database", "backup_id", "target", "target_database", "trigger", "os_user", "started_at", "finished_at", "duration_seconds", "bytes", "status", "error", "attempt", "manifest_missing"})
		for _, j := range jobs {
			_ = w.Write([]string{strconv.FormatInt(j.ID, 10), j.Kind, j.Database, j.BackupID, j.Target, j.TargetDatabase, j.Trigger, j.OSUser,
				j.StartedAt.Format(time.RFC3339), fmtTime(j.FinishedAt), strconv.FormatFloat(j.DurationSeconds, 'f', 3, 64),
				strconv.FormatInt(j.Bytes, 10), j.Status, j.Error, strconv.Itoa(j.Attempt), gone(j).String()})
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
		status, errText := j.Status, oneLine(j.Error)
		if m := gone(j); m != nil {
			// The job did its work; what it made is gone since.
			status = "missing"
			errText = strings.TrimPrefix(errText+"; "+m.String(), "; ")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s%s\t%.1fs\t%s\t%s\t%s\n", j.ID, j.Kind, j.Database, orDash(j.BackupID),
			j.Trigger+by(j.OSUser), attempt(j), j.StartedAt.Local().Format("2006-01-02 15:04:05"), j.DurationSeconds, humanize.Bytes(j.Bytes), status, errText)
	}
	return tw.Flush()
}

// logEntry is one job in `log --json`.
type logEntry struct {
	catalog.Job
	// ManifestMissing is set on a successful backup job whose backup's
	// manifest has been deleted since, not by prune. The job's status
	// stays "ok": it is what the job did, and this what became of it.
	ManifestMissing *manifestMissing `json:"manifest_missing,omitempty"`
}

// manifestMissing is a backup whose manifest was deleted, not by prune
// (ARCHITECTURE.md, "Missing manifests").
type manifestMissing struct {
	// Object is the manifest's key in the repository; "" when the
	// repository could not be read.
	Object string `json:"object,omitempty"`
	// Since is when the catalog first found the manifest gone; zero when
	// only the repository's chain or head says so (after a catalog rebuild).
	Since time.Time `json:"since,omitzero"`
	// How says what names the backup.
	How string `json:"how"`
}

func (m *manifestMissing) String() string {
	if m == nil {
		return ""
	}
	s := "its manifest"
	if m.Object != "" {
		s += " " + m.Object
	}
	if m.Since.IsZero() {
		s += " is missing (" + m.How + ")"
	} else {
		s += " has been missing since " + m.Since.Local().Format("2006-01-02 15:04:05")
	}
	return s + ": deleted, not by prune (run `dbopsd check`)"
}

// logSyncTimeout bounds how long log tries to read the repository.
const logSyncTimeout = 15 * time.Second

// missingManifests are the backups of database ("" for all) whose manifest
// was deleted, not by prune, by id. It brings the catalog up to date with
// the repository as list does, so a deletion shows without a list first;
// when the repository cannot be read, the log is still shown, with what
// the catalog already knew.
func missingManifests(ctx context.Context, e *env, database string) (map[string]*manifestMissing, error) {
	out := map[string]*manifestMissing{}
	synced := false
	// The log is history the catalog holds: a storage that does not answer
	// (retried with backoff) delays it by a bounded time, not a minute.
	sctx, cancel := context.WithTimeout(ctx, logSyncTimeout)
	defer cancel()
	repo, err := e.openRepo(sctx, "")
	if err == nil {
		var res *catalog.RebuildResult
		if res, err = e.cat.Sync(sctx, repo, database); err == nil {
			synced = true
			for _, m := range res.Missing {
				if m.ID != "" {
					out[m.ID] = &manifestMissing{Object: m.Object, How: m.How}
				}
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e.logger.Warn("could not read the repository: backups whose manifest was deleted since the last list or check are not marked", "error", err)
	}
	since, err := e.cat.MissingSince(ctx, database)
	if err != nil {
		return nil, err
	}
	for id, t := range since {
		switch m := out[id]; {
		case m != nil:
			m.Since = t
		case !synced:
			out[id] = &manifestMissing{Since: t, How: "the catalog listed it until " + t.Local().Format(time.RFC3339)}
		}
	}
	return out, nil
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

// oneLine is an error on one line, whole: the cause (connection refused,
// no space left) is at its end. ERROR is the last column, so a long one
// does not widen the others.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// completeInterrupted corrects, in jobs, backup jobs that were closed as
// interrupted (their process ended without recording an outcome) although
// the backup they made is complete: killed after its manifest was written,
// it is listed as ok, and the log says so too rather than "failed". The
// backup is the catalogued one of the same database that started during
// the job, before the next backup job of that database, and that no other
// job names.
func completeInterrupted(ctx context.Context, cat *catalog.Catalog, jobs []catalog.Job) error {
	var todo []int
	for i, j := range jobs {
		if j.Kind == "backup" && j.Status == catalog.StatusFailed && j.BackupID == "" && strings.HasPrefix(j.Error, "interrupted") {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	backups, err := cat.Backups(ctx, "")
	if err != nil {
		return err
	}
	named := map[string]bool{}
	all, err := cat.Jobs(ctx, catalog.JobFilter{Kind: "backup"})
	if err != nil {
		return err
	}
	for _, j := range all {
		named[j.BackupID] = true
	}
	for _, i := range todo {
		j := &jobs[i]
		end := j.FinishedAt
		for _, k := range all {
			if k.Database == j.Database && k.ID > j.ID {
				end = k.StartedAt
				break
			}
		}
		for _, b := range backups {
			if b.Database != j.Database || b.Status != catalog.StatusOK || named[b.ID] ||
				b.StartedAt.Before(j.StartedAt) || (!end.IsZero() && b.StartedAt.After(end)) {
				continue
			}
			named[b.ID] = true
			j.Status, j.BackupID, j.Bytes = catalog.StatusOK, b.ID, b.StoredBytes
			j.Error = "complete, but its process ended before recording it (" + j.Error + ")"
			break
		}
	}
	return nil
}
