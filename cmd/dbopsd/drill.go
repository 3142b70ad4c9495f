package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

// The drill commands read the reports drills leave in the state directory.
// Drills themselves run only in the daemon, from a signed request accepted
// by its Gate (`dbopsd request new drill ...`, `dbopsd request submit`).

type drillOpts struct {
	globals
	html string
	lang string
}

func drillReportCmd() command {
	var o drillOpts
	return command{
		name:  "drill report",
		usage: "ID",
		summary: "Print a stored drill report (灾难恢复演练报告): request and approvals, backup and chain,\n" +
			"target, recovery times, checks, verdict. --json prints the report as stored;\n" +
			"--html FILE writes the self-contained HTML page (\"-\" for stdout).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.html, "html", "", "write the report as an HTML page to this file (- for stdout)")
			fs.StringVar(&o.lang, "lang", "", "language of the HTML page and the text: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "a drill id"); err != nil {
					return err
				}
				return runDrillReport(ctx, o, args[0])
			}
		},
	}
}

func drillListCmd() command {
	var o drillOpts
	return command{
		name:    "drill list",
		summary: "List the drills whose reports are in the state directory, oldest first.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDrillList(ctx, o)
			}
		},
	}
}

// drillEnv loads the policy for the state directory, the time zone and the
// report language.
func drillEnv(o *drillOpts) (stateDir, lang string, loc *time.Location, err error) {
	e, err := setup(&o.globals)
	if err != nil {
		return "", "", nil, err
	}
	defer e.close()
	stateDir = o.stateDir
	if stateDir == "" {
		stateDir = e.cfg.Daemon.StateDir
	}
	lang = drill.ReportLanguage(e.cfg)
	if o.lang != "" {
		l, err := i18n.NormalizeLang(o.lang)
		if err != nil {
			return "", "", nil, usageError("--lang: %v", err)
		}
		lang = string(l)
	}
	loc = e.cfg.Daemon.Location
	if loc == nil {
		loc = time.Local
	}
	return stateDir, lang, loc, nil
}

func runDrillReport(_ context.Context, o drillOpts, id string) error {
	stateDir, lang, loc, err := drillEnv(&o)
	if err != nil {
		return err
	}
	rep, err := drill.Load(stateDir, id)
	if errors.Is(err, drill.ErrNotFound) {
		return fmt.Errorf("%w (dbopsd drill list shows the stored ones)", err)
	}
	if err != nil {
		return err
	}
	if o.html != "" {
		if err := writeDrillHTML(o, rep, lang, loc); err != nil {
			return err
		}
		if o.html == "-" {
			return nil
		}
	}
	if o.jsonOut {
		return drill.WriteJSON(o.stdout, rep)
	}
	if o.html != "" {
		fmt.Fprintf(o.stderr, "wrote %s\n", o.html)
		return nil
	}
	printDrill(o.stdout, rep, loc)
	_, htmlPath := drill.Paths(stateDir, rep.ID)
	fmt.Fprintf(o.stdout, "  report      %s\n", htmlPath)
	return nil
}

func writeDrillHTML(o drillOpts, rep *drill.Report, lang string, loc *time.Location) error {
	opts := drill.HTMLOptions{Language: lang, Location: loc}
	return writeTo(o.html, o.stdout, "drill report", func(w io.Writer) error { return drill.WriteHTML(w, rep, opts) })
}

func printDrill(w io.Writer, r *drill.Report, loc *time.Location) {
	verdict := "PASSED"
	if !r.Passed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "drill %s (%s) of %s: %s\n", r.ID, r.Scenario, r.Database, verdict)
	if q := r.Request; q != nil {
		fmt.Fprintf(w, "  request     %s by %s", q.ID, q.Requester)
		if len(q.Approvers) > 0 {
			fmt.Fprintf(w, ", approved by %s", strings.Join(q.Approvers, ", "))
		}
		fmt.Fprintln(w)
		if q.Reason != "" {
			fmt.Fprintf(w, "  reason      %s\n", q.Reason)
		}
		for _, s := range q.Signatures {
			fmt.Fprintf(w, "  signature   %s (%s) %s %s\n", s.Signer, s.Role, s.KeyType, s.Fingerprint)
		}
	}
	if b := r.Backup; b != nil {
		fmt.Fprintf(w, "  backup      %s (%s", b.ID, b.Type)
		if b.Base != "" {
			fmt.Fprintf(w, " of full %s", b.Base)
		}
		fmt.Fprintf(w, "), taken %s, %d tables, %d rows\n", b.StartedAt.In(loc).Format("2006-01-02 15:04:05"), b.Tables, b.Rows)
	}
	what := "whole database"
	if len(r.Target.Tables) > 0 {
		what = strings.Join(r.Target.Tables, ", ")
	}
	fmt.Fprintf(w, "  target      %s (%s) as %q, %s; copy %s\n", r.Target.Name, orDash(r.Target.Server), r.Target.Database, what, orDash(r.Target.Disposition))
	fmt.Fprintf(w, "  started     %s\n", r.StartedAt.In(loc).Format("2006-01-02 15:04:05"))
	t := r.Timings
	fmt.Fprintf(w, "  restore     %s (%s read)\n  checks      %s (statistics %s, integrity %s)\n  total       %s\n",
		t.Restore.Round(time.Millisecond), humanize.Bytes(r.BytesRead), t.Checks.Round(time.Millisecond),
		t.Compare.Round(time.Millisecond), t.Integrity.Round(time.Millisecond), t.Total.Round(time.Millisecond))
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  check       %-10s %-4s %s\n", c.Name, c.Status, c.Detail)
	}
	for _, p := range r.Warnings {
		fmt.Fprintf(w, "  warning     %s\n", p)
	}
}

func runDrillList(_ context.Context, o drillOpts) error {
	stateDir, _, loc, err := drillEnv(&o)
	if err != nil {
		return err
	}
	reps, err := drill.List(stateDir)
	if err != nil {
		return err
	}
	if o.jsonOut {
		type row struct {
			ID        string        `json:"id"`
			Scenario  string        `json:"scenario"`
			Database  string        `json:"database"`
			Backup    string        `json:"backup_id"`
			Target    string        `json:"target"`
			As        string        `json:"as"`
			Request   string        `json:"request,omitempty"`
			StartedAt time.Time     `json:"started_at"`
			Timings   drill.Timings `json:"timings"`
			Verdict   string        `json:"verdict"`
		}
		rows := make([]row, 0, len(reps))
		for _, r := range reps {
			rw := row{ID: r.ID, Scenario: r.Scenario, Database: r.Database, Backup: r.BackupID(), Target: r.Target.Name,
				As: r.Target.Database, StartedAt: r.StartedAt, Timings: r.Timings, Verdict: r.Verdict}
			if r.Request != nil {
				rw.Request = r.Request.ID
			}
			rows = append(rows, rw)
		}
		return printJSON(o.stdout, map[string]any{"drills": rows})
	}
	if len(reps) == 0 {
		fmt.Fprintf(o.stdout, "no drill reports in %s\n", stateDir)
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tDATABASE\tSCENARIO\tTARGET\tBACKUP\tRESTORE\tTOTAL\tVERDICT")
	for _, r := range reps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.StartedAt.In(loc).Format("2006-01-02 15:04"), r.Database,
			r.Scenario, r.Target.Name, orDash(r.BackupID()), r.Timings.Restore.Round(time.Millisecond),
			r.Timings.Total.Round(time.Millisecond), r.Verdict)
	}
	return tw.Flush()
}
