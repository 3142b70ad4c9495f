package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The results of reconciliations (the reconcile package runs them): one row
// per run, with the counts the daemon compares with the previous run and
// the whole result as JSON for `dbopsd reconcile show`.

func migrateReconciliations(db *sql.DB) error {
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS reconciliations (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT NOT NULL,
	started_at    TEXT NOT NULL,
	finished_at   TEXT NOT NULL,
	status        TEXT NOT NULL,
	missing_left  INTEGER NOT NULL DEFAULT 0,
	missing_right INTEGER NOT NULL DEFAULT 0,
	different     INTEGER NOT NULL DEFAULT 0,
	network_bytes INTEGER NOT NULL DEFAULT 0,
	result        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS reconciliations_name ON reconciliations (name, started_at)`)
	return err
}

// Reconciliation is one stored run of a reconcile block.
type Reconciliation struct {
	ID           int64
	Name         string
	Started      time.Time
	Finished     time.Time
	Status       string // "match", "different", "failed"
	MissingLeft  int64
	MissingRight int64
	Different    int64
	NetworkBytes int64
	// Result is the whole result as JSON (a reconcile.Result).
	Result []byte
}

// Total is the number of rows missing or different.
func (r *Reconciliation) Total() int64 { return r.MissingLeft + r.MissingRight + r.Different }

// RecordReconciliation stores a run and returns its id.
func (c *Catalog) RecordReconciliation(ctx context.Context, r Reconciliation) (int64, error) {
	res, err := c.db.ExecContext(ctx, `INSERT INTO reconciliations
		(name, started_at, finished_at, status, missing_left, missing_right, different, network_bytes, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Name, ts(r.Started), ts(r.Finished), r.Status, r.MissingLeft, r.MissingRight, r.Different, r.NetworkBytes, string(r.Result))
	if err != nil {
		return 0, fmt.Errorf("recording reconciliation %s in the catalog: %w", r.Name, err)
	}
	return res.LastInsertId()
}

// Reconciliations returns the newest runs of reconcile block name, newest
// first, at most limit (0: all).
func (c *Catalog) Reconciliations(ctx context.Context, name string, limit int) ([]Reconciliation, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := c.db.QueryContext(ctx, `SELECT id, name, started_at, finished_at, status, missing_left, missing_right,
			different, network_bytes, result
		FROM reconciliations WHERE name = ? ORDER BY started_at DESC, id DESC LIMIT ?`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the reconciliations of %s from the catalog: %w", name, err)
	}
	defer rows.Close()
	var out []Reconciliation
	for rows.Next() {
		var r Reconciliation
		var started, finished, result string
		if err := rows.Scan(&r.ID, &r.Name, &started, &finished, &r.Status, &r.MissingLeft, &r.MissingRight,
			&r.Different, &r.NetworkBytes, &result); err != nil {
			return nil, fmt.Errorf("reading the reconciliations of %s from the catalog: %w", name, err)
		}
		r.Started, r.Finished, r.Result = parseTS(started), parseTS(finished), []byte(result)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the reconciliations of %s from the catalog: %w", name, err)
	}
	return out, nil
}

// LastReconciled returns, per reconcile block, when its newest run that
// compared the tables started (a match or differences; a run that could
// not compare does not count): what the daemon's schedule counts from.
func (c *Catalog) LastReconciled(ctx context.Context) (map[string]time.Time, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT name, MAX(started_at) FROM reconciliations WHERE status != 'failed' GROUP BY name`)
	if err != nil {
		return nil, fmt.Errorf("reading the last reconciliations from the catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name, at string
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("reading the last reconciliations from the catalog: %w", err)
		}
		out[name] = parseTS(at)
	}
	return out, rows.Err()
}
