package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/site"
)

// reconcileCheckTimeout bounds how long `config validate` waits for a
// reconcile block's servers.
const reconcileCheckTimeout = 10 * time.Second

// checkReconciles is the part of `config validate` that needs the servers:
// each reconcile block's tables exist and have its key and columns. A
// missing table, key column or column is an error at the side or the
// attribute that names it; a server that does not answer is a warning,
// since a policy may be validated where its databases cannot be reached
// (it runs only with --servers).
func checkReconciles(g *globals, cfg *config.Config) error {
	if len(cfg.Reconciles) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), reconcileCheckTimeout)
	defer cancel()
	var (
		mu    sync.Mutex
		diags hcl.Diagnostics
		wg    sync.WaitGroup
	)
	add := func(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string) {
		mu.Lock()
		defer mu.Unlock()
		diags = append(diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: rng.Ptr()})
	}
	for _, r := range cfg.Reconciles {
		spec, err := site.ReconcileSpec(cfg, r)
		if err != nil {
			add(hcl.DiagError, r.Range, "Cannot build the reconciliation", err.Error()+".")
			continue
		}
		for _, s := range []struct {
			name string
			side reconcile.Side
			cs   config.ReconcileSide
		}{{"left", spec.Left, r.Left}, {"right", spec.Right, r.Right}} {
			wg.Go(func() {
				owner := fmt.Sprintf("reconcile %q: %s (table %s in database %s)", r.Name, s.name, s.cs.Table, s.cs.Database)
				cols, err := reconcile.Describe(ctx, s.side, reconcileCheckTimeout)
				switch {
				case errors.Is(err, reconcile.ErrNoTable):
					add(hcl.DiagError, s.cs.Range, "Table not found", owner+": the table does not exist.")
					return
				case errors.Is(err, reconcile.ErrNotSupported):
					add(hcl.DiagError, s.cs.Range, "Reconciliation not supported", owner+": "+err.Error()+".")
					return
				case err != nil:
					add(hcl.DiagWarning, s.cs.Range, "Table not checked", owner+": the table could not be read, so it, the key and the columns are unchecked (checked because of --servers): "+err.Error()+".")
					return
				}
				for _, p := range reconcile.CheckColumns(cols, r.Key, nil) {
					add(hcl.DiagError, r.KeyRange, "Key column not found", owner+": "+p+".")
				}
				for _, p := range reconcile.CheckColumns(cols, nil, r.Columns) {
					add(hcl.DiagError, r.ColumnsRange, "Column not found", owner+": "+p+".")
				}
			})
		}
	}
	wg.Wait()
	if len(diags) == 0 {
		return nil
	}
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Subject.Start.Byte < diags[j].Subject.Start.Byte })
	files := map[string]*hcl.File{}
	if src, err := os.ReadFile(cfg.Path); err == nil {
		files[cfg.Path] = &hcl.File{Bytes: src}
	}
	config.WriteDiagnostics(g.stderr, files, diags)
	if diags.HasErrors() {
		return &exitError{code: 1, err: fmt.Errorf("%s is not a valid policy file", g.configPath)}
	}
	return nil
}
