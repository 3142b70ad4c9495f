package diagnostics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// The I/O, WAL and storage checks: where the server reads from disk, how
// much WAL (binary log) it writes a day and what holds it back, its control
// data and where its data lives. They read the areas io, wal, control and
// storage (model version 2); older snapshots lack them and the checks say
// "not checked".

var ioChecks = []Check{
	{ID: "slot-retained-wal", Priority: 30, Group: GroupSpace, Level: diagmodel.Daily, Area: diagmodel.AreaWAL, Engines: postgresOnly, run: checkSlotRetainedWAL},
	{ID: "control-data", Priority: 100, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaControl, Engines: postgresOnly, run: checkControlData},
	{ID: "io-hotspots", Priority: 250, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaIO, run: checkIOHotspots},
	{ID: "wal-volume", Priority: 250, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaWAL, run: checkWALVolume},
	{ID: "tablespaces", Priority: 250, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaStorage, run: checkTablespaces},
}

// ioTop is how many tables or files io-hotspots lists.
const ioTop = 5

// baseline is the earlier snapshot a monthly check measures its interval
// from: the previous snapshot with table statistics (the previous monthly
// diagnosis) when it has area and was taken before this one.
func (a *analysis) baseline(area string) *diagmodel.Facts {
	p := a.prevTables
	if p == nil || !p.Has(area) || !p.CollectedAt.Before(a.f.CollectedAt) {
		return nil
	}
	return p
}

// sameLifetime is baseline(area) and the deltas since it when the server
// has not restarted in between; nil, nil otherwise.
func (a *analysis) sameLifetime(area string) (*diagmodel.Facts, *Deltas) {
	p := a.baseline(area)
	if p == nil {
		return nil, nil
	}
	if d := ComputeDeltas(p, a.f); d != nil && !d.Restarted {
		return p, d
	}
	return nil, nil
}

// checkIOHotspots lists the tables (PostgreSQL) or files (MariaDB) that
// read the most from disk over the interval since the previous monthly
// diagnosis, or since the server started when there is none in this server
// lifetime. Informational: one finding when anything was read.
func checkIOHotspots(a *analysis) {
	cur := a.f.IO
	since := "-"
	if a.f.Server != nil {
		since = a.f.Server.StartedAt.Format(time.DateOnly)
	}
	var prev *diagmodel.IO
	if p, _ := a.sameLifetime(diagmodel.AreaIO); p != nil && p.IO != nil {
		prev, since = p.IO, p.CollectedAt.Format(time.DateOnly)
	}
	if len(cur.Files) > 0 || cur.Source == "file_summary_by_instance" {
		ioFiles(a, cur, prev, since)
		return
	}
	ioTables(a, cur, prev, since)
}

// hot is one table's or file's I/O over the interval.
type hot struct {
	name        string
	read, other int64   // blocks read and hit; bytes read and written
	wait        float64 // files: wait, ms
}

func topHot(hs []hot) []hot {
	sort.SliceStable(hs, func(i, j int) bool {
		if hs[i].read != hs[j].read {
			return hs[i].read > hs[j].read
		}
		return hs[i].name < hs[j].name
	})
	return hs[:min(len(hs), ioTop)]
}

// topTotal is topHot ranked by all the I/O, read and other together.
func topTotal(hs []hot) []hot {
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].read+hs[i].other > hs[j].read+hs[j].other })
	return hs[:min(len(hs), ioTop)]
}

// ioTables: PostgreSQL's tables by blocks read from disk, with their
// buffer hit ratio, and pg_stat_io's busiest rows where there are some.
// A table missing from the previous snapshot's list (cut at IOTopTables)
// is counted from zero: it may have read a little before, less than the
// last of that list.
func ioTables(a *analysis, cur, prev *diagmodel.IO, since string) {
	before := map[string]diagmodel.TableIO{}
	if prev != nil {
		for _, t := range prev.Tables {
			before[tableName(t.Schema, t.Name)] = t
		}
	}
	var hs []hot
	for _, t := range cur.Tables {
		name := tableName(t.Schema, t.Name)
		read, hit := t.HeapRead+t.IdxRead, t.HeapHit+t.IdxHit
		if prev != nil {
			b := before[name]
			read, hit = read-b.HeapRead-b.IdxRead, hit-b.HeapHit-b.IdxHit
		}
		if read <= 0 || hit < 0 {
			continue
		}
		hs = append(hs, hot{name: name, read: read, other: hit})
	}
	if len(hs) == 0 {
		return
	}
	hs = topHot(hs)
	var lines []string
	for _, h := range hs {
		lines = append(lines, fmt.Sprintf("%s %d (%s) / %.0f%%", h.name, h.read, bytesText(h.read*cur.BlockSize),
			100*float64(h.other)/float64(h.read+h.other)))
	}
	top := hs[0]
	a.add(a.f.Database, "since", since, "top", top.name, "size", bytesText(top.read*cur.BlockSize),
		"list", strings.Join(lines, "; "), "backends", backendsText(cur, prev), "source", cur.Source)
}

// backendsText is pg_stat_io's busiest rows over the interval, "-" before
// PostgreSQL 16.
func backendsText(cur, prev *diagmodel.IO) string {
	key := func(b diagmodel.BackendIO) string { return b.BackendType + "/" + b.Object + "/" + b.Context }
	before := map[string]diagmodel.BackendIO{}
	if prev != nil {
		for _, b := range prev.Backends {
			before[key(b)] = b
		}
	}
	var hs []hot
	for _, b := range cur.Backends {
		p := before[key(b)]
		read, written := b.Reads-p.Reads, b.Writes+b.Extends-p.Writes-p.Extends
		if read < 0 || written < 0 || read+written == 0 {
			continue
		}
		hs = append(hs, hot{name: key(b), read: read, other: written})
	}
	if len(hs) == 0 {
		return "-"
	}
	var out []string
	for _, h := range topTotal(hs) {
		out = append(out, fmt.Sprintf("%s %s / %s", h.name, bytesText(h.read*cur.BlockSize), bytesText(h.other*cur.BlockSize)))
	}
	return strings.Join(out, "; ")
}

// ioFiles: MariaDB's files by bytes read, with bytes written and the time
// waited for them.
func ioFiles(a *analysis, cur, prev *diagmodel.IO, since string) {
	before := map[string]diagmodel.FileIO{}
	if prev != nil {
		for _, f := range prev.Files {
			before[f.File] = f
		}
	}
	var hs []hot
	for _, f := range cur.Files {
		read, written, wait := f.ReadBytes, f.WriteBytes, f.WaitMS
		if prev != nil {
			b := before[f.File] // missing: counted from zero, as for tables
			read, written, wait = read-b.ReadBytes, written-b.WriteBytes, wait-b.WaitMS
		}
		if read < 0 || written < 0 || read+written == 0 {
			continue
		}
		hs = append(hs, hot{name: f.File, read: read, other: written, wait: wait})
	}
	if len(hs) == 0 {
		return
	}
	hs = topTotal(hs) // a redo log is written, not read
	var lines []string
	for _, h := range hs {
		lines = append(lines, fmt.Sprintf("%s %s / %s / %s", h.name, bytesText(h.read), bytesText(h.other),
			(time.Duration(h.wait*float64(time.Millisecond))).Round(time.Millisecond)))
	}
	a.addVariant(a.check.Priority, "files", a.f.Database, "since", since, "top", hs[0].name,
		"size", bytesText(hs[0].read+hs[0].other), "list", strings.Join(lines, "; "), "source", cur.Source)
}

// checkWALVolume reports the WAL (binary log) written per day over the
// interval since the previous monthly diagnosis, with what bounds or keeps
// it. PostgreSQL's WAL position only grows, restarts included; MariaDB's
// Binlog_bytes_written starts again at each restart.
func checkWALVolume(a *analysis) {
	w := a.f.WAL
	if w.Binlog != nil && !*w.Binlog {
		a.addVariant(a.check.Priority, "off", a.f.Database)
		return
	}
	p := a.baseline(diagmodel.AreaWAL)
	var written int64
	ok := false
	switch {
	case p == nil || p.WAL == nil:
	case a.f.Engine == "postgres":
		written = w.Position - p.WAL.Position
		ok = w.Position > 0 && p.WAL.Position > 0 && written >= 0
	default:
		d := ComputeDeltas(p, a.f)
		if d != nil && !d.Restarted {
			written, ok = d.Counters[diagmodel.CounterBinlogBytes]
		}
	}
	if !ok {
		a.notChecked("no earlier snapshot with WAL facts in this server lifetime to measure the volume against",
			"diagnostics.reason.no_wal_interval")
		return
	}
	span := a.f.CollectedAt.Sub(p.CollectedAt).Hours() / 24
	perDay := int64(float64(written) / span)
	common := []string{"per_day", bytesText(perDay), "span", spanText(a.f.CollectedAt.Sub(p.CollectedAt)),
		"since", p.CollectedAt.Format(time.DateOnly), "per_month", bytesText(perDay * 30)}
	if w.Binlog != nil {
		expire := "0"
		if w.ExpireSeconds > 0 {
			expire = days(time.Duration(w.ExpireSeconds) * time.Second)
		}
		a.addVariant(a.check.Priority, "binlog", a.f.Database, append(common, "files", strconv.Itoa(w.BinlogFiles),
			"total", bytesText(w.BinlogBytes), "expire", expire)...)
		return
	}
	var held int64
	for _, s := range w.Slots {
		held = max(held, s.RetainedBytes)
	}
	a.add(a.f.Database, append(common, "keep", bytesText(w.KeepBytes), "max", bytesText(w.MaxBytes),
		"slots", strconv.Itoa(len(w.Slots)), "held", bytesText(held))...)
}

// spanText writes an interval in days ("30.0d") from a day on, else as Go
// does, to the second.
func spanText(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

// checkSlotRetainedWAL reports replication slots holding back more WAL
// than the threshold: the server may not remove it, and an abandoned slot
// fills the disk.
func checkSlotRetainedWAL(a *analysis) {
	for _, s := range a.f.WAL.Slots {
		if s.RetainedBytes < a.t.SlotRetainedBytes {
			continue
		}
		variant := ""
		if !s.Active {
			variant = "inactive"
		}
		a.addVariant(a.check.Priority, variant, s.Name, "type", s.Type, "retained", bytesText(s.RetainedBytes),
			"limit", bytesText(a.t.SlotRetainedBytes))
	}
}

// checkpointStaleWAL: with less WAL than this since the last checkpoint's
// redo point, an old checkpoint is an idle server's (PostgreSQL skips
// timed checkpoints when nothing was written), not a stuck one.
const checkpointStaleWAL = 16 << 20

// checkControlData reports data pages without checksums, and a last
// checkpoint older than the threshold while WAL was written since.
func checkControlData(a *analysis) {
	c := a.f.Control
	if c.Checksums != nil && !*c.Checksums {
		a.add("data_checksums", "system", c.SystemID, "timeline", strconv.FormatInt(c.Timeline, 10),
			"checkpoint", timeOrNever(c.CheckpointAt))
	}
	age := a.f.CollectedAt.Sub(c.CheckpointAt)
	if !c.CheckpointAt.IsZero() && age > a.t.CheckpointAge && c.WALSinceCheckpoint >= checkpointStaleWAL {
		a.addVariant(50, "checkpoint", "checkpoint", "at", c.CheckpointAt.Format(time.RFC3339),
			"age", age.Round(time.Second).String(), "limit", a.t.CheckpointAge.String(), "wal", bytesText(c.WALSinceCheckpoint))
	}
}

// checkTablespaces describes where the data lives: PostgreSQL's
// tablespaces with their locations and sizes, MariaDB's InnoDB data and
// redo files. Informational, for the monthly structure section.
func checkTablespaces(a *analysis) {
	s := a.f.Storage
	var list []string
	for _, t := range s.Tablespaces {
		size := "?"
		if t.Bytes != nil {
			size = bytesText(*t.Bytes)
		}
		if t.Location != "" {
			list = append(list, fmt.Sprintf("%s (%s) %s", t.Name, t.Location, size))
		} else {
			list = append(list, t.Name+" "+size)
		}
	}
	if a.f.Engine == "postgres" {
		if len(list) > 0 {
			a.add(a.f.Database, "count", strconv.Itoa(len(list)), "list", strings.Join(list, "; "))
		}
		return
	}
	perTable := "-"
	if s.FilePerTable != nil {
		perTable = map[bool]string{true: "ON", false: "OFF"}[*s.FilePerTable]
	}
	a.addVariant(a.check.Priority, "innodb", a.f.Database, "path", s.DataFilePath, "per_table", perTable,
		"system", bytesText(s.SystemBytes), "redo", bytesText(s.RedoBytes), "list", cutList(list, 10))
}
