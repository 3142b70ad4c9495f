package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/report/chartfont"
	"github.com/dbopsd/dbopsd/site"
)

type reportOpts struct {
	globals
	kind     string // report.Monthly or report.Weekly
	period   string // --month or --week
	database string
	out      string
	send     bool
	language string
	block    string
	noPDF    bool
}

func reportMonthlyCmd() command { return reportCmd(report.Monthly, "month", "2026-11") }

func reportWeeklyCmd() command { return reportCmd(report.Weekly, "week", "2026-W48") }

func reportCmd(kind, periodFlag, example string) command {
	o := reportOpts{kind: kind}
	what := map[string]string{report.Monthly: "the monthly report on the databases' condition (每月运行状况报告)",
		report.Weekly: "the weekly inspection summary (每周巡检汇总)"}[kind]
	return command{
		name: "report " + kind,
		summary: "Build " + what + " from the catalog, the restore register and\n" +
			"what the diagnostics and the dictionary stored, for the last complete " + periodFlag + " in daemon.timezone\n" +
			"(or --" + periodFlag + "). It is always written under the state directory (reports/) and kept in the\n" +
			"repository; --out DIR also writes the HTML, its PNG charts and its attachments (CSV, xlsx, PDF\n" +
			"when Chromium is installed) under DIR; --send mails it to the report block's notify blocks.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.period, periodFlag, "", "the "+periodFlag+" to report, e.g. "+example+" (default: the last complete one)")
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.out, "out", "", "also write the report's files under this directory")
			fs.BoolVar(&o.send, "send", false, "send it to the report block's notify blocks")
			fs.StringVar(&o.language, "language", "", "zh-CN or en (default: the report block's language)")
			fs.StringVar(&o.block, "report", "", "the report block to use (default: the first of this kind, by name)")
			fs.BoolVar(&o.noPDF, "no-pdf", false, "attach no PDF even when Chromium is installed")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runReport(ctx, o)
			}
		},
	}
}

// reportBlock is the block the command runs: --report, else the first of
// its kind; without one, a report of every database with the defaults
// (it can be written, not sent).
func reportBlock(cfg *config.Config, kind, name string) (*config.Report, error) {
	if name != "" {
		r, ok := cfg.Reports[name]
		if !ok {
			return nil, usageError("no report %q in the policy (defined: %v)", name, slices.Sorted(maps.Keys(cfg.Reports)))
		}
		return r, nil
	}
	for _, n := range slices.Sorted(maps.Keys(cfg.Reports)) {
		if r := cfg.Reports[n]; r.Kind == kind {
			return r, nil
		}
	}
	return &config.Report{Name: kind, Schedule: kind, Language: config.DefaultLanguage,
		ReportPolicy: config.ReportPolicy{Kind: kind, Per: config.ReportPerSite, Site: "dbopsd", Font: chartfont.DefaultFontPath}}, nil
}

func runReport(ctx context.Context, o reportOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	rep, err := reportBlock(e.cfg, o.kind, o.block)
	if err != nil {
		return err
	}
	if o.database != "" {
		if _, err := e.cfg.Database(o.database); err != nil {
			return err
		}
	}
	if o.send && len(rep.Notify) == 0 {
		return usageError("report %q has no notify blocks to send to", rep.Name)
	}
	run := site.Run{Catalog: e.cat, Trigger: "cli", OSUser: osUser(), Logger: e.logger}
	if repo, err := e.openRepo(ctx, ""); err != nil {
		e.logger.Warn("the report is kept under the state directory only: the repository did not open", "error", err)
	} else {
		run.Repo = repo
	}
	job, err := site.ReportJob(e.cfg, rep, o.period, o.database, o.language, run)
	if err != nil {
		return usageError("%v", err)
	}
	job.StateDir = filepath.Dir(e.cat.Path())
	job.Out, job.Send, job.PDF = o.out, o.send, !o.noPDF
	outcomes, err := job.Run(ctx)
	if o.jsonOut {
		type row struct {
			Scope    string `json:"scope"`
			Period   string `json:"period"`
			Dir      string `json:"dir"`
			Out      string `json:"out,omitempty"`
			Document string `json:"document,omitempty"`
			Sent     bool   `json:"sent"`
			Empty    bool   `json:"empty"`
			PDF      string `json:"pdf_note,omitempty"`
		}
		rows := []row{}
		for _, oc := range outcomes {
			rows = append(rows, row{oc.Scope, oc.Label, oc.Dir, oc.Out, oc.Doc, oc.Sent, oc.Empty, oc.PDF})
		}
		if perr := printJSON(o.stdout, rows); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	for _, oc := range outcomes {
		where := oc.Dir
		if oc.Out != "" {
			where = oc.Out
		}
		scope := ""
		if oc.Scope != report.SiteScope {
			scope = " of " + oc.Scope
		}
		fmt.Fprintf(o.stdout, "%s report %s%s: %s", o.kind, oc.Label, scope, where)
		if oc.Sent {
			fmt.Fprint(o.stdout, ", sent")
		}
		if oc.Empty {
			fmt.Fprint(o.stdout, " (no data for this period)")
		}
		fmt.Fprintln(o.stdout)
		if oc.PDF != "" {
			fmt.Fprintln(o.stdout, "  "+oc.PDF)
		}
	}
	return err
}
