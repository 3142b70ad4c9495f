package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/repository"
)

// The catalog's share in noticing deleted manifests (repository/chain.go has
// the repository's): a backup it listed whose manifest has gone, in a
// generation prune did not delete, is remembered as missing until its
// manifest is back. This also covers manifests written before the chain,
// which nothing in storage vouches for. `catalog rebuild` forgets it: the
// repository's own anchors still report what they can.

func migrateChain(db *sql.DB) error {
	for _, col := range []string{"chained INTEGER NOT NULL DEFAULT 0", "prev_id TEXT NOT NULL DEFAULT ''", "prev_generation TEXT NOT NULL DEFAULT ''"} {
		if err := addColumn(db, "backups", col); err != nil {
			return err
		}
	}
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS missing_backups (
	id         TEXT PRIMARY KEY,
	database   TEXT NOT NULL,
	generation TEXT NOT NULL,
	noticed_at TEXT NOT NULL
)`)
	return err
}

func (c *Catalog) setPrevious(ctx context.Context, id string, prev *repository.Link) error {
	if prev == nil {
		return nil
	}
	_, err := c.db.ExecContext(ctx, `UPDATE backups SET chained = 1, prev_id = ?, prev_generation = ? WHERE id = ?`, prev.ID, prev.Generation, id)
	if err != nil {
		return fmt.Errorf("recording the predecessor of backup %s in the catalog: %w", id, err)
	}
	return nil
}

// chainEntries are the chain entries of the catalogued backups of database.
func (c *Catalog) chainEntries(ctx context.Context, database string) ([]repository.ChainEntry, error) {
	q := `SELECT id, database, generation, chained, prev_id, prev_generation FROM backups`
	var args []any
	if database != "" {
		q += ` WHERE database = ?`
		args = append(args, database)
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	defer rows.Close()
	var out []repository.ChainEntry
	for rows.Next() {
		var e repository.ChainEntry
		var chained bool
		var prev repository.Link
		if err := rows.Scan(&e.ID, &e.Database, &e.Generation, &chained, &prev.ID, &prev.Generation); err != nil {
			return nil, fmt.Errorf("reading the catalog: %w", err)
		}
		if chained {
			e.Previous = &prev
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (c *Catalog) rememberMissing(ctx context.Context, b Backup) error {
	_, err := c.db.ExecContext(ctx, `INSERT OR IGNORE INTO missing_backups (id, database, generation, noticed_at) VALUES (?,?,?,?)`,
		b.ID, b.Database, b.Generation, ts(time.Now()))
	if err != nil {
		return fmt.Errorf("recording missing backup %s in the catalog: %w", b.ID, err)
	}
	return nil
}

// rememberedMissing lists the backups of database the catalog remembers as
// missing, and forgets those whose manifest is back (present) or whose
// generation prune has deleted since.
func (c *Catalog) rememberedMissing(ctx context.Context, database string, present map[string]bool, a *repository.Anchors, forget bool) ([]repository.MissingBackup, error) {
	q := `SELECT id, database, generation, noticed_at FROM missing_backups`
	var args []any
	if database != "" {
		q += ` WHERE database = ?`
		args = append(args, database)
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	var out []repository.MissingBackup
	var gone []string
	for rows.Next() {
		var m repository.MissingBackup
		var noticed string
		if err := rows.Scan(&m.ID, &m.Database, &m.Generation, &noticed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the catalog: %w", err)
		}
		if forget || present[m.Database+"/"+m.ID] || a.Pruned[m.Database+"/"+m.Generation] {
			gone = append(gone, m.ID)
			continue
		}
		m.Object = repository.ManifestsPrefix + m.Database + "/" + m.Generation + "/" + m.ID
		m.How = "the catalog listed it until " + parseTS(noticed).Local().Format(time.RFC3339)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range gone {
		if _, err := c.db.ExecContext(ctx, `DELETE FROM missing_backups WHERE id = ?`, id); err != nil {
			return nil, fmt.Errorf("updating the catalog's missing backups: %w", err)
		}
	}
	return out, nil
}

// MissingSince says since when the catalog has remembered each backup of
// database ("" for all) as missing, by backup id: `dbopsd log` marks their
// jobs with it.
func (c *Catalog) MissingSince(ctx context.Context, database string) (map[string]time.Time, error) {
	q := `SELECT id, noticed_at FROM missing_backups`
	var args []any
	if database != "" {
		q += ` WHERE database = ?`
		args = append(args, database)
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, noticed string
		if err := rows.Scan(&id, &noticed); err != nil {
			return nil, fmt.Errorf("reading the catalog: %w", err)
		}
		out[id] = parseTS(noticed)
	}
	return out, rows.Err()
}
