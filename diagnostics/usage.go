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
// (Tables' scan counts, Statements); I/O, WAL and storage are in
// checks_io.go.

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
// the previous month's sees the month. Where both snapshots count the
// table's writes (model version 2), a table neither read nor written says
// so; one only written to (a log) is "not read". MariaDB's tables are
// compared on the rows read and written that performance_schema counts.
func checkTableUnread(a *analysis) {
	p, d := a.sameLifetime(diagmodel.AreaTables) // checks_io.go
	if p == nil {
		a.notChecked("no earlier snapshot with table statistics in this server lifetime to compare with",
			"diagnostics.reason.no_table_interval")
		return
	}
	// PostgreSQL counts scans; MariaDB (performance_schema) rows read.
	scans := func(t diagmodel.Table) *int64 {
		if t.SeqScans != nil {
			return t.SeqScans
		}
		return t.Reads
	}
	counted := len(a.f.Tables) == 0
	for _, t := range a.f.Tables {
		counted = counted || scans(t) != nil
	}
	if !counted {
		a.notChecked("the snapshot has no per-table read counts (MariaDB: performance_schema is off or not readable)",
			"diagnostics.reason.no_table_reads")
		return
	}
	type reads struct{ seq, idx, writes *int64 }
	before := map[string]reads{}
	for _, t := range p.Tables {
		before[tableName(t.Schema, t.Name)] = reads{scans(t), t.IdxScans, t.Writes}
	}
	for _, t := range a.f.Tables {
		name := tableName(t.Schema, t.Name)
		b, ok := before[name]
		if !ok || scans(t) == nil || b.seq == nil {
			continue
		}
		read := *scans(t) - *b.seq
		if t.IdxScans != nil && b.idx != nil {
			read += *t.IdxScans - *b.idx
		}
		if read != 0 {
			continue
		}
		variant := ""
		if t.Writes != nil && b.writes != nil && *t.Writes == *b.writes {
			variant = "unwritten"
		}
		a.addVariant(a.check.Priority, variant, name, "since", d.From.Format(time.DateOnly), "size", bytesText(t.Bytes),
			"rows", strconv.FormatInt(t.Rows, 10))
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

// ConnectionSample is the connections an earlier snapshot counted.
type ConnectionSample struct {
	At    time.Time `json:"at"`
	Total int       `json:"total"`
	Max   int       `json:"max"`
}

// peakDays is how far back session-peak looks: the month.
const peakDays = 31

// checkSessionPeak reports the month's highest connection count, from the
// daily snapshots' samples and this run's, when it came near the maximum.
// A snapshot counts the connections at its moment: the peak is the highest
// sample, not every instant.
func checkSessionPeak(a *analysis) {
	since := a.f.CollectedAt.AddDate(0, 0, -peakDays)
	samples := []ConnectionSample{{At: a.f.CollectedAt, Total: a.f.Connections.Total, Max: a.f.Connections.Max}}
	for _, s := range a.connections {
		if !s.At.Before(since) && s.At.Before(a.f.CollectedAt) {
			samples = append(samples, s)
		}
	}
	if len(samples) < 2 {
		a.notChecked("no daily snapshot of the month to take the peak from", "diagnostics.reason.no_daily_history")
		return
	}
	var peak ConnectionSample
	var peakPct float64
	for _, s := range samples {
		if s.Max <= 0 {
			continue
		}
		if pct := 100 * float64(s.Total) / float64(s.Max); pct > peakPct {
			peak, peakPct = s, pct
		}
	}
	if peakPct < a.t.ConnectionsPct {
		return
	}
	a.add(a.f.Database, "total", strconv.Itoa(peak.Total), "max", strconv.Itoa(peak.Max), "pct", fmt.Sprintf("%.0f", peakPct),
		"at", peak.At.Format(time.DateOnly), "samples", strconv.Itoa(len(samples)))
}

// checkpointReqMin: fewer requested checkpoints over the interval are no
// finding.
const checkpointReqMin = 10

// checkpointReqPct: requested checkpoints at least this share of all are a
// finding.
const checkpointReqPct = 20

// checkCheckpointsRequested reports how many of the interval's checkpoints
// were requested (by max_wal_size running out, or by hand) rather than
// timed. Snapshots of model version 2 count both apart, and the finding is
// exact. Older ones kept them as one counter; timed ones come at most once
// per checkpoint_timeout, so every checkpoint beyond interval /
// checkpoint_timeout was requested: the estimate is a lower bound.
func checkCheckpointsRequested(a *analysis) {
	d := a.interval()
	if d == nil {
		return
	}
	timedN, okT := d.Counters[diagmodel.CounterCheckpointsTimed]
	reqN, okR := d.Counters[diagmodel.CounterCheckpointsReq]
	if okT && okR {
		if total := timedN + reqN; reqN >= checkpointReqMin && 100*reqN >= checkpointReqPct*total {
			a.addVariant(a.check.Priority, "exact", a.f.Database, "requested", strconv.FormatInt(reqN, 10),
				"timed", strconv.FormatInt(timedN, 10), "total", strconv.FormatInt(total, 10),
				"pct", fmt.Sprintf("%.0f", 100*float64(reqN)/float64(total)), "since", d.From.Format(time.DateOnly))
		}
		return
	}
	total, ok := d.Counters[diagmodel.CounterCheckpoints]
	if !ok {
		a.noInterval()
		return
	}
	if !a.f.Has(diagmodel.AreaSettings) {
		u := unavailable(a.f, diagmodel.AreaSettings)
		a.skip = &u
		return
	}
	timeout := 300.0 // PostgreSQL's default, seconds; pg_settings lists it only when changed
	for _, s := range a.f.Settings {
		if s.Name == "checkpoint_timeout" {
			if v, err := strconv.ParseFloat(s.Value, 64); err == nil && v > 0 {
				timeout = v
			}
		}
	}
	timed := int64(d.Seconds / timeout)
	requested := total - timed
	if requested < checkpointReqMin || 100*requested < checkpointReqPct*total {
		return
	}
	a.add(a.f.Database, "requested", strconv.FormatInt(requested, 10), "total", strconv.FormatInt(total, 10),
		"pct", fmt.Sprintf("%.0f", 100*float64(requested)/float64(total)), "timeout", secs(timeout), "since", d.From.Format(time.DateOnly))
}
