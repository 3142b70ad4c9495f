package site

import (
	"context"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines"
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
	d, err := Dictionary(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	backups, err := cat.Backups(ctx, db.Name)
	if err != nil {
		return nil, err
	}
	s := volume.FromDictionary(d, now)
	for _, b := range backups {
		if b.Status == "ok" {
			s.StoredBytes += b.StoredBytes
			s.Backups++
		}
	}
	return s, nil
}
