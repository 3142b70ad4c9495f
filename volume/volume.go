package volume

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
	"github.com/dbopsd/dbopsd/history"
)

// Sample is one database's volume on one day.
type Sample struct {
	Database string        `json:"database"`
	Engine   string        `json:"engine,omitempty"`
	TakenAt  time.Time     `json:"taken_at"`
	Tables   []TableSample `json:"tables"`
	// StoredBytes is what the database's backups in the catalog store
	// (Backups of them) when the sample was taken.
	StoredBytes int64 `json:"stored_bytes"`
	Backups     int   `json:"backups"`
}

// TableSample is one table's volume.
type TableSample struct {
	Schema        string `json:"schema"`
	Name          string `json:"name"`
	Rows          int64  `json:"rows"`
	RowsEstimated bool   `json:"rows_estimated,omitempty"`
	DataBytes     int64  `json:"data_bytes"`
	IndexBytes    int64  `json:"index_bytes"`
}

// FromDictionary is the sample a dictionary gives: its tables,
// materialized views and partitioned tables (each partition counts in its
// parent, not again on its own); views hold no data.
func FromDictionary(d *dictmodel.Dictionary, at time.Time) *Sample {
	s := &Sample{Database: d.Database, Engine: d.Engine, TakenAt: at.UTC(), Tables: []TableSample{}}
	for _, t := range d.Tables {
		if t.Rows == nil || t.PartitionOf != nil {
			continue
		}
		ts := TableSample{Schema: t.Schema, Name: t.Name, Rows: *t.Rows, RowsEstimated: t.RowsEstimated}
		if t.DataBytes != nil {
			ts.DataBytes = *t.DataBytes
		}
		if t.IndexBytes != nil {
			ts.IndexBytes = *t.IndexBytes
		}
		s.Tables = append(s.Tables, ts)
	}
	return s
}

// Save stores s through history (kind "volume").
func Save(ctx context.Context, hs history.Store, s *Sample) (string, error) {
	return hs.Save(ctx, history.KindVolume, s.Database, s.TakenAt, s)
}

// Load returns the samples of database (all databases when "") taken in
// [since, until) (zero: unbounded), oldest first, by database.
func Load(ctx context.Context, cat *catalog.Catalog, database string, since, until time.Time) (map[string][]Sample, error) {
	docs, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindVolume, Database: database, Since: since, Until: until})
	if err != nil {
		return nil, err
	}
	out := map[string][]Sample{}
	for _, d := range docs {
		var s Sample
		if err := json.Unmarshal(d.Body, &s); err != nil {
			return nil, fmt.Errorf("decoding volume sample %s of %s: %w", d.ID, d.Database, err)
		}
		out[d.Database] = append(out[d.Database], s)
	}
	return out, nil
}

// TakenOn reports whether database has a sample taken on the day of t in
// loc: the daemon takes one a day.
func TakenOn(ctx context.Context, cat *catalog.Catalog, database string, t time.Time, loc *time.Location) (bool, error) {
	day := time.Date(t.In(loc).Year(), t.In(loc).Month(), t.In(loc).Day(), 0, 0, 0, 0, loc)
	docs, err := cat.Documents(ctx, catalog.DocumentQuery{Kind: history.KindVolume, Database: database, Since: day, Until: day.AddDate(0, 0, 1), Limit: 1, WithoutBody: true})
	return len(docs) > 0, err
}
