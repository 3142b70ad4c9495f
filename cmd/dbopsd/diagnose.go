package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/site"
)

// The diagnose commands run the daily inspection or the monthly diagnosis
// of one database (diagnostics/), print or save it, and list the saved
// ones.

type diagnoseOpts struct {
	globals
	database string
	level    string
	html     string
	save     bool
	from     string
	lang     string
}

func diagnoseCmd() command {
	var o diagnoseOpts
	return command{
		name: "diagnose",
		summary: "Run the daily inspection (每日巡检) or the monthly diagnosis (每月全面诊断) of a database and print\n" +
			"its findings. --save stores the snapshot in the repository and the catalog (history, deltas,\n" +
			"forecasts); --html FILE writes the page; --from SNAPSHOT re-analyses a saved snapshot (an id\n" +
			"from `dbopsd diagnose history`, or a file written by --json).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "the database (its name in the policy)")
			fs.StringVar(&o.level, "level", diagmodel.Daily, "daily or monthly")
			fs.StringVar(&o.html, "html", "", "write the findings as an HTML page to this file (- for stdout)")
			fs.BoolVar(&o.save, "save", false, "store the snapshot in the repository and the catalog")
			fs.StringVar(&o.from, "from", "", "re-analyse this saved snapshot (an id, or a JSON file) instead of collecting")
			fs.StringVar(&o.lang, "lang", "", "language of the findings: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDiagnose(ctx, o)
			}
		},
	}
}

func diagnoseHistoryCmd() command {
	var o diagnoseOpts
	return command{
		name:    "diagnose history",
		summary: "List the saved diagnostics snapshots of a database, oldest first.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "the database (its name in the policy)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDiagnoseHistory(ctx, o)
			}
		},
	}
}

func runDiagnose(ctx context.Context, o diagnoseOpts) error {
	if o.level != diagmodel.Daily && o.level != diagmodel.Monthly {
		return usageError("--level %q: want daily or monthly", o.level)
	}
	if o.from == "" && o.database == "" {
		return usageError("--database is required")
	}
	if o.from != "" && o.save {
		return usageError("--save and --from: a re-analysed snapshot is saved already")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	var rep *diagnostics.Report
	if o.from != "" {
		rep, err = reanalyse(ctx, e, o)
	} else {
		db, ok := e.cfg.Databases[o.database]
		if !ok {
			return usageError("database %q is not in %s", o.database, o.globals.configPath)
		}
		run := site.DiagnoseRun(e.cfg, db, o.level, e.cat)
		if run.Lang, err = langFlag(o.lang, run.Lang); err != nil {
			return err
		}
		rep, err = run.Do(ctx)
	}
	if err != nil {
		return err
	}
	if o.save {
		repo, err := e.openRepo(ctx, "")
		if err != nil {
			return err
		}
		id, err := history.Store{Repo: repo, Catalog: e.cat}.Save(ctx, history.KindDiagnosis, rep.Database, rep.At, rep)
		if err != nil {
			return fmt.Errorf("saving the diagnosis of %s: %w", rep.Database, err)
		}
		fmt.Fprintf(o.stderr, "saved diagnosis %s of %s\n", id, rep.Database)
	}
	if o.html != "" {
		if err := writeDiagnoseHTML(o, rep); err != nil {
			return err
		}
		if o.html == "-" {
			return nil
		}
	}
	if o.jsonOut {
		return printJSON(o.stdout, rep)
	}
	if o.html != "" {
		fmt.Fprintf(o.stderr, "wrote %s\n", o.html)
	}
	printDiagnosis(o.stdout, rep)
	return nil
}

// reanalyse reads the snapshot --from names and analyses its facts again
// under the policy's settings of today.
func reanalyse(ctx context.Context, e *env, o diagnoseOpts) (*diagnostics.Report, error) {
	var body []byte
	if st, err := os.Stat(o.from); err == nil && st.Mode().IsRegular() {
		if body, err = os.ReadFile(o.from); err != nil {
			return nil, err
		}
	} else {
		if o.database == "" {
			return nil, usageError("--from %s: no such file; an id needs --database", o.from)
		}
		d, ok, err := e.cat.Document(ctx, history.KindDiagnosis, o.database, o.from)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no diagnosis %s of %s (dbopsd diagnose history --database %s lists them)", o.from, o.database, o.database)
		}
		body = d.Body
	}
	stored, err := diagnostics.DecodeReport(body)
	if err != nil {
		return nil, err
	}
	f := stored.Facts
	run := diagnostics.Run{Database: f.Database, Level: f.Level, Catalog: e.cat, Thresholds: diagnostics.DefaultThresholds()}
	if db, ok := e.cfg.Databases[f.Database]; ok {
		run = site.DiagnoseRun(e.cfg, db, f.Level, e.cat)
	}
	if run.Lang, err = langFlag(o.lang, run.Lang); err != nil {
		return nil, err
	}
	return run.Reanalyze(ctx, f)
}

// writeDiagnoseHTML writes rep's page in rep.Lang: --lang, when given,
// was the run's language (langFlag).
func writeDiagnoseHTML(o diagnoseOpts, rep *diagnostics.Report) error {
	return writeTo(o.html, o.stdout, "diagnosis page", func(w io.Writer) error { return diagnostics.WriteHTML(w, rep, rep.Lang, nil) })
}

func printDiagnosis(w io.Writer, r *diagnostics.Report) {
	fmt.Fprintf(w, "%s (%s) %s diagnosis at %s: %d checks ran, %d not checked, %d findings\n",
		r.Database, r.Engine, r.Level, r.At.Local().Format(time.DateTime), r.Ran, r.NotChecked, len(r.Problems(250)))
	if r.Size != nil {
		fmt.Fprintf(w, "  %s\n", diagnostics.SizeText(r.Size, r.Lang, time.Local))
	}
	if r.Facts != nil && r.Facts.Unreachable != "" {
		fmt.Fprintf(w, "  unreachable: %s\n", r.Facts.Unreachable)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRIO\tCHECK\tOBJECT\tFINDING")
	for _, f := range r.Findings {
		text := f.Finding
		if f.Suppressed {
			text += " [suppressed: " + f.SuppressedReason + "]"
		}
		if f.NotChecked {
			text += " — " + f.Details
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", f.Priority, f.Check, orDash(f.Object), oneLine(text))
	}
	tw.Flush()
	for _, fc := range r.Forecasts {
		fmt.Fprintf(w, "  forecast: %s\n", diagnostics.ForecastText(fc, r.Lang))
	}
}

func runDiagnoseHistory(ctx context.Context, o diagnoseOpts) error {
	if o.database == "" {
		return usageError("--database is required")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	docs, err := e.cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: o.database})
	if err != nil {
		return err
	}
	type entry struct {
		ID         string    `json:"id"`
		TakenAt    time.Time `json:"taken_at"`
		Level      string    `json:"level"`
		Ran        int       `json:"ran"`
		NotChecked int       `json:"not_checked"`
		Problems   int       `json:"problems"`
		Urgent     int       `json:"urgent"` // priority <= 50
	}
	var out []entry
	for _, d := range docs {
		x := entry{ID: d.ID, TakenAt: d.TakenAt}
		if r, err := diagnostics.DecodeReport(d.Body); err == nil {
			x.Level, x.Ran, x.NotChecked = r.Level, r.Ran, r.NotChecked
			x.Problems, x.Urgent = len(r.Problems(250)), len(r.Problems(50))
		}
		out = append(out, x)
	}
	if o.jsonOut {
		if out == nil {
			out = []entry{}
		}
		return printJSON(o.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintf(o.stdout, "no saved diagnosis of %s (dbopsd diagnose --save stores one)\n", o.database)
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTAKEN\tLEVEL\tRAN\tNOT CHECKED\tFINDINGS\tPRIO<=50")
	for _, x := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\n", x.ID, x.TakenAt.Local().Format(time.DateTime), x.Level, x.Ran, x.NotChecked, x.Problems, x.Urgent)
	}
	return tw.Flush()
}
