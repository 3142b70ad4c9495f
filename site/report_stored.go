package site

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/volume"
)

// The report's data-volume, schema-change and dictionary sections read
// what the volume job and `dbopsd dict` stored through history; report
// owns the interfaces and knows nothing of dictionary or volume, so the
// adapters live here, where both are composed.

// reportSources are every report source site feeds: ReportSources' (the
// catalog's maintenance and reconciliations), the diagnoses' findings,
// connection peaks and space forecasts (report_diagnostics.go), and the
// stored documents' volume samples, schema changes and dictionary
// workbooks.
func reportSources(cfg *config.Config, run Run, lang i18n.Lang) report.Sources {
	src := ReportSources(cfg, run.Catalog)
	diag := diagnosisSources(run.Catalog, lang)
	src.Findings, src.Connections, src.Forecasts = diag.Findings, diag.Connections, diag.Forecasts
	s := &storedSources{hs: history.Store{Repo: run.Repo, Catalog: run.Catalog}, lang: lang, loc: cfg.Daemon.Location,
		read: map[string]schemaRead{}}
	for _, t := range cfg.Volume.Tables {
		s.registered = append(s.registered, volume.Registered{Label: t.Label, Database: t.Database, Table: t.Table})
	}
	src.Volume, src.Schema, src.Dictionary = s, s, s
	return src
}

// storedSources implements report.VolumeSource, report.SchemaSource and
// report.DictionarySource over history.
type storedSources struct {
	hs         history.Store
	registered []volume.Registered // the policy's volume { table } blocks, in the file's order
	lang       i18n.Lang
	loc        *time.Location // for the dictionary workbook's times (nil: UTC)

	mu sync.Mutex
	// read is, by database, the period SchemaChanges read last and what it
	// compared: the report asks for a database's schema changes before its
	// dictionary, and the workbook attached is then the dictionary as it
	// was at the period's end, with the same changes.
	read map[string]schemaRead
	// compared is the dictionary SchemaChanges compared last (its
	// database's read.id), decoded: the workbook of that database, asked
	// for next, needs it again. Only the last is kept, so a report holds
	// one dictionary at a time.
	compared struct {
		database string
		dict     *dictionary.Dictionary
	}
}

var (
	_ report.VolumeSource     = (*storedSources)(nil)
	_ report.SchemaSource     = (*storedSources)(nil)
	_ report.DictionarySource = (*storedSources)(nil)
)

type schemaRead struct {
	until   time.Time // the end of the period compared
	id      string    // the dictionary compared (the last before until)
	since   time.Time // when the dictionary it was compared with was taken
	changes []dictionary.Change
}

// Volume gives one sample per month in [from, to) that has any: the last
// the volume job took in the month (months in from's time zone, as the
// report counts them). Its tables are the registered tables of the data
// resource platform first, in the policy's order and named by their label,
// then every other table, largest first. Only those samples' bodies are
// read: a year of daily samples of a database of thousands of tables is
// hundreds of megabytes of JSON.
func (s *storedSources) Volume(ctx context.Context, database string, from, to time.Time) ([]report.VolumeSample, error) {
	docs, err := s.hs.List(ctx, catalog.DocumentQuery{Kind: history.KindVolume, Database: database, Since: from, Until: to, WithoutBody: true})
	if err != nil {
		return nil, err
	}
	loc := from.Location()
	var months []time.Time
	last := map[time.Time]catalog.Document{}
	for _, d := range docs { // oldest first: the last one of a month wins
		m := volume.MonthStart(d.TakenAt, loc)
		if _, ok := last[m]; !ok {
			months = append(months, m)
		}
		last[m] = d
	}
	var reg []volume.Registered
	for _, r := range s.registered {
		if r.Database == database {
			reg = append(reg, r)
		}
	}
	out := []report.VolumeSample{}
	for _, m := range months {
		var smp volume.Sample
		if err := s.hs.Load(ctx, history.KindVolume, database, last[m].ID, &smp); err != nil {
			return nil, err
		}
		out = append(out, monthSample(m, &smp, reg))
	}
	return out, nil
}

// monthSample is smp as the report shows a month: rows and bytes (data and
// index) in all, the registered tables first, then the others by size.
func monthSample(month time.Time, smp *volume.Sample, reg []volume.Registered) report.VolumeSample {
	v := report.VolumeSample{Month: month}
	taken := map[int]bool{}
	for _, r := range reg {
		i := findTable(smp.Tables, r.Table)
		if i < 0 {
			// Not in this sample (renamed, not created yet): `dbopsd volume`
			// says so in its notes; the report shows no made-up zero.
			continue
		}
		t := smp.Tables[i]
		taken[i] = true
		v.Tables = append(v.Tables, report.TableVolume{Name: r.Label + " (" + r.Table + ")", Registered: true, Rows: t.Rows, Bytes: t.DataBytes + t.IndexBytes})
	}
	var rest []report.TableVolume
	for i, t := range smp.Tables {
		v.Rows += t.Rows
		v.Bytes += t.DataBytes + t.IndexBytes
		if !taken[i] {
			name := t.Name
			if t.Schema != "" {
				name = t.Schema + "." + t.Name
			}
			rest = append(rest, report.TableVolume{Name: name, Rows: t.Rows, Bytes: t.DataBytes + t.IndexBytes})
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Bytes > rest[j].Bytes })
	v.Tables = append(v.Tables, rest...)
	return v
}

// findTable is the index of the table named schema.table, or table alone
// when only one schema has it (as `dbopsd volume` looks registered tables
// up); -1 when none.
func findTable(tables []volume.TableSample, name string) int {
	hit := -1
	for i, t := range tables {
		switch {
		case t.Schema+"."+t.Name == name:
			return i
		case t.Name == name && hit == -1:
			hit = i
		case t.Name == name:
			hit = -2 // ambiguous
		}
	}
	return max(hit, -1)
}

// SchemaChanges compares the last dictionary stored before the period with
// the last one stored in it (or, when none was stored before, the first
// stored in it with the last). A change is dated when the dictionary that
// shows it was taken: between two runs dbopsd cannot tell when in the
// period it was made. When no comparison can be made, one row without an
// object says why: "no change" would be a claim the stored runs do not
// support.
func (s *storedSources) SchemaChanges(ctx context.Context, database string, from, to time.Time) ([]report.SchemaChange, error) {
	latest, ok, err := s.hs.Latest(ctx, history.KindDictionary, database, to)
	if err != nil {
		return nil, err
	}
	s.remember(database, schemaRead{until: to})
	note := func(at time.Time, key string, p i18n.Params) []report.SchemaChange {
		return []report.SchemaChange{{At: at, Change: i18n.T(s.lang, key, p)}}
	}
	when := func(t time.Time) string { return t.In(from.Location()).Format("2006-01-02 15:04") }
	if !ok {
		return note(from, "site.schema.no_dictionary", nil), nil
	}
	if latest.TakenAt.Before(from) {
		return note(latest.TakenAt, "site.schema.no_run", i18n.Params{"last": when(latest.TakenAt)}), nil
	}
	base, ok, err := dictionary.Previous(ctx, s.hs, database, from)
	if err != nil {
		return nil, err
	}
	if !ok {
		docs, err := s.hs.List(ctx, catalog.DocumentQuery{Kind: history.KindDictionary, Database: database, Since: from, Until: to, WithoutBody: true})
		if err != nil {
			return nil, err
		}
		if len(docs) < 2 {
			return note(latest.TakenAt, "site.schema.first", i18n.Params{"at": when(latest.TakenAt)}), nil
		}
		base = &dictionary.Dictionary{}
		if err := s.hs.Load(ctx, history.KindDictionary, database, docs[0].ID, base); err != nil {
			return nil, err
		}
	}
	now := &dictionary.Dictionary{}
	if err := json.Unmarshal(latest.Body, now); err != nil {
		return nil, fmt.Errorf("decoding the dictionary %s of %s: %w", latest.ID, database, err)
	}
	changes := dictionary.Diff(base, now)
	s.remember(database, schemaRead{until: to, id: latest.ID, since: base.CollectedAt, changes: changes})
	s.mu.Lock()
	s.compared.database, s.compared.dict = database, now
	s.mu.Unlock()
	out := []report.SchemaChange{}
	for _, c := range changes {
		object := []string{c.Schema, c.Table}
		if c.Column != "" {
			object = append(object, c.Column)
		}
		out = append(out, report.SchemaChange{At: latest.TakenAt, Object: strings.Join(object, "."), Change: c.Text(s.lang)})
	}
	return out, nil
}

func (s *storedSources) remember(database string, r schemaRead) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read[database] = r
}

// DictionaryXLSX renders the stored dictionary of database as a workbook:
// the last stored in the period SchemaChanges last read (not a newer one),
// with the changes it found, else the newest. ok false: none was stored.
func (s *storedSources) DictionaryXLSX(ctx context.Context, database string) ([]byte, bool, error) {
	s.mu.Lock()
	read, compared := s.read[database]
	last := s.compared
	s.mu.Unlock()
	out := &dictionary.Document{Lang: s.lang, Location: s.loc}
	if compared && read.id != "" && last.database == database {
		// The last stored before read.until: SchemaChanges compared it.
		out.Dict, out.Previous, out.Changes = last.dict, read.since, read.changes
	} else {
		doc, ok, err := s.hs.Latest(ctx, history.KindDictionary, database, read.until)
		if err != nil || !ok {
			return nil, false, err
		}
		out.Dict = &dictionary.Dictionary{}
		if err := json.Unmarshal(doc.Body, out.Dict); err != nil {
			return nil, false, fmt.Errorf("decoding the dictionary %s of %s: %w", doc.ID, database, err)
		}
	}
	var b bytes.Buffer
	if err := dictionary.XLSX(&b, out); err != nil {
		return nil, false, fmt.Errorf("writing the data dictionary of %s: %w", database, err)
	}
	return b.Bytes(), true, nil
}
