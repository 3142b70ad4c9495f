package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"

	"github.com/dbopsd/dbopsd/repository"
)

// FileName is the catalog's file inside the state directory.
const FileName = "catalog.db"

// Catalog is an open catalog. It is safe for concurrent use.
type Catalog struct {
	db   *sql.DB
	path string
}

// schema is the first version of the catalog; the columns and tables added
// since are in the migrations (migrate.go): jobs.pid and jobs.host (owner.go),
// jobs.attempt, and the scratch ledger (scratch.go).
const schema = `
CREATE TABLE IF NOT EXISTS backups (
	id               TEXT PRIMARY KEY,
	database         TEXT NOT NULL,
	engine           TEXT NOT NULL,
	type             TEXT NOT NULL,
	generation       TEXT NOT NULL,
	base             TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	trigger          TEXT NOT NULL DEFAULT '',
	started_at       TEXT NOT NULL,
	finished_at      TEXT NOT NULL,
	duration_seconds REAL NOT NULL,
	raw_bytes        INTEGER NOT NULL,
	stored_bytes     INTEGER NOT NULL,
	referenced_bytes INTEGER NOT NULL,
	tables           INTEGER NOT NULL,
	rows             INTEGER NOT NULL,
	server_version   TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL DEFAULT 'ok',
	verified_at      TEXT NOT NULL DEFAULT '',
	verify_status    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS backups_db ON backups(database, started_at);
CREATE TABLE IF NOT EXISTS jobs (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	kind             TEXT NOT NULL,
	database         TEXT NOT NULL,
	backup_id        TEXT NOT NULL DEFAULT '',
	requested_type   TEXT NOT NULL DEFAULT '',
	target           TEXT NOT NULL DEFAULT '',
	target_database  TEXT NOT NULL DEFAULT '',
	trigger          TEXT NOT NULL DEFAULT '',
	os_user          TEXT NOT NULL DEFAULT '',
	started_at       TEXT NOT NULL,
	finished_at      TEXT NOT NULL DEFAULT '',
	duration_seconds REAL NOT NULL DEFAULT 0,
	bytes            INTEGER NOT NULL DEFAULT 0,
	status           TEXT NOT NULL DEFAULT 'running',
	error            TEXT NOT NULL DEFAULT '',
	details          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_db ON jobs(database, started_at);
`

// Open opens (creating if needed) the catalog in stateDir.
func Open(stateDir string) (*Catalog, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, FileName)
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	_ = os.Chmod(path, 0o600)
	c := &Catalog{db: db, path: path}
	// A job whose process was killed never records its outcome: close it
	// now, so the log does not show it running for ever.
	if _, err := c.ReapDead(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	return c, nil
}

// Path is the catalog file.
func (c *Catalog) Path() string { return c.path }

// Close closes the catalog.
func (c *Catalog) Close() error { return c.db.Close() }

const timeFmt = time.RFC3339Nano

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFmt)
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeFmt, s)
	return t
}

// Backup is one backup as the catalog knows it.
type Backup struct {
	ID              string    `json:"id"`
	Database        string    `json:"database"`
	Engine          string    `json:"engine"`
	Type            string    `json:"type"`
	Generation      string    `json:"generation"`
	Base            string    `json:"base,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	Trigger         string    `json:"trigger,omitempty"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	RawBytes        int64     `json:"raw_bytes"`
	StoredBytes     int64     `json:"stored_bytes"`
	ReferencedBytes int64     `json:"referenced_bytes"`
	Tables          int       `json:"tables"`
	Rows            int64     `json:"rows"`
	ServerVersion   string    `json:"server_version,omitempty"`
	Status          string    `json:"status"`
	VerifiedAt      time.Time `json:"verified_at,omitzero"`
	VerifyStatus    string    `json:"verify_status,omitempty"`
	// Previous is the manifest's link to the backup before it (missing.go);
	// not read back by Backups.
	Previous *repository.Link `json:"-"`
}

// FromManifest is the catalog row of a manifest.
func FromManifest(m *repository.Manifest) Backup {
	b := Backup{
		ID: m.ID, Database: m.Database, Engine: m.Engine, Type: m.Type, Generation: m.Generation,
		Base: m.Base, Reason: m.Reason, Trigger: m.Trigger, StartedAt: m.StartedAt, FinishedAt: m.FinishedAt,
		DurationSeconds: m.Duration().Seconds(), RawBytes: m.Stats.RawBytes, StoredBytes: m.Stats.StoredBytes,
		ReferencedBytes: m.Stats.ReferencedBytes, Status: "ok", Previous: m.Previous,
	}
	if m.Snapshot != nil {
		b.Tables = len(m.Snapshot.Tables)
		b.ServerVersion = m.Snapshot.ServerVersion
		for _, t := range m.Snapshot.Tables {
			b.Rows += t.Rows
		}
	}
	return b
}

// AddBackup records a backup (replacing a row with the same id, keeping its
// verification state).
func (c *Catalog) AddBackup(ctx context.Context, b Backup) error {
	_, err := c.db.ExecContext(ctx, `
INSERT INTO backups (id, database, engine, type, generation, base, reason, trigger, started_at, finished_at,
	duration_seconds, raw_bytes, stored_bytes, referenced_bytes, tables, rows, server_version, status)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(id) DO UPDATE SET database=excluded.database, engine=excluded.engine, type=excluded.type,
	generation=excluded.generation, base=excluded.base, reason=excluded.reason, trigger=excluded.trigger,
	started_at=excluded.started_at, finished_at=excluded.finished_at, duration_seconds=excluded.duration_seconds,
	raw_bytes=excluded.raw_bytes, stored_bytes=excluded.stored_bytes, referenced_bytes=excluded.referenced_bytes,
	tables=excluded.tables, rows=excluded.rows, server_version=excluded.server_version, status=excluded.status`,
		b.ID, b.Database, b.Engine, b.Type, b.Generation, b.Base, b.Reason, b.Trigger, ts(b.StartedAt), ts(b.FinishedAt),
		b.DurationSeconds, b.RawBytes, b.StoredBytes, b.ReferencedBytes, b.Tables, b.Rows, b.ServerVersion, b.Status)
	if err != nil {
		return fmt.Errorf("recording backup %s in the catalog: %w", b.ID, err)
	}
	return c.setPrevious(ctx, b.ID, b.Previous)
}

// SetVerified records the outcome of a verification of backup id.
func (c *Catalog) SetVerified(ctx context.Context, id, status string, at time.Time) error {
	_, err := c.db.ExecContext(ctx, `UPDATE backups SET verify_status = ?, verified_at = ? WHERE id = ?`, status, ts(at), id)
	if err != nil {
		return fmt.Errorf("recording verification of %s: %w", id, err)
	}
	return nil
}

// Backups lists backups of database ("" for all), oldest first.
func (c *Catalog) Backups(ctx context.Context, database string) ([]Backup, error) {
	q := `SELECT id, database, engine, type, generation, base, reason, trigger, started_at, finished_at, duration_seconds,
	raw_bytes, stored_bytes, referenced_bytes, tables, rows, server_version, status, verified_at, verify_status FROM backups`
	var args []any
	if database != "" {
		q += ` WHERE database = ?`
		args = append(args, database)
	}
	q += ` ORDER BY database, id`
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	defer rows.Close()
	var out []Backup
	for rows.Next() {
		var b Backup
		var started, finished, verified string
		if err := rows.Scan(&b.ID, &b.Database, &b.Engine, &b.Type, &b.Generation, &b.Base, &b.Reason, &b.Trigger,
			&started, &finished, &b.DurationSeconds, &b.RawBytes, &b.StoredBytes, &b.ReferencedBytes, &b.Tables, &b.Rows,
			&b.ServerVersion, &b.Status, &verified, &b.VerifyStatus); err != nil {
			return nil, fmt.Errorf("reading the catalog: %w", err)
		}
		b.StartedAt, b.FinishedAt, b.VerifiedAt = parseTS(started), parseTS(finished), parseTS(verified)
		out = append(out, b)
	}
	return out, rows.Err()
}

// RemoveBackupsExcept deletes the rows of database ("" for all) whose ids are
// not in keep: backups that are no longer in the repository.
func (c *Catalog) RemoveBackupsExcept(ctx context.Context, database string, keep map[string]bool) (int, error) {
	have, err := c.Backups(ctx, database)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range have {
		if keep[b.ID] {
			continue
		}
		if _, err := c.db.ExecContext(ctx, `DELETE FROM backups WHERE id = ?`, b.ID); err != nil {
			return n, fmt.Errorf("removing %s from the catalog: %w", b.ID, err)
		}
		n++
	}
	return n, nil
}

// Job is one attempt at a backup, restore, verify or other job. A job the
// daemon retried after a transient error has a row per attempt, with the
// same trigger and Attempt counting from 1.
type Job struct {
	ID              int64          `json:"id"`
	Kind            string         `json:"kind"`
	Database        string         `json:"database"`
	BackupID        string         `json:"backup_id,omitempty"`
	RequestedType   string         `json:"requested_type,omitempty"`
	Target          string         `json:"target,omitempty"`
	TargetDatabase  string         `json:"target_database,omitempty"`
	Trigger         string         `json:"trigger"`
	OSUser          string         `json:"os_user,omitempty"`
	Attempt         int            `json:"attempt"` // 1, or n for the n-th try of a job the daemon retried
	StartedAt       time.Time      `json:"started_at"`
	FinishedAt      time.Time      `json:"finished_at,omitzero"`
	DurationSeconds float64        `json:"duration_seconds"`
	Bytes           int64          `json:"bytes"`
	Status          string         `json:"status"`
	Error           string         `json:"error,omitempty"`
	Details         map[string]any `json:"details,omitempty"`
}

// Job statuses.
const (
	StatusRunning = "running"
	StatusOK      = "ok"
	StatusFailed  = "failed"
	// StatusNotRun is a job that could not do its work for a cause outside
	// what it examines (a verification whose scratch target did not
	// answer): it says nothing about its subject. The error says why.
	StatusNotRun = "not_run"
)

// ErrNotRun marks the error of a job that could not run (StatusNotRun).
var ErrNotRun = errors.New("not run")

// attemptKey carries a job's attempt number in its context.
type attemptKey struct{}

// WithAttempt returns ctx carrying attempt n of a job: the rows StartJob
// records with it get that attempt unless their Job sets one.
//
// It travels in the context because the code that records a job (backup,
// restore, mirror, prune) is a library the daemon's retrying scheduler
// calls into: the attempt labels the job's row and changes nothing those
// libraries do, so they need not know of it.
func WithAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// attemptOf is the attempt of j: its own, that of ctx, or 1.
func attemptOf(ctx context.Context, j Job) int {
	if j.Attempt > 0 {
		return j.Attempt
	}
	if n, ok := ctx.Value(attemptKey{}).(int); ok && n > 0 {
		return n
	}
	return 1
}

// StartJob records that a job started and returns its id. A zero
// j.Attempt takes the attempt of ctx (WithAttempt), or 1.
func (c *Catalog) StartJob(ctx context.Context, j Job) (int64, error) {
	if j.StartedAt.IsZero() {
		j.StartedAt = time.Now()
	}
	res, err := c.db.ExecContext(ctx, `INSERT INTO jobs (kind, database, backup_id, requested_type, target, target_database, trigger, os_user, attempt, started_at, status, pid, host)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, j.Kind, j.Database, j.BackupID, j.RequestedType, j.Target, j.TargetDatabase, j.Trigger, j.OSUser, attemptOf(ctx, j),
		ts(j.StartedAt), StatusRunning, os.Getpid(), hostname())
	if err != nil {
		return 0, fmt.Errorf("recording the start of a %s job: %w", j.Kind, err)
	}
	return res.LastInsertId()
}

// FinishJob records a job's outcome. jobErr nil means success; one that
// wraps ErrNotRun is recorded as StatusNotRun, any other as StatusFailed.
func (c *Catalog) FinishJob(ctx context.Context, id int64, backupID string, bytes int64, jobErr error, details map[string]any) error {
	status, msg := StatusOK, ""
	switch {
	case errors.Is(jobErr, ErrNotRun):
		status, msg = StatusNotRun, jobErr.Error()
	case jobErr != nil:
		status, msg = StatusFailed, jobErr.Error()
	}
	d, err := json.Marshal(details)
	if err != nil || details == nil {
		d = []byte("{}")
	}
	now := time.Now()
	_, err = c.db.ExecContext(ctx, `UPDATE jobs SET finished_at = ?, duration_seconds = (julianday(?) - julianday(started_at)) * 86400.0,
	bytes = ?, status = ?, error = ?, details = ?, backup_id = CASE WHEN ? = '' THEN backup_id ELSE ? END WHERE id = ?`,
		ts(now), ts(now), bytes, status, msg, string(d), backupID, backupID, id)
	if err != nil {
		return fmt.Errorf("recording the outcome of job %d: %w", id, err)
	}
	return nil
}

// JobFilter selects jobs.
type JobFilter struct {
	Database string
	Kind     string
	Since    time.Time
}

// Jobs lists jobs, oldest first.
func (c *Catalog) Jobs(ctx context.Context, f JobFilter) ([]Job, error) {
	var where []string
	var args []any
	if f.Database != "" {
		where, args = append(where, "database = ?"), append(args, f.Database)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, ts(f.Since))
	}
	q := jobColumns
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	jobs, err := c.queryJobs(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the job log: %w", err)
	}
	return jobs, nil
}

// jobColumns selects every column of jobs, in the order queryJobs scans.
const jobColumns = `SELECT id, kind, database, backup_id, requested_type, target, target_database, trigger, os_user, attempt,
	started_at, finished_at, duration_seconds, bytes, status, error, details FROM jobs`

// queryJobs runs a query that starts with jobColumns.
func (c *Catalog) queryJobs(ctx context.Context, q string, args ...any) ([]Job, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		var started, finished, details string
		if err := rows.Scan(&j.ID, &j.Kind, &j.Database, &j.BackupID, &j.RequestedType, &j.Target, &j.TargetDatabase,
			&j.Trigger, &j.OSUser, &j.Attempt, &started, &finished, &j.DurationSeconds, &j.Bytes, &j.Status, &j.Error, &details); err != nil {
			return nil, err
		}
		j.StartedAt, j.FinishedAt = parseTS(started), parseTS(finished)
		_ = json.Unmarshal([]byte(details), &j.Details)
		out = append(out, j)
	}
	return out, rows.Err()
}
