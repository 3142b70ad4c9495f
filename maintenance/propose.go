package maintenance

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// StatsProposer proposes maintenance from the engine's cheap statistics,
// so that the feature works before the diagnostics do. Its thresholds are
// deliberately conservative: a proposal still needs a signed approval.
type StatsProposer struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// The thresholds of StatsProposer.
const (
	// A table proposes a vacuum when at least minDead rows and deadRatio
	// of its rows are dead, a VACUUM FULL when fullRatio are dead and it
	// is at least minRewriteBytes (below that a plain vacuum suffices).
	minDead         = 1000
	deadRatio       = 0.2
	fullRatio       = 0.5
	minRewriteBytes = 1 << 20
	// A MariaDB table proposes OPTIMIZE when DATA_FREE is at least
	// freeRatio of it and at least minFreeBytes.
	freeRatio    = 0.2
	minFreeBytes = 4 << 20
	// Statistics are stale when staleRatio of the rows changed since the
	// last ANALYZE (and at least minDead), or when a table with rows was
	// never analyzed.
	staleRatio = 0.1
)

// What the estimates assume, here and where the diagnostics propose
// maintenance (diagnostics.Proposer).
const (
	// RewriteRate is the rate an estimate assumes a rewrite copies at:
	// well under a disk's sequential rate, since indexes are rebuilt too.
	RewriteRate = 50 << 20 // bytes per second
	// ScanRate is what a vacuum, an analyze or an index build is assumed
	// to read at.
	ScanRate = 200 << 20
	// AnalyzeSampleBytes bounds what ANALYZE reads (300 × the default
	// statistics target of 100 pages of 8 KiB).
	AnalyzeSampleBytes = 300 * 100 * 8192
)

// Propose implements Proposer.
func (p StatsProposer) Propose(ctx context.Context, t Target) ([]Proposal, error) {
	facts, err := t.Engine.MaintenanceFacts(ctx, t.Conn, t.DatabaseName, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the table statistics of %s: %w", t.Database.Name, err)
	}
	var out []Proposal
	for _, f := range facts {
		for _, pr := range proposeFor(t.Database.Engine, f) {
			pr.Database, pr.Source, pr.Object = t.Database.Name, "statistics", f.Table.String()
			if pr.Statement, err = t.Engine.MaintenanceStatement(pr.Operation); err != nil {
				return nil, err
			}
			out = append(out, pr)
		}
	}
	return out, nil
}

// Estimate is how long work on bytes takes at rate (bytes per second), to
// the second and at least one.
func Estimate(bytes int64, rate int64) time.Duration {
	d := time.Duration(float64(bytes) / float64(rate) * float64(time.Second))
	if d < time.Second {
		return time.Second
	}
	return d.Round(time.Second)
}

func proposeFor(engine string, f maintmodel.TableFacts) []Proposal {
	var out []Proposal
	op := func(o maintmodel.Op) maintmodel.Operation { return maintmodel.Operation{Op: o, Table: f.Table} }
	switch engine {
	case "postgres":
		total := f.Rows + f.DeadTuples
		if f.DeadTuples >= minDead && total > 0 && float64(f.DeadTuples)/float64(total) >= deadRatio {
			ratio := float64(f.DeadTuples) / float64(total)
			last := "never vacuumed"
			if !f.LastVacuum.IsZero() {
				last = "last vacuumed " + f.LastVacuum.Format(time.RFC3339)
			}
			reason := fmt.Sprintf("%d dead rows, %.0f%% of the table (%s)", f.DeadTuples, ratio*100, last)
			if ratio >= fullRatio && f.TableBytes >= minRewriteBytes {
				gain := int64(float64(f.TableBytes) * ratio)
				out = append(out, Proposal{Operation: op(maintmodel.VacuumFull), Bytes: f.TotalBytes, GainBytes: gain,
					Gain:    fmt.Sprintf("about %s back to the file system (the dead share of the table), indexes rebuilt", formatBytes(gain)),
					Lock:    "ACCESS EXCLUSIVE (no reads or writes) for the whole rewrite; needs free space for a copy of the table",
					LockFor: Estimate(f.TotalBytes, RewriteRate), Online: false, Reason: reason})
				break
			}
			out = append(out, Proposal{Operation: op(maintmodel.Vacuum), Bytes: f.TotalBytes,
				Gain: "dead rows made reusable and statistics refreshed; the file does not shrink",
				Lock: "SHARE UPDATE EXCLUSIVE (reads and writes go on; DDL waits)", LockFor: Estimate(f.TotalBytes, ScanRate),
				Online: true, Reason: reason})
		} else if f.Rows > 0 && (f.LastAnalyze.IsZero() || (f.ModifiedSinceAnalyze >= minDead && float64(f.ModifiedSinceAnalyze) >= staleRatio*float64(f.Rows))) {
			reason := "never analyzed"
			if !f.LastAnalyze.IsZero() {
				reason = fmt.Sprintf("%d rows changed since the last ANALYZE (%s)", f.ModifiedSinceAnalyze, f.LastAnalyze.Format(time.RFC3339))
			}
			out = append(out, Proposal{Operation: op(maintmodel.Analyze), Bytes: f.TotalBytes,
				Gain: "fresh planner statistics", Lock: "SHARE UPDATE EXCLUSIVE (reads and writes go on)",
				LockFor: Estimate(min(f.TableBytes, AnalyzeSampleBytes), ScanRate), Online: true, Reason: reason})
		}
	case "mysql":
		// TotalBytes holds DATA_FREE when it is the file's size, and not
		// when it comes from the statistics: compare with the larger.
		alloc := max(f.TotalBytes, f.TableBytes+f.DataFree)
		if f.DataFree >= minFreeBytes && float64(f.DataFree) >= freeRatio*float64(alloc) {
			out = append(out, Proposal{Operation: op(maintmodel.Optimize), Bytes: f.TotalBytes, GainBytes: f.DataFree,
				Gain:    fmt.Sprintf("up to %s of DATA_FREE back to the file system", formatBytes(f.DataFree)),
				Lock:    "InnoDB online rebuild: an exclusive metadata lock briefly at start and end, shared meanwhile; needs free space for a copy of the table",
				LockFor: Estimate(f.TotalBytes, RewriteRate), Online: true,
				Reason: fmt.Sprintf("DATA_FREE %s of %s allocated (%.0f%%)", formatBytes(f.DataFree), formatBytes(alloc),
					100*float64(f.DataFree)/float64(alloc))})
		}
	}
	return out
}

// formatBytes is bytes in binary units, as the rest of dbopsd prints them.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
