package catalog

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Queries the daemon asks of the catalog: the newest successes per
// database (due-ness, metrics), the newest attempt per kind (status), and
// the bookkeeping of jobs that never finished.

// Latest is one database's newest successful backups and verification.
type Latest struct {
	Full       time.Time // start of the newest successful full
	FullID     string
	FullVerify string // verify_status of that full: "", "ok", "failed"
	// Backup is the start of the newest successful backup of any type.
	Backup       time.Time
	BackupID     string
	BackupType   string
	BackupVerify string
	BackupStored int64 // stored bytes of that backup
	// Verified is when the newest successful verification finished.
	Verified time.Time
}

// Latest returns the newest successes of every database that has any.
func (c *Catalog) Latest(ctx context.Context) (map[string]Latest, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT database, type, id, started_at, stored_bytes, verify_status, verified_at FROM backups WHERE status = 'ok'`)
	if err != nil {
		return nil, fmt.Errorf("reading the newest backups from the catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]Latest{}
	for rows.Next() {
		var db, typ, id, started, vstatus, verified string
		var stored int64
		if err := rows.Scan(&db, &typ, &id, &started, &stored, &vstatus, &verified); err != nil {
			return nil, fmt.Errorf("reading the newest backups from the catalog: %w", err)
		}
		l := out[db]
		at := parseTS(started)
		if typ == "full" && !at.Before(l.Full) {
			l.Full, l.FullID, l.FullVerify = at, id, vstatus
		}
		if !at.Before(l.Backup) {
			l.Backup, l.BackupID, l.BackupType, l.BackupVerify, l.BackupStored = at, id, typ, vstatus, stored
		}
		if vstatus == StatusOK {
			if v := parseTS(verified); v.After(l.Verified) {
				l.Verified = v
			}
		}
		out[db] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the newest backups from the catalog: %w", err)
	}
	return out, nil
}

// LastSuccess returns when the newest successful job of kind for database
// started ("" database: site-wide jobs such as prune). kind is a job kind
// ("backup", "verify", "prune", "mirror", ...) or a backup type ("full",
// "differential"), for which the backups table answers. Zero when none.
func (c *Catalog) LastSuccess(ctx context.Context, database, kind string) (time.Time, error) {
	var q string
	switch kind {
	case "full", "differential":
		q = `SELECT started_at FROM backups WHERE status = 'ok' AND database = ? AND type = ?`
	default:
		q = `SELECT started_at FROM jobs WHERE status = 'ok' AND database = ? AND kind = ?`
	}
	rows, err := c.db.QueryContext(ctx, q, database, kind)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the last successful %s of %q: %w", kind, database, err)
	}
	defer rows.Close()
	var last time.Time
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return time.Time{}, fmt.Errorf("reading the last successful %s of %q: %w", kind, database, err)
		}
		if t := parseTS(s); t.After(last) {
			last = t
		}
	}
	return last, rows.Err()
}

// LastSuccesses returns, for each of kinds, when its newest successful job
// started, by database ("" for site-wide jobs).
func (c *Catalog) LastSuccesses(ctx context.Context, kinds ...string) (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	if len(kinds) == 0 {
		return out, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
		out[k] = map[string]time.Time{}
	}
	rows, err := c.db.QueryContext(ctx, `SELECT kind, database, MAX(started_at) FROM jobs
WHERE status = 'ok' AND kind IN (?`+strings.Repeat(",?", len(kinds)-1)+`) GROUP BY kind, database`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the last successful jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, db, at string
		if err := rows.Scan(&kind, &db, &at); err != nil {
			return nil, fmt.Errorf("reading the last successful jobs: %w", err)
		}
		out[kind][db] = parseTS(at)
	}
	return out, rows.Err()
}

// LatestJobs returns the newest job of each database, kind and requested
// type (the last full and differential attempt, the last verify, ...),
// whatever its outcome.
func (c *Catalog) LatestJobs(ctx context.Context) ([]Job, error) {
	jobs, err := c.queryJobs(ctx, jobColumns+`
	WHERE id IN (SELECT MAX(id) FROM jobs GROUP BY database, kind, requested_type) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading the newest jobs: %w", err)
	}
	return jobs, nil
}

// RecordJob writes a whole job at once: one that failed before it could
// start properly (the repository did not open), or a panic recovered
// after its start was recorded elsewhere.
func (c *Catalog) RecordJob(ctx context.Context, j Job, jobErr error) (int64, error) {
	id, err := c.StartJob(ctx, j)
	if err != nil {
		return 0, err
	}
	return id, c.FinishJob(ctx, id, j.BackupID, j.Bytes, jobErr, j.Details)
}

// FailUnfinished marks the jobs of database and kind that started at or
// after since and are still "running" as failed with msg: jobs whose
// runner died (a panic) before it could record the outcome. It returns how
// many it marked.
func (c *Catalog) FailUnfinished(ctx context.Context, database, kind string, since time.Time, msg string) (int64, error) {
	now := time.Now()
	res, err := c.db.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, finished_at = ?,
	duration_seconds = (julianday(?) - julianday(started_at)) * 86400.0
	WHERE status = ? AND database = ? AND kind = ? AND started_at >= ?`,
		StatusFailed, msg, ts(now), ts(now), StatusRunning, database, kind, ts(since))
	if err != nil {
		return 0, fmt.Errorf("recording the failure of the %s of %q: %w", kind, database, err)
	}
	return res.RowsAffected()
}

// AbandonRunning marks every job still "running" as failed with msg, except
// those of live processes on this host (a CLI backup running beside the
// daemon). The daemon calls it at start: what a previous daemon was running
// belonged to a process that is gone (crash, kill -9, power loss).
func (c *Catalog) AbandonRunning(ctx context.Context, msg string) (int64, error) {
	self := os.Getpid()
	n, err := c.closeRunning(ctx, func(pid int, host string) (bool, string) {
		// A CLI backup running beside the daemon is not abandoned.
		if host == hostname() && pid != self && alive(pid) {
			return false, ""
		}
		return true, msg
	})
	if err != nil {
		return n, fmt.Errorf("closing the jobs of a previous run: %w", err)
	}
	return n, nil
}
