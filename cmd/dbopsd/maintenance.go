package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/site"
)

// The maintenance commands: propose measures the databases and stores
// what their statistics call for; list shows the stored proposals. Nothing
// here changes a database: a proposal runs only through a signed, approved
// request (request new maintenance --proposal ID).

type maintenanceOpts struct {
	globals
	database string
	lang     string
}

func maintenanceProposeCmd() command {
	var o maintenanceOpts
	return command{
		name:  "maintenance propose",
		usage: "[--database X]",
		summary: "Read each database's table statistics (dead rows, last vacuum and analyze; DATA_FREE) and the\n" +
			"findings of its newest monthly diagnosis (bloat, invalid, unused and duplicate indexes, tables never\n" +
			"analysed), store the maintenance they call for as proposals, and list them. Changes nothing.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database (default: every database of the policy)")
			fs.StringVar(&o.lang, "lang", "", "language of the listing: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runMaintenancePropose(ctx, o)
			}
		},
	}
}

func maintenanceListCmd() command {
	var o maintenanceOpts
	return command{
		name:    "maintenance list",
		usage:   "[--database X] [--json]",
		summary: "List the newest maintenance proposals of each database: statement, size, expected gain, lock and its estimated length, online or not, reason.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.lang, "lang", "", "language of the listing: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runMaintenanceList(ctx, o)
			}
		},
	}
}

func runMaintenancePropose(ctx context.Context, o maintenanceOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	var dbs []*config.Database
	for _, db := range e.cfg.Databases {
		if o.database == "" || db.Name == o.database {
			dbs = append(dbs, db)
		}
	}
	if len(dbs) == 0 {
		return usageError("database %q is not in %s", o.database, e.cfg.Path)
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name })
	repo, err := e.openRepo(ctx, "")
	if err != nil {
		return err
	}
	h := history.Store{Repo: repo, Catalog: e.cat}
	var sets []maintenance.Set
	var failed []string
	for _, db := range dbs {
		target, err := site.MaintenanceTarget(e.cfg, db)
		if err != nil {
			// An engine without maintenance is "not supported", not a failure.
			fmt.Fprintf(o.stderr, "%s: %v\n", db.Name, err)
			continue
		}
		props, err := site.MaintenanceProposals(ctx, e.cat, target)
		if err != nil {
			failed = append(failed, db.Name)
			e.logger.Error("proposing maintenance failed", "database", db.Name, "error", err)
			continue
		}
		set, err := maintenance.Save(ctx, h, maintenance.Set{Database: db.Name, Engine: db.Engine, TakenAt: time.Now(), Proposals: props})
		if err != nil {
			return err
		}
		sets = append(sets, set)
	}
	if err := printProposals(o, e.cfg, sets); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("proposing maintenance failed for %s (see the log above)", strings.Join(failed, ", "))}
	}
	return nil
}

func runMaintenanceList(ctx context.Context, o maintenanceOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	sets, err := maintenance.List(ctx, history.Store{Catalog: e.cat}, o.database, true)
	if err != nil {
		return err
	}
	return printProposals(o, e.cfg, sets)
}

func printProposals(o maintenanceOpts, cfg *config.Config, sets []maintenance.Set) error {
	if o.jsonOut {
		if sets == nil {
			sets = []maintenance.Set{}
		}
		return printJSON(o.stdout, map[string]any{"sets": sets})
	}
	lang := i18n.Lang(drill.ReportLanguage(cfg))
	if o.lang != "" {
		l, err := i18n.NormalizeLang(o.lang)
		if err != nil {
			return usageError("--lang: %v", err)
		}
		lang = l
	}
	t := func(key string, params ...string) string {
		p := i18n.Params{}
		for i := 0; i+1 < len(params); i += 2 {
			p[params[i]] = params[i+1]
		}
		return i18n.T(lang, "maintenance."+key, p)
	}
	if len(sets) == 0 {
		fmt.Fprintln(o.stdout, t("nothing_stored"))
		return nil
	}
	for _, s := range sets {
		if len(s.Proposals) == 0 {
			fmt.Fprintln(o.stdout, t("none", "database", s.Database, "taken", s.TakenAt.Local().Format("2006-01-02 15:04")))
			continue
		}
		w := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, strings.Join([]string{t("header.id"), t("header.database"), t("header.statement"), t("header.size"),
			t("header.gain"), t("header.lock"), t("header.lock_for"), t("header.online"), t("header.reason")}, "\t"))
		for _, p := range s.Proposals {
			online := t("no")
			if p.Online {
				online = t("yes")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Database, p.Statement, humanize.Bytes(p.Bytes),
				p.Gain, p.Lock, p.LockFor, online, p.Reason)
		}
		w.Flush()
		fmt.Fprintln(o.stdout, t("request_hint", "database", s.Database))
	}
	return nil
}
