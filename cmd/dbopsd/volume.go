package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/volume"
)

// The volume commands: the monthly data-volume report (数据沉聚总量,
// 按月登记数据汇总) from the daily samples the daemon records, and taking a
// sample by hand.

type volumeOpts struct {
	globals
	database string
	month    string
	csv      string
	xlsx     string
	lang     string
}

func volumeCmd() command {
	var o volumeOpts
	return command{
		name: "volume",
		summary: "Report data volume per database and table for a month (default: this month): rows and\n" +
			"bytes at month end, growth this month and over 12 months, the largest and fastest-growing\n" +
			"tables, the policy's registered tables first (按月登记数据汇总). --json, --csv FILE or\n" +
			"--xlsx FILE; text otherwise. The daemon records one sample a day.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			fs.StringVar(&o.month, "month", "", "the month, YYYY-MM (default: the current month)")
			fs.StringVar(&o.csv, "csv", "", "write the report as CSV to this file (- for stdout)")
			fs.StringVar(&o.xlsx, "xlsx", "", "write the report as an xlsx workbook to this file")
			fs.StringVar(&o.lang, "lang", "", "language: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runVolume(ctx, o)
			}
		},
	}
}

func volumeSampleCmd() command {
	var o volumeOpts
	return command{
		name:    "volume sample",
		summary: "Record today's volume sample of a database (or of every database) now, as the daemon does daily.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.StringVar(&o.database, "database", "", "only this database")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runVolumeSample(ctx, o)
			}
		},
	}
}

// registered are the policy's volume { table } blocks.
func registered(cfg *config.Config) []volume.Registered {
	var out []volume.Registered
	for _, t := range cfg.Volume.Tables {
		out = append(out, volume.Registered{Label: t.Label, Database: t.Database, Table: t.Table})
	}
	return out
}

func runVolume(ctx context.Context, o volumeOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	lang, err := dictLang(e.cfg, o.lang)
	if err != nil {
		return err
	}
	loc := e.cfg.Daemon.Location
	if loc == nil {
		loc = time.Local
	}
	month := time.Now().In(loc)
	if o.month != "" {
		if month, err = time.ParseInLocation("2006-01", o.month, loc); err != nil {
			return usageError("--month: want YYYY-MM, got %q", o.month)
		}
	}
	if o.database != "" {
		if _, err := e.cfg.Database(o.database); err != nil {
			return usageError("%v", err)
		}
	}
	until := volume.MonthStart(month, loc).AddDate(0, 1, 0)
	samples, err := volume.Load(ctx, e.cat, o.database, time.Time{}, until)
	if err != nil {
		return err
	}
	reg := registered(e.cfg)
	if o.database != "" {
		reg = slicesFilter(reg, func(r volume.Registered) bool { return r.Database == o.database })
	}
	dbs := e.cfg.DatabaseNames()
	if o.database != "" {
		dbs = []string{o.database}
	}
	r := volume.Build(samples, volume.Options{Month: month, Location: loc, Registered: reg, Lang: lang, Databases: dbs})
	if o.csv != "" {
		if err := writeOut(o.csv, o, func(f *os.File) error { return volume.WriteCSV(f, r, lang) }); err != nil {
			return err
		}
	}
	if o.xlsx != "" {
		if err := writeOut(o.xlsx, o, func(f *os.File) error { return volume.WriteXLSX(f, r, lang) }); err != nil {
			return err
		}
	}
	switch {
	case o.jsonOut:
		return volume.WriteJSON(o.stdout, r)
	case o.csv == "" && o.xlsx == "":
		return volume.WriteText(o.stdout, r, lang)
	}
	return nil
}

func slicesFilter[T any](s []T, keep func(T) bool) []T {
	var out []T
	for _, x := range s {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func writeOut(path string, o volumeOpts, fn func(*os.File) error) error {
	if path == "-" {
		return fn(os.Stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "wrote %s\n", path)
	return nil
}

func runVolumeSample(ctx context.Context, o volumeOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	names := e.cfg.DatabaseNames()
	if o.database != "" {
		if _, err := e.cfg.Database(o.database); err != nil {
			return usageError("%v", err)
		}
		names = []string{o.database}
	}
	repo, err := e.openRepo(ctx, "")
	if err != nil {
		return err
	}
	hs := history.Store{Repo: repo, Catalog: e.cat}
	var failed []string
	for _, name := range names {
		s, err := site.VolumeSample(ctx, e.cfg, e.cat, e.cfg.Databases[name], time.Now())
		if errors.Is(err, dictionary.ErrNotSupported) {
			fmt.Fprintf(o.stderr, "%s: not supported\n", name)
			continue
		}
		if err == nil {
			_, err = volume.Save(ctx, hs, s)
		}
		if err != nil {
			fmt.Fprintf(o.stderr, "%s: %v\n", name, err)
			failed = append(failed, name)
			continue
		}
		fmt.Fprintf(o.stdout, "%s: %d tables sampled\n", name, len(s.Tables))
	}
	if len(failed) > 0 {
		return fmt.Errorf("no volume sample of %s", strings.Join(failed, ", "))
	}
	return nil
}
