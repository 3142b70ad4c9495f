package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Defaults of a Spec.
const (
	DefaultSamples          = 20
	DefaultLeafRows         = 256
	DefaultStatementTimeout = 10 * time.Minute
)

// maxPrefixes bounds the prefixes one statement lists: both engines
// search a long IN list of constants by hash or binary search, and a
// statement reads every row whatever it lists (the key hash has no
// index), so one long list beats many short ones. A level with more
// groups to split than this groups the whole table instead. A variable
// for tests.
var maxPrefixes = 8192

// Side is one of the two tables compared.
type Side struct {
	// Name is what results and messages call the side (the policy's
	// database block); "" = Database.
	Name   string
	Engine engines.Engine
	Conn   engines.Conn
	// Database is the database on the server of Conn; "" = the one its
	// DSN names.
	Database string
	Table    engines.TableRef
}

func (s Side) label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Database
}

// Spec is one reconciliation.
type Spec struct {
	Name        string
	Left, Right Side
	Key         []string
	// Columns are the columns compared besides the key; none: all.
	Columns []string
	// Where filters the rows on both sides (SQL both engines understand).
	Where string
	// RateLimit bounds the rows each side reads per second; 0: no limit.
	RateLimit        int64
	StatementTimeout time.Duration // default DefaultStatementTimeout
	Samples          int           // sample keys per kind; default DefaultSamples
	LeafRows         int           // groups of at most this many rows are fetched; default DefaultLeafRows
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Result is what a reconciliation found.
type Result struct {
	Name     string    `json:"name"`
	Status   string    `json:"status"` // StatusMatch, StatusDifferent or StatusFailed
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at"`
	Duration float64   `json:"duration_seconds"`
	Left     SideInfo  `json:"left"`
	Right    SideInfo  `json:"right"`
	Key      []string  `json:"key"`
	Compared []string  `json:"columns_compared"`
	// NotCompared names the columns left out, with why.
	NotCompared []Skipped `json:"columns_not_compared"`
	// MissingLeft counts rows the right side has and the left lacks;
	// MissingRight the other way round.
	MissingLeft  int64 `json:"missing_left"`
	MissingRight int64 `json:"missing_right"`
	Different    int64 `json:"different"`
	// DifferentColumns counts, per column, the rows in which it differs.
	DifferentColumns map[string]int64 `json:"different_columns"`
	Samples          Samples          `json:"samples"`
	// NetworkBytes is what crossed the network, both sides, both ways.
	NetworkBytes int64  `json:"network_bytes"`
	Statements   int    `json:"statements"`
	Error        string `json:"error,omitempty"`
}

// Result statuses.
const (
	StatusMatch     = "match"
	StatusDifferent = "different"
	StatusFailed    = "failed"
)

// Total is the number of rows missing or different.
func (r *Result) Total() int64 { return r.MissingLeft + r.MissingRight + r.Different }

// SideInfo describes one side after the run.
type SideInfo struct {
	Engine   string `json:"engine"`
	Database string `json:"database"`
	Table    string `json:"table"`
	Rows     int64  `json:"rows"`
	// BytesRead and BytesWritten are this side's network traffic.
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
}

// Samples are up to Spec.Samples keys of each kind, in key order.
type Samples struct {
	MissingLeft  []string     `json:"missing_left"`
	MissingRight []string     `json:"missing_right"`
	Different    []Difference `json:"different"`
}

// Difference is a row present on both sides whose values differ.
type Difference struct {
	Key     string   `json:"key"`
	Columns []string `json:"columns"`
}

// DifferencesError is returned by Run when the tables differ: the
// reconciliation ran, and what it found needs someone's attention.
type DifferencesError struct{ Result *Result }

func (e *DifferencesError) Error() string {
	r := e.Result
	return fmt.Sprintf("reconciliation %s: %d rows missing on the left, %d missing on the right, %d different",
		r.Name, r.MissingLeft, r.MissingRight, r.Different)
}

// side is an open side.
type side struct {
	name    string
	s       Session
	counter *Counter
	q       Query
	rows    int64 // rows in the table (under Where)
	rate    int64
	read    int64 // rows the statements so far have read
	since   time.Time
	stmts   int
}

// Run compares the two sides of spec. The Result is filled whenever the
// comparison ran: err is a *DifferencesError when it found differences
// (permanent: running again finds them again), another error when it could
// not compare (the Result then has Status failed and says why).
func Run(ctx context.Context, spec Spec) (*Result, error) {
	now := spec.Now
	if now == nil {
		now = time.Now
	}
	res := &Result{Name: spec.Name, Started: now(), Key: spec.Key, DifferentColumns: map[string]int64{}}
	res.Left = sideInfo(spec.Left)
	res.Right = sideInfo(spec.Right)
	var l, r *side
	err := run(ctx, spec, res, &l, &r)
	for _, s := range []*side{l, r} {
		if s == nil {
			continue
		}
		s.s.Close()
		in, out := s.counter.Bytes()
		info := &res.Left
		if s.name == "right" {
			info = &res.Right
		}
		info.BytesRead, info.BytesWritten, info.Rows = in, out, s.rows
		res.NetworkBytes += in + out
		res.Statements += s.stmts
	}
	res.Finished = now()
	res.Duration = res.Finished.Sub(res.Started).Seconds()
	switch {
	case err != nil:
		res.Status, res.Error = StatusFailed, err.Error()
		return res, fmt.Errorf("reconciliation %s: %w", spec.Name, err)
	case res.Total() > 0:
		res.Status = StatusDifferent
		return res, fault.Permanent(&DifferencesError{Result: res})
	}
	res.Status = StatusMatch
	return res, nil
}

func sideInfo(s Side) SideInfo {
	info := SideInfo{Database: s.label(), Table: s.Table.String()}
	if s.Engine != nil {
		info.Engine = s.Engine.Name()
	}
	return info
}

func run(ctx context.Context, spec Spec, res *Result, lp, rp **side) error {
	if len(spec.Key) == 0 {
		return fault.Permanent(errors.New("no key columns"))
	}
	timeout := spec.StatementTimeout
	if timeout == 0 {
		timeout = DefaultStatementTimeout
	}
	open := func(name string, sd Side) (*side, error) {
		rec, ok := sd.Engine.(Reconciler)
		if !ok {
			return nil, fault.Permanent(fmt.Errorf("%s side (%s, engine %s): %w", name, sd.label(), sd.Engine.Name(), ErrNotSupported))
		}
		c := &Counter{}
		s, err := rec.OpenReconcile(ctx, sd.Conn, sd.Database, SessionOptions{StatementTimeout: timeout, Counter: c})
		if err != nil {
			return nil, fmt.Errorf("%s side: opening database %s: %w", name, sd.label(), err)
		}
		return &side{name: name, s: s, counter: c, rate: spec.RateLimit, since: time.Now()}, nil
	}
	var err error
	if *lp, err = open("left", spec.Left); err != nil {
		return err
	}
	if *rp, err = open("right", spec.Right); err != nil {
		return err
	}
	l, r := *lp, *rp
	lc, err := l.s.Columns(ctx, spec.Left.Table)
	if err != nil {
		return fmt.Errorf("left side: table %s in %s: %w", spec.Left.Table, spec.Left.label(), err)
	}
	rc, err := r.s.Columns(ctx, spec.Right.Table)
	if err != nil {
		return fmt.Errorf("right side: table %s in %s: %w", spec.Right.Table, spec.Right.label(), err)
	}
	p, err := makePlan(lc, rc, spec.Key, spec.Columns)
	if err != nil {
		return fault.Permanent(err)
	}
	res.Compared, res.NotCompared = p.cols, p.skipped
	if res.Compared == nil {
		res.Compared = []string{}
	}
	// One integer key column on both sides: group by its value.
	intKey := len(p.leftKey) == 1 && p.leftKey[0].Kind == KindInteger && p.rightKey[0].Kind == KindInteger
	l.q = Query{Table: spec.Left.Table, Key: p.leftKey, Columns: p.leftCols, Where: spec.Where, IntKey: intKey}
	r.q = Query{Table: spec.Right.Table, Key: p.rightKey, Columns: p.rightCols, Where: spec.Where, IntKey: intKey}
	maxDepth := 32
	if intKey {
		maxDepth = MaxIntDepth
	}

	leafRows := int64(spec.LeafRows)
	if leafRows <= 0 {
		leafRows = DefaultLeafRows
	}
	samples := spec.Samples
	if samples <= 0 {
		samples = DefaultSamples
	}
	res.Samples = Samples{MissingLeft: []string{}, MissingRight: []string{}, Different: []Difference{}}
	c := &comparison{spec: spec, res: res, plan: p, samples: samples}
	pending := []string{""}
	for depth := 2; len(pending) > 0; depth += 2 {
		// Both servers work at once: the comparison takes as long as the
		// slower side, not the sum of both.
		var lb, rb map[string]Bucket
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) { lb, err = l.buckets(gctx, pending, depth); return err })
		g.Go(func() (err error) { rb, err = r.buckets(gctx, pending, depth); return err })
		if err := g.Wait(); err != nil {
			return err
		}
		if depth == 2 {
			l.rows, r.rows = total(lb), total(rb)
		}
		var next, leaves []string
		for _, prefix := range union(lb, rb) {
			a, b := lb[prefix], rb[prefix]
			if a.Rows == b.Rows && a.Sum == b.Sum {
				continue
			}
			if max(a.Rows, b.Rows) <= leafRows || depth >= maxDepth {
				leaves = append(leaves, prefix)
			} else {
				next = append(next, prefix)
			}
		}
		if err := c.leaves(ctx, l, r, leaves); err != nil {
			return err
		}
		pending = next
	}
	return nil
}

func total(bs map[string]Bucket) int64 {
	var n int64
	for _, b := range bs {
		n += b.Rows
	}
	return n
}

func union(a, b map[string]Bucket) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// buckets groups the rows under prefixes (one "" for all) by depth digits.
func (s *side) buckets(ctx context.Context, prefixes []string, depth int) (map[string]Bucket, error) {
	q := s.q
	q.Prefixes, q.Depth = prefixes, depth
	var wanted map[string]bool
	if len(prefixes) > maxPrefixes {
		// Group the whole table and keep the groups under prefixes.
		q.Prefixes, wanted = nil, map[string]bool{}
		for _, p := range prefixes {
			wanted[p] = true
		}
	}
	bs, err := s.s.Buckets(ctx, q)
	s.stmts++
	if err != nil {
		return nil, fmt.Errorf("%s side: checksums of %s: %w", s.name, q.Table, err)
	}
	out := make(map[string]Bucket, len(bs))
	for _, b := range bs {
		if q.IntKey {
			n, err := strconv.ParseUint(b.Prefix, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s side: checksums of %s: group %q: %w", s.name, q.Table, b.Prefix, err)
			}
			b.Prefix = IntPrefix(n, depth)
		}
		b.Prefix = strings.ToLower(b.Prefix)
		if wanted == nil || wanted[b.Prefix[:len(prefixes[0])]] {
			out[b.Prefix] = b
		}
	}
	// The key hash is not indexed: each statement reads every row.
	if err := s.pace(ctx, max(s.rows, total(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// pace sleeps as long as it takes to keep the side's reads under its rate
// limit, having just read rows more.
func (s *side) pace(ctx context.Context, rows int64) error {
	s.read += rows
	if s.rate <= 0 {
		return nil
	}
	due := s.since.Add(time.Duration(float64(s.read) / float64(s.rate) * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// comparison gathers the differing rows.
type comparison struct {
	spec    Spec
	res     *Result
	plan    *plan
	samples int
}

// leaves fetches the rows of the groups that differ and compares them.
func (c *comparison) leaves(ctx context.Context, l, r *side, prefixes []string) error {
	for chunk := range slices.Chunk(prefixes, maxPrefixes) {
		var lrows, rrows map[string]Row
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) { lrows, err = l.rowsOf(gctx, chunk); return err })
		g.Go(func() (err error) { rrows, err = r.rowsOf(gctx, chunk); return err })
		if err := g.Wait(); err != nil {
			return err
		}
		res, smp := c.res, &c.res.Samples
		for k, lr := range lrows {
			rr, ok := rrows[k]
			if !ok {
				res.MissingRight++
				smp.MissingRight = keep(smp.MissingRight, k, c.samples, func(k string) string { return k })
				continue
			}
			var cols []string
			for i, name := range c.plan.cols {
				if !sameValue(lr.Values[i], rr.Values[i]) {
					cols = append(cols, name)
					res.DifferentColumns[name]++
				}
			}
			if len(cols) > 0 {
				res.Different++
				smp.Different = keep(smp.Different, Difference{Key: k, Columns: cols}, c.samples, func(d Difference) string { return d.Key })
			}
		}
		for k := range rrows {
			if _, ok := lrows[k]; !ok {
				res.MissingLeft++
				smp.MissingLeft = keep(smp.MissingLeft, k, c.samples, func(k string) string { return k })
			}
		}
	}
	return nil
}

// keep inserts v into the samples s, kept in key order and at most n long:
// the samples are the first keys, and memory stays bounded however many
// rows differ.
func keep[T any](s []T, v T, n int, key func(T) string) []T {
	i, _ := slices.BinarySearchFunc(s, key(v), func(e T, k string) int { return compareKeys(key(e), k) })
	if i >= n {
		return s
	}
	s = slices.Insert(s, i, v)
	return s[:min(len(s), n)]
}

func sameValue(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func (s *side) rowsOf(ctx context.Context, prefixes []string) (map[string]Row, error) {
	q := s.q
	q.Prefixes = prefixes
	rows, err := s.s.Rows(ctx, q)
	s.stmts++
	if err != nil {
		return nil, fmt.Errorf("%s side: rows of %s: %w", s.name, q.Table, err)
	}
	if err := s.pace(ctx, s.rows); err != nil {
		return nil, err
	}
	out := make(map[string]Row, len(rows))
	for _, row := range rows {
		k := KeyString(row.Key)
		if _, dup := out[k]; dup {
			return nil, fault.Permanent(fmt.Errorf("%s side: key %s appears twice in %s: the key must identify one row", s.name, k, q.Table))
		}
		out[k] = row
	}
	return out, nil
}

// KeyString is how a key is shown: its normalised values joined by commas.
func KeyString(vals []string) string { return strings.Join(vals, ",") }

// compareKeys orders keys numerically where they are numbers (so that 9
// comes before 10), as text otherwise.
func compareKeys(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Describe reads the columns of a side's table (an error wrapping
// ErrNoTable when it is not there, ErrNotSupported when its engine cannot
// reconcile): what `config validate` checks a reconcile block's key and
// columns against before any run.
func Describe(ctx context.Context, s Side, timeout time.Duration) ([]Column, error) {
	rec, ok := s.Engine.(Reconciler)
	if !ok {
		return nil, fault.Permanent(fmt.Errorf("%s (engine %s): %w", s.label(), s.Engine.Name(), ErrNotSupported))
	}
	sess, err := rec.OpenReconcile(ctx, s.Conn, s.Database, SessionOptions{StatementTimeout: timeout})
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	return sess.Columns(ctx, s.Table)
}

// CheckColumns reports what a run would refuse in a table's columns: key
// columns, or listed columns, that are not there.
func CheckColumns(cols []Column, key, columns []string) []string {
	var out []string
	for _, group := range []struct {
		what  string
		names []string
	}{{"key column", key}, {"column", columns}} {
		for _, n := range group.names {
			if !slices.ContainsFunc(cols, func(c Column) bool { return strings.EqualFold(c.Name, n) }) {
				out = append(out, fmt.Sprintf("%s %q does not exist", group.what, n))
			}
		}
	}
	return out
}

// Summary is the result in one sentence, in any language.
func (r *Result) Summary() i18n.Message {
	return i18n.M("reconcile.summary", "name", r.Name, "missing_left", strconv.FormatInt(r.MissingLeft, 10),
		"missing_right", strconv.FormatInt(r.MissingRight, 10), "different", strconv.FormatInt(r.Different, 10))
}
