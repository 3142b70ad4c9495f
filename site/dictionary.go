package site

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/volume"
)

// Dictionary reads the data dictionary of the policy's database db; the
// CLI (dbopsd dict) and the daemon (the volume job) both come here. The
// model's Database is the policy's name for it, under which history keeps
// it. An engine without the capability gives dictionary.ErrNotSupported.
func Dictionary(ctx context.Context, cfg *config.Config, db *config.Database) (*dictionary.Dictionary, error) {
	e, err := Engine(db.Engine)
	if err != nil {
		// An engine this build knows only by name runs nothing at all.
		return nil, fmt.Errorf("dictionary of %s: %w (%v)", db.Name, dictionary.ErrNotSupported, err)
	}
	dsn, err := engines.ParseDSN(db.Engine, db.DSN)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", db.Name, err)
	}
	if dsn.Database == "" {
		return nil, fmt.Errorf("database %s: its DSN names no database to read the dictionary of", db.Name)
	}
	d, err := dictionary.Collect(ctx, e, SourceConn(cfg, db), dsn.Database, dictionary.Options{ExactRowsBelow: cfg.Volume.ExactRows()})
	if err != nil {
		return nil, err
	}
	d.Database = db.Name
	return d, nil
}

// VolumeSample takes today's volume sample of db: the tables' rows and
// bytes from its dictionary, and what its backups in the catalog store.
func VolumeSample(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, db *config.Database, now time.Time) (*volume.Sample, error) {
	s, _, err := sampleWithDictionary(ctx, cfg, cat, db, now)
	return s, err
}

func sampleWithDictionary(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, db *config.Database, now time.Time) (*volume.Sample, *dictionary.Dictionary, error) {
	d, err := Dictionary(ctx, cfg, db)
	if err != nil {
		return nil, nil, err
	}
	backups, err := cat.Backups(ctx, db.Name)
	if err != nil {
		return nil, nil, err
	}
	s := volume.FromDictionary(d, now)
	for _, b := range backups {
		if b.Status == "ok" {
			s.StoredBytes += b.StoredBytes
			s.Backups++
		}
	}
	return s, d, nil
}

// DailySample is the daemon's daily volume job for database db: it takes
// the volume sample and stores it, and stores the dictionary it read too
// when the schema changed since the last stored dictionary, or none was
// stored this month yet (in the daemon's time zone). So the monthly
// report's schema changes come from the daemon alone, without anyone
// running `dbopsd dict`.
func DailySample(ctx context.Context, cfg *config.Config, hs history.Store, db *config.Database, now time.Time) error {
	s, d, err := sampleWithDictionary(ctx, cfg, hs.Catalog, db, now)
	if err != nil {
		return err
	}
	if _, err := volume.Save(ctx, hs, s); err != nil {
		return err
	}
	prev, ok, err := dictionary.Previous(ctx, hs, db.Name, time.Time{})
	if err != nil {
		return err
	}
	loc := cfg.Daemon.Location
	if loc == nil {
		loc = time.UTC
	}
	y1, m1, _ := now.In(loc).Date()
	if ok && len(dictionary.Diff(prev, d)) == 0 {
		if y0, m0, _ := prev.CollectedAt.In(loc).Date(); y0 == y1 && m0 == m1 {
			return nil
		}
	}
	_, err = dictionary.Save(ctx, hs, d)
	return err
}
