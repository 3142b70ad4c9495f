package mysql

import (
	"math/big"
)

// keyRange is a half-open range of a table's integer primary key: lo <= k <
// hi, where a nil bound is open. The zero keyRange is the whole table.
type keyRange struct {
	lo, hi *big.Int
}

func (r keyRange) where(col string) string {
	switch {
	case r.lo == nil && r.hi == nil:
		return ""
	case r.lo == nil:
		return quoteIdent(col) + " < " + r.hi.String()
	case r.hi == nil:
		return quoteIdent(col) + " >= " + r.lo.String()
	}
	return quoteIdent(col) + " >= " + r.lo.String() + " AND " + quoteIdent(col) + " < " + r.hi.String()
}

// A table is split at multiples of a power-of-two step, so that the next
// backup of a table that grew a little cuts at the same keys and its parts
// deduplicate against this one's (a differential reuses the full's step
// outright: rowdiff.go). The first range is open below and the last open
// above, so together they cover every key whatever the snapshot holds.

// splitStep is the power-of-two step that cuts [min, max] into about parts
// ranges.
func splitStep(min, max *big.Int, parts int) *big.Int {
	span := new(big.Int).Sub(max, min)
	span.Add(span, big.NewInt(1))
	want := new(big.Int).Add(span, big.NewInt(int64(parts-1)))
	want.Div(want, big.NewInt(int64(parts)))
	step := big.NewInt(1)
	for step.Cmp(want) < 0 {
		step.Lsh(step, 1)
	}
	return step
}

// splitAt cuts [min, max] at the multiples of step.
func splitAt(min, max, step *big.Int) []keyRange {
	// First boundary: the smallest multiple of step above min.
	b := new(big.Int).Div(min, step) // floor for a positive divisor
	b.Add(b, big.NewInt(1))
	b.Mul(b, step)
	var out []keyRange
	var lo *big.Int
	for b.Cmp(max) <= 0 {
		hi := new(big.Int).Set(b)
		out = append(out, keyRange{lo: lo, hi: hi})
		lo = hi
		b = new(big.Int).Add(b, step)
	}
	out = append(out, keyRange{lo: lo})
	return out
}
