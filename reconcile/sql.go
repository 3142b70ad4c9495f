package reconcile

import (
	"fmt"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
)

// Dialect is what an engine writes its own way. BucketsSQL and RowsSQL
// assemble the statements from it, so that the two sides of a
// reconciliation differ only where their SQL must.
type Dialect struct {
	// Table quotes a table name, Ident a column name.
	Table func(engines.TableRef) string
	Ident func(string) string
	// Value renders the column col (quoted) as normalised text under e's
	// kind (see Kind), NULL for NULL.
	Value func(col string, e Expr) string
	// Concat concatenates never-NULL text expressions.
	Concat func(parts []string) string
	// Hash60 turns 15 hex digits (an expression) into a non-negative
	// integer.
	Hash60 func(hex string) string
	// NullMark and Sep are the SQL literals of U+001E and U+001F (see
	// encode).
	NullMark, Sep string
	// SumText renders the sum of an integer expression as decimal text
	// (0 or NULL for no rows).
	SumText func(expr string) string
	// IntText renders an integer expression as decimal text.
	IntText func(expr string) string
}

// Query says which rows of a table a statement reads and how.
type Query struct {
	Table   engines.TableRef
	Key     []Expr
	Columns []Expr
	// Where is the reconciliation's own filter ("" for none), the same on
	// both sides.
	Where string
	// Prefixes limits the statement to rows whose key hash starts with one
	// of them (all of one length); none: every row.
	Prefixes []string
	// Depth is the length of the key-hash prefix that Buckets groups by.
	Depth int
	// IntKey groups by the key itself, one integer column: its value
	// modulo 256^(Depth/2), which Buckets returns in decimal and the
	// caller turns into the prefix (IntPrefix). Cheaper for the servers
	// than an MD5 of every key, and as even for the usual serial keys.
	IntKey bool
}

// MaxIntDepth is the deepest prefix an integer key is grouped by: 7 bytes,
// so that 256^7 fits a signed 64-bit integer on both engines.
const MaxIntDepth = 14

// intGroup is the integer key's value modulo 256^bytes, made non-negative
// the same way on both engines (mod keeps the dividend's sign on both).
func intGroup(d Dialect, q Query, bytes int) string {
	m := fmt.Sprint(uint64(1) << (8 * bytes))
	k := d.Ident(q.Key[0].Name)
	return fmt.Sprintf("MOD(MOD(%s, %s) + %s, %s)", k, m, m, m)
}

// IntPrefix is the prefix of an integer key's group n at depth digits: its
// bytes from the lowest up, in hex, so that a group's prefix starts with
// its parent's, as the key hash's prefixes do.
func IntPrefix(n uint64, depth int) string {
	var b strings.Builder
	for i := 0; i < depth/2; i++ {
		fmt.Fprintf(&b, "%02x", byte(n>>(8*i)))
	}
	return b.String()
}

// intOf reads IntPrefix back.
func intOf(prefix string) uint64 {
	var n uint64
	for i := 0; i+1 < len(prefix); i += 2 {
		var v byte
		fmt.Sscanf(prefix[i:i+2], "%02x", &v)
		n |= uint64(v) << (8 * (i / 2))
	}
	return n
}

// encode renders one value for a row's hash: the value, or the NullMark
// (U+001E) for NULL, so that NULL differs from the empty string and from
// the text NULL. Values are separated by Sep (U+001F). Neither control
// character occurs in the data these tables hold; a value that held them
// could only hide a difference from the hash, never invent one, and rows
// are compared value by value once fetched.
func encode(d Dialect, e Expr) string {
	return fmt.Sprintf("COALESCE(%s, %s)", d.Value(d.Ident(e.Name), e), d.NullMark)
}

func joined(d Dialect, es []Expr) string {
	var parts []string
	for i, e := range es {
		if i > 0 {
			parts = append(parts, d.Sep)
		}
		parts = append(parts, encode(d, e))
	}
	return d.Concat(parts)
}

// keyHash is the MD5 of the row's normalised key, in hex.
func keyHash(d Dialect, q Query) string { return "MD5(" + joined(d, q.Key) + ")" }

func (q Query) where(d Dialect) string {
	var conds []string
	if strings.TrimSpace(q.Where) != "" {
		conds = append(conds, "("+q.Where+")")
	}
	if len(q.Prefixes) > 0 && q.Prefixes[0] != "" && q.IntKey {
		nums := make([]string, len(q.Prefixes))
		for i, p := range q.Prefixes {
			nums[i] = fmt.Sprint(intOf(hexOnly(p)))
		}
		conds = append(conds, fmt.Sprintf("%s IN (%s)", intGroup(d, q, len(q.Prefixes[0])/2), strings.Join(nums, ", ")))
	} else if len(q.Prefixes) > 0 && q.Prefixes[0] != "" {
		lits := make([]string, len(q.Prefixes))
		for i, p := range q.Prefixes {
			lits[i] = "'" + hexOnly(p) + "'"
		}
		conds = append(conds, fmt.Sprintf("SUBSTR(%s, 1, %d) IN (%s)", keyHash(d, q), len(q.Prefixes[0]), strings.Join(lits, ", ")))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// hexOnly keeps a prefix to hex digits: prefixes come from the servers'
// answers and are written into statements.
func hexOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') {
			return r
		}
		return -1
	}, strings.ToLower(s))
}

// BucketsSQL returns, per group of rows sharing the first q.Depth digits of
// their key hash (with IntKey: the key modulo 256^(Depth/2), in decimal):
// the prefix, the row count, and the sum of a 60-bit hash of
// each normalised row (digits 18 to 32 of its MD5) as text.
func BucketsSQL(d Dialect, q Query) string {
	row := d.Concat([]string{joined(d, q.Key), d.Sep, joined(d, q.Columns)})
	if len(q.Columns) == 0 {
		row = joined(d, q.Key)
	}
	group := fmt.Sprintf("SUBSTR(%s, 1, %d)", keyHash(d, q), q.Depth)
	if q.IntKey {
		group = intGroup(d, q, q.Depth/2)
	}
	b := group
	if q.IntKey {
		b = d.IntText(group)
	}
	return fmt.Sprintf("SELECT %s AS b, COUNT(*) AS n, %s AS s FROM %s%s GROUP BY %s",
		b, d.SumText(d.Hash60(fmt.Sprintf("SUBSTR(MD5(%s), 18, 15)", row))),
		d.Table(q.Table), q.where(d), group)
}

// RowsSQL returns the normalised key columns, then the normalised compared
// columns, of the rows q selects.
func RowsSQL(d Dialect, q Query) string {
	var cols []string
	for _, e := range append(append([]Expr(nil), q.Key...), q.Columns...) {
		cols = append(cols, d.Value(d.Ident(e.Name), e))
	}
	return fmt.Sprintf("SELECT %s FROM %s%s", strings.Join(cols, ", "), d.Table(q.Table), q.where(d))
}
