package site

import (
	"context"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/maintenance"
)

// MaintenanceProposals is what `dbopsd maintenance propose` stores for
// target: the proposals of its newest monthly diagnosis (none without
// one) and those of the table statistics, without duplicates.
func MaintenanceProposals(ctx context.Context, cat *catalog.Catalog, target maintenance.Target) ([]maintenance.Proposal, error) {
	diag, err := diagnostics.Proposer{Catalog: cat}.Propose(ctx, target)
	if err != nil {
		return nil, err
	}
	stats, err := maintenance.StatsProposer{}.Propose(ctx, target)
	if err != nil {
		return nil, err
	}
	return MergeProposals(diag, stats), nil
}

// MergeProposals keeps every proposal of first and those of then that ask
// for nothing first already does. One table needs one vacuum or rebuild
// (the first list's, which names its finding), and no ANALYZE where a
// VACUUM (ANALYZE), VACUUM FULL, OPTIMIZE or rebuild refreshes the
// statistics anyway.
func MergeProposals(first, then []maintenance.Proposal) []maintenance.Proposal {
	rewrites := map[string]bool{}
	ops := map[string]bool{}
	var out []maintenance.Proposal
	keep := func(p maintenance.Proposal) {
		t := p.Operation.Table.String()
		switch {
		case ops[p.Operation.String()]:
			return
		case isRewrite(p.Operation.Op) && rewrites[t]:
			return
		case p.Operation.Op == maintmodel.Analyze && rewrites[t]:
			return
		}
		ops[p.Operation.String()] = true
		if isRewrite(p.Operation.Op) {
			rewrites[t] = true
		}
		out = append(out, p)
	}
	// Rewrites first, so that an ANALYZE of either list meets them.
	for _, list := range [][]maintenance.Proposal{first, then} {
		for _, p := range list {
			if isRewrite(p.Operation.Op) {
				keep(p)
			}
		}
	}
	for _, list := range [][]maintenance.Proposal{first, then} {
		for _, p := range list {
			if !isRewrite(p.Operation.Op) {
				keep(p)
			}
		}
	}
	return out
}

func isRewrite(op maintmodel.Op) bool {
	switch op {
	case maintmodel.Vacuum, maintmodel.VacuumFull, maintmodel.Optimize, maintmodel.Rebuild:
		return true
	}
	return false
}
