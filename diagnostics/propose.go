package diagnostics

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/maintenance"
)

// Proposer proposes table maintenance from the findings of a database's
// newest monthly diagnosis stored in Catalog (the checks that call for it
// run monthly): table bloat → VACUUM (ANALYZE), or VACUUM FULL when half
// the table is reclaimable (PostgreSQL), OPTIMIZE TABLE (MariaDB); an
// invalid index → REINDEX INDEX CONCURRENTLY; an unused or duplicate index
// → DROP INDEX (CONCURRENTLY); a table never analysed → ANALYZE. A
// suppressed finding proposes nothing: a DBA has said it is wanted. A
// database without a monthly diagnosis gets no proposals, not an error.
//
// Each proposal names its finding as FindingID: the snapshot's id, the
// check and the object, which `dbopsd findings` lists too.
type Proposer struct {
	Catalog *catalog.Catalog
}

var _ maintenance.Proposer = Proposer{}

const (
	// fullShare: from this share of reclaimable space a VACUUM FULL is
	// worth its exclusive lock; below it a VACUUM makes the space reusable.
	fullShare = 50
	// monthlyLookback is how far back the newest monthly diagnosis is
	// looked for among the snapshots.
	monthlyLookback = 62 * 24 * time.Hour
)

// FindingID is how a proposal names the finding behind it.
func FindingID(snapshot string, f Finding) string {
	return snapshot + "/" + f.Check + "/" + f.Object
}

// LatestMonthly returns the newest stored monthly diagnosis of database
// and its snapshot id; nil when there is none in the last two months.
func LatestMonthly(ctx context.Context, cat *catalog.Catalog, database string, now time.Time) (*Report, string, error) {
	list, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindDiagnosis, Database: database,
		Since: now.Add(-monthlyLookback), WithoutBody: true})
	if err != nil {
		return nil, "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		d, ok, err := cat.Document(ctx, history.KindDiagnosis, database, list[i].ID)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		r, err := DecodeReport(d.Body)
		if err != nil {
			return nil, "", fmt.Errorf("diagnosis %s of %s: %w", d.ID, database, err)
		}
		if r.Level == diagmodel.Monthly {
			return r, d.ID, nil
		}
	}
	return nil, "", nil
}

// Propose implements maintenance.Proposer.
func (p Proposer) Propose(ctx context.Context, t maintenance.Target) ([]maintenance.Proposal, error) {
	if p.Catalog == nil || t.Database == nil {
		return nil, nil
	}
	r, snapshot, err := LatestMonthly(ctx, p.Catalog, t.Database.Name, time.Now())
	if err != nil || r == nil {
		return nil, err
	}
	tables := map[string]diagmodel.Table{}
	indexes := map[string]diagmodel.Index{}
	if r.Facts != nil {
		for _, x := range r.Facts.Tables {
			tables[tableName(x.Schema, x.Name)] = x
		}
		for _, x := range r.Facts.Indexes {
			indexes[indexName(x)] = x
		}
	}
	engine := t.Database.Engine
	var out []maintenance.Proposal
	done := map[string]bool{} // operations already proposed
	vacuumed := map[string]bool{}
	add := func(pr maintenance.Proposal, f Finding) error {
		key := pr.Operation.String()
		if done[key] {
			return nil
		}
		done[key] = true
		stmt, err := t.Engine.MaintenanceStatement(pr.Operation)
		if err != nil {
			return fmt.Errorf("proposing %s for %s: %w", pr.Operation, t.Database.Name, err)
		}
		pr.Database, pr.Statement, pr.Source = t.Database.Name, stmt, "diagnosis"
		pr.Finding = FindingID(snapshot, f)
		pr.Reason = fmt.Sprintf("%s (%s, diagnosis of %s)", f.Message.Text(i18n.EN), f.Check, r.At.UTC().Format(time.DateOnly))
		out = append(out, pr)
		return nil
	}
	// Bloat first: a VACUUM (ANALYZE) or OPTIMIZE also refreshes the
	// statistics, so a table it covers needs no ANALYZE of its own.
	for _, f := range r.Findings {
		if f.NotChecked || f.Suppressed || f.Check != "table-bloat" {
			continue
		}
		x, ok := tables[f.Object]
		if !ok {
			continue
		}
		pr, ok := bloatProposal(engine, x)
		if !ok {
			continue
		}
		vacuumed[f.Object] = true
		if err := add(pr, f); err != nil {
			return nil, err
		}
	}
	for _, f := range r.Findings {
		if f.NotChecked || f.Suppressed {
			continue
		}
		var pr maintenance.Proposal
		switch f.Check {
		case "never-analyzed":
			x, ok := tables[f.Object]
			if !ok || vacuumed[f.Object] {
				continue
			}
			pr = maintenance.Proposal{Object: f.Object, Operation: maintmodel.Operation{Op: maintmodel.Analyze, Table: ref(x.Schema, x.Name)},
				Bytes: x.Bytes, Gain: "planner statistics where there were none",
				Lock:    "SHARE UPDATE EXCLUSIVE (reads and writes go on; DDL waits)",
				LockFor: maintenance.Estimate(min(x.DataBytes, maintenance.AnalyzeSampleBytes), maintenance.ScanRate), Online: true}
		case "invalid-index":
			x, ok := indexes[f.Object]
			if !ok || engine != "postgres" {
				continue
			}
			pr = maintenance.Proposal{Object: f.Object, Operation: maintmodel.Operation{Op: maintmodel.Reindex, Table: ref(x.Schema, x.Table), Index: x.Name},
				Bytes: x.Bytes, Gain: "the index is built again and used by queries (an invalid index is maintained on every write but never read)",
				Lock:    "SHARE UPDATE EXCLUSIVE on the table (reads and writes go on) while the index is built; brief exclusive locks to swap it in",
				LockFor: maintenance.Estimate(tables[tableName(x.Schema, x.Table)].DataBytes, maintenance.ScanRate), Online: true}
		case "unused-index", "duplicate-index":
			x, ok := indexes[f.Object]
			if !ok || x.Primary {
				continue
			}
			pr = maintenance.Proposal{Object: f.Object, Operation: maintmodel.Operation{Op: maintmodel.DropIndex, Table: ref(x.Schema, x.Table), Index: x.Name},
				Bytes: x.Bytes, GainBytes: x.Bytes,
				Gain:    fmt.Sprintf("%s back and one index less to maintain on every write", humanize.Bytes(x.Bytes)),
				LockFor: time.Second, Online: true}
			switch engine {
			case "postgres":
				pr.Lock = "DROP INDEX CONCURRENTLY: waits for transactions using the table, blocks no reads or writes"
			default:
				pr.Lock = "a brief exclusive metadata lock (InnoDB drops a secondary index in place)"
			}
		default:
			continue
		}
		if err := add(pr, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bloatProposal is what table x's bloat calls for on engine.
func bloatProposal(engine string, x diagmodel.Table) (maintenance.Proposal, bool) {
	if m := x.Measured; m != nil { // the measured figure over the estimate, as table-bloat
		x.BloatBytes = m.Bytes
	}
	op := maintmodel.Operation{Table: ref(x.Schema, x.Name)}
	name := tableName(x.Schema, x.Name)
	share := 100 * float64(x.BloatBytes) / float64(max(x.DataBytes, x.BloatBytes, 1))
	switch {
	case engine == "postgres" && share >= fullShare:
		op.Op = maintmodel.VacuumFull
		return maintenance.Proposal{Object: name, Operation: op, Bytes: x.Bytes, GainBytes: x.BloatBytes,
			Gain:    fmt.Sprintf("about %s back to the file system (%.0f %% of the table), indexes rebuilt", humanize.Bytes(x.BloatBytes), share),
			Lock:    "ACCESS EXCLUSIVE (no reads or writes) for the whole rewrite; needs free space for a copy of the table",
			LockFor: maintenance.Estimate(x.Bytes, maintenance.RewriteRate), Online: false}, true
	case engine == "postgres":
		op.Op = maintmodel.Vacuum
		return maintenance.Proposal{Object: name, Operation: op, Bytes: x.Bytes,
			Gain:    fmt.Sprintf("about %s made reusable and statistics refreshed; the file does not shrink", humanize.Bytes(x.BloatBytes)),
			Lock:    "SHARE UPDATE EXCLUSIVE (reads and writes go on; DDL waits)",
			LockFor: maintenance.Estimate(x.Bytes, maintenance.ScanRate), Online: true}, true
	case engine == "mysql":
		op.Op = maintmodel.Optimize
		return maintenance.Proposal{Object: name, Operation: op, Bytes: x.Bytes, GainBytes: x.BloatBytes,
			Gain:    fmt.Sprintf("up to %s of DATA_FREE back to the file system", humanize.Bytes(x.BloatBytes)),
			Lock:    "InnoDB online rebuild: an exclusive metadata lock briefly at start and end, shared meanwhile; needs free space for a copy of the table",
			LockFor: maintenance.Estimate(x.Bytes, maintenance.RewriteRate), Online: true}, true
	}
	return maintenance.Proposal{}, false
}

func ref(schema, name string) engines.TableRef { return engines.TableRef{Schema: schema, Name: name} }
