package report

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"gonum.org/v1/plot/font"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/report/chartfont"
)

// CatalogKindOf is the kind of a report's job in the catalog's job log
// ("report_monthly", "report_weekly"): the daemon reads its last success
// to know whether the report is due.
func CatalogKindOf(kind string) string { return "report_" + kind }

// Job is one run of a report block (site.ReportJob builds it from the
// policy): build, render, write, keep, and send when asked.
type Job struct {
	Kind string // Monthly or Weekly
	// Block is the report block's name. Its jobs are recorded under it
	// (the job's database), so that each block's schedule reads its own
	// last success.
	Block     string
	Period    string // "2026-11" or "2026-W48"; "" the last complete one
	Now       time.Time
	Loc       *time.Location
	Site      string
	PerDB     bool // one report per database rather than one for the site
	Databases []DB
	Lang      i18n.Lang
	FontPath  string
	PDF       bool

	Catalog      *catalog.Catalog
	RegisterPath string
	// Anchors reads the register's anchors from the repository's storage
	// (nil: the chain is checked on its own).
	Anchors  func(ctx context.Context) ([]register.Anchor, error)
	StateDir string
	Store    history.Store // Repo nil: not kept in the repository
	Sources  Sources
	// AllDictionaries: attach every database's data dictionary.
	AllDictionaries bool

	Out     string // also write the files under Out ("" no)
	Send    bool
	Deliver DeliverOptions

	Trigger, OSUser string
	Logger          hclog.Logger
}

// Outcome is what one report of a run became.
type Outcome struct {
	Scope  string // SiteScope or a database
	Label  string
	Report *Report
	Dir    string // under the state directory
	Out    string // under Job.Out
	Doc    string // the history document's id
	Sent   bool
	Empty  bool
	PDF    string // why there is no PDF ("" there is one, or none was asked)
}

// Run runs the job: every report is written under the state directory
// (and Out) and kept in the repository whether or not sending works; each
// is a row of the job log. A send that fails is retried and alerted
// (Deliver); its error is returned after everything else was done.
func (j Job) Run(ctx context.Context) ([]Outcome, error) {
	if j.Logger == nil {
		j.Logger = hclog.NewNullLogger()
	}
	if j.Now.IsZero() {
		j.Now = time.Now()
	}
	if j.Loc == nil {
		j.Loc = time.Local
	}
	period := MonthPeriod
	if j.Kind == Weekly {
		period = WeekPeriod
	}
	from, to, label, err := period(j.Period, j.Now, j.Loc)
	if err != nil {
		return nil, err
	}
	fonts, err := chartfont.Load(j.FontPath)
	if err != nil {
		return nil, err
	}
	scopes := []struct {
		name string
		dbs  []DB
	}{{SiteScope, j.Databases}}
	if j.PerDB {
		scopes = scopes[:0]
		for _, d := range j.Databases {
			scopes = append(scopes, struct {
				name string
				dbs  []DB
			}{d.Name, []DB{d}})
		}
	}
	var outcomes []Outcome
	var errs []error
	for _, sc := range scopes {
		o, err := j.one(ctx, sc.name, sc.dbs, from, to, label, fonts)
		if o != nil {
			outcomes = append(outcomes, *o)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return outcomes, errors.Join(errs...)
}

func (j Job) one(ctx context.Context, scope string, dbs []DB, from, to time.Time, label string, fonts *font.Cache) (o *Outcome, err error) {
	// A site-wide job of its block whatever the scope (Target says
	// which): its last success says when the block's report was last made.
	id, err := j.Catalog.StartJob(ctx, catalog.Job{Kind: CatalogKindOf(j.Kind), Database: j.Block, Target: scope, Trigger: j.Trigger, OSUser: j.OSUser})
	if err != nil {
		return nil, err
	}
	details := map[string]any{"report": j.Kind, "period": label}
	defer func() {
		if o != nil {
			details["dir"], details["document"], details["sent"], details["empty"] = o.Dir, o.Doc, o.Sent, o.Empty
		}
		if ferr := j.Catalog.FinishJob(context.WithoutCancel(ctx), id, "", 0, err, details); ferr != nil && err == nil {
			err = ferr
		}
	}()
	site := j.Site
	if scope != SiteScope {
		site = j.Site + " " + scope
	}
	in := Input{Kind: j.Kind, Site: site, From: from, To: to, Label: label, Databases: dbs, Catalog: j.Catalog,
		RegisterPath: j.RegisterPath, Sources: j.Sources, Now: j.Now, AllDictionaries: j.AllDictionaries}
	if j.Anchors != nil {
		in.Anchors, in.AnchorsErr = j.Anchors(ctx)
	}
	r, err := Build(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("building the %s report %s: %w", j.Kind, label, err)
	}
	x, err := Render(r, Options{Lang: j.Lang, Loc: j.Loc, Fonts: fonts, PDF: j.PDF})
	if err != nil {
		return nil, err
	}
	o = &Outcome{Scope: scope, Label: label, Report: r, Empty: r.Empty, PDF: x.PDFNote}
	if j.Out != "" {
		o.Out = j.Out
		if scope != SiteScope {
			o.Out = filepath.Join(j.Out, scope)
		}
		if err := x.WriteDir(o.Out); err != nil {
			return o, err
		}
	}
	if j.StateDir != "" {
		if o.Dir, o.Doc, err = Keep(ctx, j.Store, j.StateDir, scope, r, x); err != nil {
			return o, err
		}
	}
	if j.Send {
		if err := Deliver(ctx, x, j.Kind, label, j.Deliver); err != nil {
			return o, fmt.Errorf("sending the %s report %s: %w", j.Kind, label, err)
		}
		o.Sent = true
	}
	j.Logger.Info("report done", "report", j.Kind, "period", label, "scope", scope, "dir", o.Dir, "sent", o.Sent, "empty", o.Empty)
	return o, nil
}

// AlertEvent is the notify event of a report kind.
func AlertEvent(kind string) string {
	if kind == Weekly {
		return config.EventWeeklySummary
	}
	return config.EventMonthlyReport
}
