package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Jobs record the process that runs them (pid and host), so that a job
// whose process died without recording an outcome (kill -9, power loss) can
// be told apart from one that is still running in another process.

// migrateJobOwner adds the pid and host columns to catalogs made before them.
func migrateJobOwner(db *sql.DB) error {
	for _, col := range []string{"pid INTEGER NOT NULL DEFAULT 0", "host TEXT NOT NULL DEFAULT ''"} {
		if err := addColumn(db, "jobs", col); err != nil {
			return err
		}
	}
	return nil
}

func isDuplicateColumn(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "duplicate column")
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// alive reports whether process pid exists on this host.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ReapDead marks failed every running job whose process, on this host, no
// longer exists. Jobs of live processes, of other hosts and of catalogs from
// before pids were recorded are left alone. It returns how many it closed.
func (c *Catalog) ReapDead(ctx context.Context) (int64, error) {
	return c.closeRunning(ctx, func(pid int, host string) (bool, string) {
		if pid <= 0 || host != hostname() || alive(pid) {
			return false, ""
		}
		return true, fmt.Sprintf("interrupted: process %d on %s ended without recording an outcome (killed?)", pid, host)
	})
}

// closeRunning marks failed the running jobs for which decide says so.
func (c *Catalog) closeRunning(ctx context.Context, decide func(pid int, host string) (bool, string)) (int64, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, pid, host FROM jobs WHERE status = ?`, StatusRunning)
	if err != nil {
		return 0, fmt.Errorf("reading running jobs: %w", err)
	}
	type victim struct {
		id  int64
		msg string
	}
	var victims []victim
	for rows.Next() {
		var id int64
		var pid int
		var host string
		if err := rows.Scan(&id, &pid, &host); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading running jobs: %w", err)
		}
		if ok, msg := decide(pid, host); ok {
			victims = append(victims, victim{id, msg})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading running jobs: %w", err)
	}
	now := ts(time.Now())
	for _, v := range victims {
		if _, err := c.db.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ?`,
			StatusFailed, v.msg, now, v.id, StatusRunning); err != nil {
			return 0, fmt.Errorf("closing job %d: %w", v.id, err)
		}
	}
	return int64(len(victims)), nil
}
