package reconcile

import (
	"fmt"
	"strings"
)

// Kind is how a column's values are normalised, so that equal data on two
// engines renders as the same text (the README lists these rules):
//
//   - integers: decimal digits, sign only when negative;
//   - decimals: at the larger of the two columns' scales (10.5 at scale 2
//     and 10.500 at scale 3 both render 10.500), so a different scale alone
//     is no difference; an integer column compared with a decimal one is
//     read as a decimal;
//   - text: the characters in UTF-8, trailing spaces kept (CHAR columns
//     drop their padding as both engines do);
//   - bytes: lower-case hex;
//   - booleans: 1 or 0 (MySQL's TINYINT(1) and BIT(1) are booleans);
//   - dates: YYYY-MM-DD; times of day: HH:MM:SS.ffffff;
//   - timestamps: YYYY-MM-DD HH:MM:SS.ffffff in UTC, to the microsecond; a
//     timestamp without time zone is read as UTC;
//   - NULL is NULL, distinct from the empty string and from the text NULL.
//
// Floating-point columns are compared nowhere (they are not exact), nor are
// JSON, arrays, geometry and other types without an exact text form: a
// reconciliation names them in its result, with why.
type Kind int

// The kinds. KindOther and KindInexact cannot be compared.
const (
	KindOther Kind = iota
	KindInexact
	KindInteger
	KindDecimal
	KindText
	KindBytes
	KindBool
	KindDate
	KindTime
	KindTimestamp
)

var kindNames = map[Kind]string{
	KindOther: "other", KindInexact: "floating point", KindInteger: "integer", KindDecimal: "decimal",
	KindText: "text", KindBytes: "bytes", KindBool: "boolean", KindDate: "date", KindTime: "time",
	KindTimestamp: "timestamp",
}

func (k Kind) String() string { return kindNames[k] }

// Comparable reports whether values of kind k have an exact normal form.
func (k Kind) Comparable() bool { return k != KindOther && k != KindInexact }

// Column is a column of a table as an adapter describes it.
type Column struct {
	Name string
	Type string // the engine's name of the type, for messages
	Kind Kind
	// Scale is a decimal's digits after the point; -1 when the type does
	// not fix it (PostgreSQL's numeric without a scale).
	Scale int
}

// Expr is a column as a statement renders it: under its kind and, for
// decimals, at a scale both sides share.
type Expr struct {
	Name  string
	Kind  Kind
	Scale int // decimals: digits after the point; -1: as stored, trailing zeros trimmed
}

// Skipped is a column that is not compared, and why.
type Skipped struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// plan is what both sides compare: the key and the columns, as each side
// renders them.
type plan struct {
	key, cols           []string
	leftKey, rightKey   []Expr
	leftCols, rightCols []Expr
	skipped             []Skipped
}

// makePlan matches the two tables' columns. Key columns must exist on both
// sides with comparable kinds. columns, when given, lists the columns to
// compare (each must exist on both sides); otherwise every column is,
// and those on one side only are named as not compared.
func makePlan(left, right []Column, key, columns []string) (*plan, error) {
	find := func(cs []Column, name string) (Column, bool) {
		for _, c := range cs {
			if strings.EqualFold(c.Name, name) {
				return c, true
			}
		}
		return Column{}, false
	}
	p := &plan{key: key}
	isKey := map[string]bool{}
	for _, k := range key {
		l, lok := find(left, k)
		r, rok := find(right, k)
		switch {
		case !lok && !rok:
			return nil, fmt.Errorf("key column %q exists on neither side", k)
		case !lok:
			return nil, fmt.Errorf("key column %q does not exist on the left side", k)
		case !rok:
			return nil, fmt.Errorf("key column %q does not exist on the right side", k)
		}
		le, re, why := pair(l, r)
		if why != "" {
			return nil, fmt.Errorf("key column %q cannot be compared: %s", k, why)
		}
		p.leftKey, p.rightKey = append(p.leftKey, le), append(p.rightKey, re)
		isKey[strings.ToLower(k)] = true
	}
	names := columns
	if len(names) == 0 {
		for _, c := range left {
			names = append(names, c.Name)
		}
		for _, c := range right {
			if _, ok := find(left, c.Name); !ok {
				names = append(names, c.Name)
			}
		}
	}
	for _, n := range names {
		if isKey[strings.ToLower(n)] {
			continue
		}
		l, lok := find(left, n)
		r, rok := find(right, n)
		if !lok || !rok {
			side := "left"
			if lok {
				side = "right"
			}
			if len(columns) > 0 {
				return nil, fmt.Errorf("column %q does not exist on the %s side", n, side)
			}
			p.skipped = append(p.skipped, Skipped{Column: n, Reason: "only on the " + other(side) + " side"})
			continue
		}
		le, re, why := pair(l, r)
		if why != "" {
			p.skipped = append(p.skipped, Skipped{Column: n, Reason: why})
			continue
		}
		p.cols = append(p.cols, l.Name)
		p.leftCols, p.rightCols = append(p.leftCols, le), append(p.rightCols, re)
	}
	return p, nil
}

func other(side string) string {
	if side == "left" {
		return "right"
	}
	return "left"
}

// pair decides how two columns of the same name are rendered, or why they
// cannot be compared.
func pair(l, r Column) (le, re Expr, why string) {
	le, re = Expr{Name: l.Name, Kind: l.Kind, Scale: l.Scale}, Expr{Name: r.Name, Kind: r.Kind, Scale: r.Scale}
	for _, c := range []Column{l, r} {
		if !c.Kind.Comparable() {
			return le, re, fmt.Sprintf("%s is %s, which has no exact form to compare (left %s, right %s)", c.Name, c.Kind, l.Type, r.Type)
		}
	}
	numeric := func(k Kind) bool { return k == KindInteger || k == KindDecimal }
	switch {
	case l.Kind == r.Kind && l.Kind != KindDecimal:
		return le, re, ""
	case numeric(l.Kind) && numeric(r.Kind):
		s := max(scale(l), scale(r))
		if l.Kind == KindDecimal && r.Kind == KindDecimal && l.Scale < 0 && r.Scale < 0 {
			s = -1 // neither fixes a scale: both as stored, trailing zeros trimmed
		}
		le.Kind, re.Kind, le.Scale, re.Scale = KindDecimal, KindDecimal, s, s
		return le, re, ""
	}
	return le, re, fmt.Sprintf("the types differ (left %s, right %s)", l.Type, r.Type)
}

func scale(c Column) int {
	if c.Kind == KindInteger || c.Scale < 0 {
		return 0
	}
	return c.Scale
}
