package site

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/report"
)

// ReportSources are the report's sources site can feed from the catalog:
// the month's table maintenance (the maintenance job log) and each
// reconcile block's results. The report does not import maintenance or
// reconcile; these adapters translate their records into its model.
// (reportSources adds volume, schema changes and dictionaries from the
// stored documents: report_stored.go.)
func ReportSources(cfg *config.Config, cat *catalog.Catalog) report.Sources {
	return report.Sources{
		Maintenance:     maintenanceSource{cat: cat},
		Reconciliations: reconcileSource{cfg: cfg, cat: cat},
	}
}

type maintenanceSource struct{ cat *catalog.Catalog }

var _ report.MaintenanceSource = maintenanceSource{}

func (s maintenanceSource) Maintenance(ctx context.Context, database string, from, to time.Time) ([]report.MaintenanceRun, error) {
	var out []report.MaintenanceRun
	// maintenance.Month reads a calendar month; a period is one or two of
	// them (a week may straddle two).
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location()); m.Before(to); m = m.AddDate(0, 1, 0) {
		runs, err := maintenance.Month(ctx, s.cat, database, m)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.Started.Before(from) || !r.Started.Before(to) {
				continue
			}
			mr := report.MaintenanceRun{At: r.Started, Database: cmp.Or(r.Database, database), Request: r.Request,
				Operation: string(r.Operation.Op), Object: r.Operation.Table.String(), Secs: r.Duration.Seconds(),
				Outcome: r.Outcome, Error: r.Error}
			if r.Operation.Index != "" {
				mr.Object += " (" + r.Operation.Index + ")"
			}
			if r.Operation.Op == maintmodel.Comment {
				mr.Object = commentObjects(r.Comments)
			}
			if r.Before != nil {
				mr.BeforeBytes = r.Before.TotalBytes
			}
			if r.After != nil {
				mr.AfterBytes = r.After.TotalBytes
			}
			out = append(out, mr)
		}
	}
	return out, nil
}

type reconcileSource struct {
	cfg *config.Config
	cat *catalog.Catalog
}

var _ report.ReconcileSource = reconcileSource{}

func (s reconcileSource) Reconciliations(ctx context.Context, databases []string, from, to time.Time) ([]report.Reconciliation, error) {
	out := []report.Reconciliation{}
	for _, name := range slices.Sorted(maps.Keys(s.cfg.Reconciles)) {
		rc := s.cfg.Reconciles[name]
		if !slices.Contains(databases, rc.Left.Database) && !slices.Contains(databases, rc.Right.Database) {
			continue
		}
		c := report.Reconciliation{Name: name, Left: rc.Left.Database + "." + rc.Left.Table.String(), Right: rc.Right.Database + "." + rc.Right.Table.String()}
		runs, err := s.cat.Reconciliations(ctx, name, 0) // newest first
		if err != nil {
			return nil, err
		}
		for i, run := range runs {
			if !run.Started.Before(to) || run.Started.Before(from) {
				continue
			}
			c.Ran, c.At, c.Status = true, run.Started, run.Status
			c.MissingLeft, c.MissingRight, c.Different = run.MissingLeft, run.MissingRight, run.Different
			var res reconcile.Result
			if len(run.Result) > 0 {
				if err := json.Unmarshal(run.Result, &res); err != nil {
					return nil, fmt.Errorf("reading reconciliation %s of %s: %w", name, run.Started.Format(time.RFC3339), err)
				}
			}
			c.Samples = len(res.Samples.MissingLeft) + len(res.Samples.MissingRight) + len(res.Samples.Different)
			c.Error = res.Error
			// The trend is against the newest earlier run that compared
			// the tables (one that failed compared nothing).
			for _, p := range runs[i+1:] {
				if p.Status != reconcile.StatusFailed {
					c.HasPrevious, c.PreviousTotal = true, p.Total()
					break
				}
			}
			break
		}
		out = append(out, c)
	}
	return out, nil
}

// commentObjects names the tables and columns a comment run set.
func commentObjects(rs []maintmodel.CommentResult) string {
	changes := make([]maintmodel.CommentChange, len(rs))
	for i, r := range rs {
		changes[i] = r.CommentChange
	}
	return maintmodel.CommentObjects(changes)
}
