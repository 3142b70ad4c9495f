package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The scratch ledger: every scratch database dbopsd creates on a restore
// target (a verification's dbopsd_verify_..., a drill's restored copy),
// recorded before the database is created and marked when it is dropped.
// It is what lets dbopsd drop scratch databases, at the end of a job or
// after a crash, without ever dropping one it did not create: what is not
// in the ledger is not dbopsd's.
//
// It lives in the catalog rather than in a file of its own because it must
// be written by concurrent jobs (SQLite serialises them), its rows refer to
// jobs (a claim whose job is still running is in use), and the catalog is
// already the state directory's log. Unlike the backups table it cannot be
// rebuilt from the repository: it records what happened on the servers.

const scratchSchema = `
CREATE TABLE IF NOT EXISTS scratch_databases (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	target      TEXT NOT NULL,
	server      TEXT NOT NULL DEFAULT '',
	engine      TEXT NOT NULL DEFAULT '',
	name        TEXT NOT NULL,
	purpose     TEXT NOT NULL DEFAULT '',
	database    TEXT NOT NULL DEFAULT '',
	backup_id   TEXT NOT NULL DEFAULT '',
	job_id      INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	state       TEXT NOT NULL,
	dropped_at  TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS scratch_databases_name ON scratch_databases(target, name, state);
`

// migrateScratch creates the scratch ledger in catalogs made before it
// existed (and in new ones).
func migrateScratch(db *sql.DB) error {
	if _, err := db.Exec(scratchSchema); err != nil {
		return fmt.Errorf("creating the scratch ledger: %w", err)
	}
	return nil
}

// Scratch states. A database in ScratchCreated or ScratchKept is dbopsd's:
// it may be replaced and dropped by dbopsd. The others are history.
const (
	// ScratchCreated: recorded before the database was created, not dropped
	// yet. After a crash such a row is a stale scratch database.
	ScratchCreated = "created"
	// ScratchKept: kept on purpose (keep_on_failure, a drill asked to keep
	// its copy); not dropped as stale.
	ScratchKept = "kept"
	// ScratchDropped: dropped by dbopsd.
	ScratchDropped = "dropped"
	// ScratchNotCreated: the name was taken by a database dbopsd did not
	// create, so dbopsd left it alone.
	ScratchNotCreated = "not created"
)

// Scratch is one row of the scratch ledger.
type Scratch struct {
	ID int64 `json:"id"`
	// Target is the restore_target label; Server its host:port when the
	// database was created, so that a target later pointed at another server
	// is not mistaken for the one dbopsd created the database on.
	Target string `json:"target"`
	Server string `json:"server,omitempty"`
	Engine string `json:"engine,omitempty"`
	Name   string `json:"name"`
	// Purpose is what the database was for: "verify" or "drill".
	Purpose   string    `json:"purpose"`
	Database  string    `json:"database,omitempty"` // the source database (policy label)
	BackupID  string    `json:"backup_id,omitempty"`
	JobID     int64     `json:"job_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	State     string    `json:"state"`
	DroppedAt time.Time `json:"dropped_at,omitzero"`
	Note      string    `json:"note,omitempty"`
	// JobRunning is set by the queries that join the job log: the job that
	// created the database is still running (the database is in use).
	JobRunning bool `json:"job_running,omitempty"`
}

// RecordScratch records, before it is created, a scratch database dbopsd is
// about to create, in state ScratchCreated, and returns its row id.
func (c *Catalog) RecordScratch(ctx context.Context, s Scratch) (int64, error) {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	res, err := c.db.ExecContext(ctx, `INSERT INTO scratch_databases
	(target, server, engine, name, purpose, database, backup_id, job_id, created_at, state, note)
	VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		s.Target, s.Server, s.Engine, s.Name, s.Purpose, s.Database, s.BackupID, s.JobID, ts(s.CreatedAt), ScratchCreated, s.Note)
	if err != nil {
		return 0, fmt.Errorf("recording scratch database %s on %s in the scratch ledger: %w", s.Name, s.Target, err)
	}
	return res.LastInsertId()
}

// SetScratchState moves ledger row id to state (ScratchDropped also sets
// dropped_at), with a note saying why.
func (c *Catalog) SetScratchState(ctx context.Context, id int64, state, note string) error {
	switch state {
	case ScratchCreated, ScratchKept, ScratchDropped, ScratchNotCreated:
	default:
		return fmt.Errorf("scratch ledger: unknown state %q", state)
	}
	dropped := ""
	if state == ScratchDropped {
		dropped = ts(time.Now())
	}
	res, err := c.db.ExecContext(ctx, `UPDATE scratch_databases SET state = ?, note = ?,
	dropped_at = CASE WHEN ? = '' THEN dropped_at ELSE ? END WHERE id = ?`, state, note, dropped, dropped, id)
	if err != nil {
		return fmt.Errorf("recording scratch ledger row %d as %s: %w", id, state, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("recording scratch ledger row %d as %s: no such row", id, state)
	}
	return nil
}

// ScratchFilter selects ledger rows. Zero fields select everything.
type ScratchFilter struct {
	Target string
	Name   string
	// States selects rows in any of these states.
	States []string
	// Before selects rows created before this time.
	Before time.Time
}

// ScratchDatabases lists ledger rows, oldest first, with JobRunning set
// from the job log.
func (c *Catalog) ScratchDatabases(ctx context.Context, f ScratchFilter) ([]Scratch, error) {
	var where []string
	var args []any
	if f.Target != "" {
		where, args = append(where, "s.target = ?"), append(args, f.Target)
	}
	if f.Name != "" {
		where, args = append(where, "s.name = ?"), append(args, f.Name)
	}
	if len(f.States) > 0 {
		where = append(where, "s.state IN (?"+strings.Repeat(",?", len(f.States)-1)+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if !f.Before.IsZero() {
		where, args = append(where, "s.created_at < ?"), append(args, ts(f.Before))
	}
	q := `SELECT s.id, s.target, s.server, s.engine, s.name, s.purpose, s.database, s.backup_id, s.job_id,
	s.created_at, s.state, s.dropped_at, s.note, coalesce(j.status, '') FROM scratch_databases s
	LEFT JOIN jobs j ON j.id = s.job_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY s.id"
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the scratch ledger: %w", err)
	}
	defer rows.Close()
	var out []Scratch
	for rows.Next() {
		var s Scratch
		var created, dropped, jobStatus string
		if err := rows.Scan(&s.ID, &s.Target, &s.Server, &s.Engine, &s.Name, &s.Purpose, &s.Database, &s.BackupID,
			&s.JobID, &created, &s.State, &dropped, &s.Note, &jobStatus); err != nil {
			return nil, fmt.Errorf("reading the scratch ledger: %w", err)
		}
		s.CreatedAt, s.DroppedAt = parseTS(created), parseTS(dropped)
		s.JobRunning = jobStatus == StatusRunning
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the scratch ledger: %w", err)
	}
	return out, nil
}
