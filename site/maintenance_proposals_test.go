package site_test

import (
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/site"
)

// TestMergeProposals: the diagnosis's proposals are kept; the statistics'
// add only what they do not already ask for: one vacuum or rebuild per
// table (the diagnosis's), no ANALYZE where a vacuum refreshes the
// statistics anyway, no operation twice.
func TestMergeProposals(t *testing.T) {
	op := func(o maintmodel.Op, table, index string) maintmodel.Operation {
		return maintmodel.Operation{Op: o, Table: engines.TableRef{Schema: "public", Name: table}, Index: index}
	}
	diag := []maintenance.Proposal{
		{Operation: op(maintmodel.Analyze, "fresh", ""), Source: "diagnosis"},
		{Operation: op(maintmodel.VacuumFull, "orders", ""), Source: "diagnosis"},
		{Operation: op(maintmodel.DropIndex, "orders", "dup_i"), Source: "diagnosis"},
	}
	stats := []maintenance.Proposal{
		{Operation: op(maintmodel.Vacuum, "orders", ""), Source: "statistics"},   // the diagnosis's VACUUM FULL covers it
		{Operation: op(maintmodel.Analyze, "fresh", ""), Source: "statistics"},   // the same operation
		{Operation: op(maintmodel.Analyze, "events", ""), Source: "statistics"},  // new
		{Operation: op(maintmodel.Vacuum, "tickets", ""), Source: "statistics"},  // new
		{Operation: op(maintmodel.Analyze, "tickets", ""), Source: "statistics"}, // its vacuum analyses
	}
	got := site.MergeProposals(diag, stats)
	want := map[string]string{
		"vacuum_full public.orders":              "diagnosis",
		"drop_index public.orders (index dup_i)": "diagnosis",
		"analyze public.fresh":                   "diagnosis",
		"vacuum public.tickets":                  "statistics",
		"analyze public.events":                  "statistics",
	}
	if len(got) != len(want) {
		t.Errorf("%d proposals, want %d: %+v", len(got), len(want), got)
	}
	for _, p := range got {
		if src, ok := want[p.Operation.String()]; !ok || src != p.Source {
			t.Errorf("unexpected %s from %s", p.Operation, p.Source)
		}
	}
}
