package diagnostics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// The monthly usage checks: how tables are read and which statements take
// the server's time. They read facts the collectors already gather
// (Tables' scan counts, Statements); facts the collectors do not gather
// (WAL or binlog volume, I/O by file, session peaks) have no check yet.

// seqScanMinBytes: smaller tables are cheap to scan whole.
const seqScanMinBytes = 100 << 20

// seqScanMin: fewer sequential scans since the statistics began say
// nothing about how a table is read.
const seqScanMin = 100

// checkSeqScanTables reports big tables read mostly by sequential scans
// (PostgreSQL's seq_scan against idx_scan since the statistics began).
func checkSeqScanTables(a *analysis) {
	for _, t := range a.f.Tables {
		if t.SeqScans == nil || t.DataBytes < seqScanMinBytes || *t.SeqScans < seqScanMin {
			continue
		}
		var idx int64
		if t.IdxScans != nil {
			idx = *t.IdxScans
		}
		if *t.SeqScans <= idx {
			continue
		}
		pct := 100 * float64(*t.SeqScans) / float64(*t.SeqScans+idx)
		a.add(tableName(t.Schema, t.Name), "seq", strconv.FormatInt(*t.SeqScans, 10), "idx", strconv.FormatInt(idx, 10),
			"pct", fmt.Sprintf("%.0f", pct), "size", bytesText(t.DataBytes))
	}
}

// checkTableUnread reports tables no scan read between the previous
// snapshot with table statistics and this one: a monthly diagnosis after
// the previous month's sees the month. Writes are not collected, so the
// finding says "not read", nothing more.
func checkTableUnread(a *analysis) {
	p, d := a.prev, a.deltas
	if p == nil || !p.Has(diagmodel.AreaTables) || d == nil || d.Restarted {
		a.notChecked("no earlier snapshot with table statistics in this server lifetime to compare with",
			"diagnostics.reason.no_table_interval")
		return
	}
	type reads struct{ seq, idx *int64 }
	before := map[string]reads{}
	for _, t := range p.Tables {
		before[tableName(t.Schema, t.Name)] = reads{t.SeqScans, t.IdxScans}
	}
	for _, t := range a.f.Tables {
		name := tableName(t.Schema, t.Name)
		b, ok := before[name]
		if !ok || t.SeqScans == nil || b.seq == nil {
			continue
		}
		read := *t.SeqScans - *b.seq
		if t.IdxScans != nil && b.idx != nil {
			read += *t.IdxScans - *b.idx
		}
		if read != 0 {
			continue
		}
		a.add(name, "since", d.From.Format(time.DateOnly), "size", bytesText(t.Bytes), "rows", strconv.FormatInt(t.Rows, 10))
	}
}

// topStatements is how many statements the top-statements finding lists.
const topStatements = 5

// checkTopStatements lists the statements that took the most time, with
// their share of the time of the statements collected (the collector's
// top ten by total time). Informational: one finding per run.
func checkTopStatements(a *analysis) {
	s := append(a.f.Statements[:0:0], a.f.Statements...)
	if len(s) == 0 {
		return
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].TotalMS > s[j].TotalMS })
	var total float64
	for _, x := range s {
		total += x.TotalMS
	}
	if total <= 0 {
		return
	}
	var lines []string
	for i, x := range s {
		if i == topStatements {
			break
		}
		lines = append(lines, fmt.Sprintf("%d. %.1f%% %s (%d, %s)", i+1, 100*x.TotalMS/total, oneLine(x.Query), x.Calls,
			(time.Duration(x.TotalMS*float64(time.Millisecond))).Round(time.Millisecond)))
	}
	a.add(a.f.Database, "count", strconv.Itoa(len(lines)), "top", fmt.Sprintf("%.1f", 100*s[0].TotalMS/total),
		"list", strings.Join(lines, "; "))
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
