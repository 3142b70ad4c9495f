package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/reconcile"
)

// KindReconcile is the job kind of a reconciliation in the catalog and the
// daemon; its jobs carry the reconcile block's name as their database.
const KindReconcile = "reconcile"

// ReconcileSpec builds the reconciliation r of the policy: each side's
// engine and connection from its database block.
func ReconcileSpec(cfg *config.Config, r *config.Reconcile) (reconcile.Spec, error) {
	spec := reconcile.Spec{Name: r.Name, Key: r.Key, Columns: r.Columns, Where: r.Where, RateLimit: r.RateLimit,
		StatementTimeout: r.StatementTimeout, Samples: r.Samples}
	for _, s := range []struct {
		cs  config.ReconcileSide
		dst *reconcile.Side
	}{{r.Left, &spec.Left}, {r.Right, &spec.Right}} {
		db, err := cfg.Database(s.cs.Database)
		if err != nil {
			return reconcile.Spec{}, fmt.Errorf("reconcile %q: %w", r.Name, err)
		}
		e, err := Engine(db.Engine)
		if err != nil {
			return reconcile.Spec{}, fmt.Errorf("reconcile %q: database %s: %w", r.Name, db.Name, err)
		}
		*s.dst = reconcile.Side{Name: db.Name, Engine: e, Conn: SourceConn(cfg, db), Table: s.cs.Table}
	}
	return spec, nil
}

// Reconciled is a reconciliation's outcome with the run before it.
type Reconciled struct {
	Result *reconcile.Result
	// Previous is the run before this one (nil for the first).
	Previous *catalog.Reconciliation
}

// Reconcile runs the reconciliation r and records it in the catalog: its
// result for `reconcile show`, and a job of kind KindReconcile. The error
// wraps a *reconcile.DifferencesError when the tables differ (its message
// says whether there are more than at the previous run), and wraps
// catalog.ErrNotRun when the comparison could not run.
func Reconcile(ctx context.Context, cfg *config.Config, r *config.Reconcile, run Run) (Reconciled, error) {
	var out Reconciled
	cat := run.Catalog
	prev, err := cat.Reconciliations(ctx, r.Name, 1)
	if err != nil {
		return out, err
	}
	if len(prev) > 0 {
		out.Previous = &prev[0]
	}
	id, err := cat.StartJob(ctx, catalog.Job{Kind: KindReconcile, Database: r.Name, Trigger: run.Trigger, OSUser: run.OSUser})
	if err != nil {
		return out, err
	}
	spec, err := ReconcileSpec(cfg, r)
	var res *reconcile.Result
	if err == nil {
		res, err = reconcile.Run(ctx, spec)
	}
	var de *reconcile.DifferencesError
	switch {
	case errors.As(err, &de):
		err = fmt.Errorf("%w%s", err, growth(res, out.Previous))
	case err != nil:
		err = fmt.Errorf("%w: %w", catalog.ErrNotRun, err)
	}
	if log := run.Logger; log != nil && res != nil && res.Status != reconcile.StatusFailed {
		// A failure is the caller's to report; what was compared is logged
		// here, once, for the daemon's log.
		log.Named("reconcile").Info("reconciliation done", "reconcile", r.Name, "status", res.Status,
			"missing_left", res.MissingLeft, "missing_right", res.MissingRight, "different", res.Different,
			"left_rows", res.Left.Rows, "right_rows", res.Right.Rows, "network_bytes", res.NetworkBytes, "seconds", res.Duration)
	}
	bctx := context.WithoutCancel(ctx)
	if res != nil {
		out.Result = res
		b, jerr := json.Marshal(res)
		if jerr != nil {
			return out, jerr
		}
		if _, rerr := cat.RecordReconciliation(bctx, catalog.Reconciliation{Name: r.Name, Started: res.Started, Finished: res.Finished,
			Status: res.Status, MissingLeft: res.MissingLeft, MissingRight: res.MissingRight, Different: res.Different,
			NetworkBytes: res.NetworkBytes, Result: b}); rerr != nil && err == nil {
			err = rerr
		}
	}
	details := map[string]any{}
	var bytes int64
	if res != nil {
		details["missing_left"], details["missing_right"], details["different"] = res.MissingLeft, res.MissingRight, res.Different
		bytes = res.NetworkBytes
	}
	if ferr := cat.FinishJob(bctx, id, "", bytes, err, details); ferr != nil && err == nil {
		err = ferr
	}
	return out, err
}

// growth says how a run's differences compare with the previous run's, in
// one of two wordings: the alert for differences is sent when they appear
// and again when the wording changes (its counts aside), so that it goes
// out when they grow, not at every run that finds the same.
func growth(res *reconcile.Result, prev *catalog.Reconciliation) string {
	var before int64 // none compared before: 0
	if prev != nil && prev.Status != reconcile.StatusFailed {
		before = prev.Total()
	}
	if res.Total() > before {
		return fmt.Sprintf("; more than the previous run (%d)", before)
	}
	return fmt.Sprintf("; not more than the previous run (%d)", before)
}
