package mysql

import (
	"math/big"

	"github.com/dbopsd/dbopsd/engines"
)

// A differential may store a table's parts as the rows changed since the
// full (repository/rows.go), part by part: a row must stay in the part of
// the same name. Key ranges are multiples of a power-of-two step
// (keyrange.go), and a table that grew past a power of two would change its
// step and move most rows to other parts. So the full records each split
// table's step in its snapshot, and a differential cuts at the same step.

const stepMetaPrefix = "split_step/"

// baseStep is the step the generation's full cut table at, if it did.
func (b *backupRun) baseStep(table string) *big.Int {
	if b.base == nil {
		return nil
	}
	s, ok := b.base.Meta[stepMetaPrefix+table]
	if !ok {
		return nil
	}
	step, ok := new(big.Int).SetString(s, 10)
	if !ok || step.Sign() <= 0 {
		return nil
	}
	return step
}

// splitKeys cuts [lo, hi] at step (the full's, if it has one) and returns
// the ranges and the step it cut at (nil: one range, lo and hi say so).
// The full's step is given up when it would make more than four times the
// parts planned (keys far beyond the full's, which would give mostly empty
// parts): the rows then move, and their parts go as chunks.
func (b *backupRun) splitKeys(lo, hi, step *big.Int, parts int) ([]keyRange, *big.Int) {
	if lo.Cmp(hi) >= 0 {
		return []keyRange{{}}, nil
	}
	ranges := splitAt(lo, hi, step)
	if len(ranges) > 4*max(parts, 2) && parts >= 2 {
		b.log.Info("the full's key ranges would cut the table into mostly empty parts: cutting anew", "ranges", len(ranges), "parts", parts)
		step = splitStep(lo, hi, parts)
		ranges = splitAt(lo, hi, step)
	}
	return ranges, step
}

func (b *backupRun) recordSteps(snap *engines.Snapshot) {
	for t, s := range b.steps {
		snap.Meta[stepMetaPrefix+t] = s
	}
}
