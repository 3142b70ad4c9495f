package catalog

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Catalog files as released dbopsd versions left them, before user_version
// was kept (it is 0 in both). Written out here rather than taken from the
// code, which moves on.
const (
	// The first catalogs: the backups and jobs tables only.
	firstLayout = `
CREATE TABLE backups (
	id TEXT PRIMARY KEY, database TEXT NOT NULL, engine TEXT NOT NULL, type TEXT NOT NULL, generation TEXT NOT NULL,
	base TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', trigger TEXT NOT NULL DEFAULT '',
	started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_seconds REAL NOT NULL, raw_bytes INTEGER NOT NULL,
	stored_bytes INTEGER NOT NULL, referenced_bytes INTEGER NOT NULL, tables INTEGER NOT NULL, rows INTEGER NOT NULL,
	server_version TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'ok', verified_at TEXT NOT NULL DEFAULT '',
	verify_status TEXT NOT NULL DEFAULT '');
CREATE INDEX backups_db ON backups(database, started_at);
CREATE TABLE jobs (
	id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, database TEXT NOT NULL,
	backup_id TEXT NOT NULL DEFAULT '', requested_type TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
	target_database TEXT NOT NULL DEFAULT '', trigger TEXT NOT NULL DEFAULT '', os_user TEXT NOT NULL DEFAULT '',
	started_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '', duration_seconds REAL NOT NULL DEFAULT 0,
	bytes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'running', error TEXT NOT NULL DEFAULT '',
	details TEXT NOT NULL DEFAULT '{}');
CREATE INDEX jobs_db ON jobs(database, started_at);
INSERT INTO backups (id, database, engine, type, generation, started_at, finished_at, duration_seconds, raw_bytes,
	stored_bytes, referenced_bytes, tables, rows, verify_status, verified_at)
VALUES ('20250302T010000.000Z-aaaa', 'queue', 'postgres', 'full', '20250302T010000.000Z-aaaa',
	'2025-03-02T01:00:00Z', '2025-03-02T01:05:00Z', 300, 1000, 300, 300, 2, 15, 'ok', '2025-03-02T02:00:00Z');
INSERT INTO jobs (kind, database, backup_id, requested_type, trigger, started_at, finished_at, duration_seconds, bytes, status)
VALUES ('backup', 'queue', '20250302T010000.000Z-aaaa', 'full', 'schedule', '2025-03-02T01:00:00Z', '2025-03-02T01:05:00Z', 300, 300, 'ok');
INSERT INTO jobs (kind, database, requested_type, trigger, started_at, finished_at, status, error)
VALUES ('backup', 'rating', 'differential', 'retry', '2025-03-02T03:00:00Z', '2025-03-02T03:00:01Z', 'failed', 'connection refused');
`
	// The release before attempts: owner columns and the scratch ledger too.
	ownerLayout = firstLayout + `
ALTER TABLE jobs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE TABLE scratch_databases (
	id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, server TEXT NOT NULL DEFAULT '',
	engine TEXT NOT NULL DEFAULT '', name TEXT NOT NULL, purpose TEXT NOT NULL DEFAULT '',
	database TEXT NOT NULL DEFAULT '', backup_id TEXT NOT NULL DEFAULT '', job_id INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL, state TEXT NOT NULL, dropped_at TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '');
CREATE INDEX scratch_databases_name ON scratch_databases(target, name, state);
INSERT INTO scratch_databases (target, name, purpose, database, created_at, state)
VALUES ('scratch-pg', 'dbopsd_verify_queue_x', 'verify', 'queue', '2025-03-02T02:00:00Z', 'dropped');
`
)

// writeCatalog makes a catalog file in dir from SQL, as an older dbopsd
// would have left it.
func writeCatalog(t *testing.T, dir, script string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
}

func userVersion(t *testing.T, c *Catalog) int {
	t.Helper()
	var v int
	if err := c.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOldCatalogMigrates: catalogs left by earlier releases open with
// their backups, jobs and scratch ledger as they were, their jobs as first
// attempts, and take new jobs with attempts; opening again changes nothing.
func TestOldCatalogMigrates(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, layout string
		scratchRows  int
	}{
		{"first release", firstLayout, 0},
		{"release before attempts", ownerLayout, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCatalog(t, dir, tc.layout)
			c, err := Open(dir)
			if err != nil {
				t.Fatalf("opening an old catalog: %v", err)
			}
			defer func() { c.Close() }()
			if v := userVersion(t, c); v != len(migrations) {
				t.Errorf("schema version %d after opening, want %d", v, len(migrations))
			}
			jobs, err := c.Jobs(ctx, JobFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != 2 {
				t.Fatalf("%d jobs after the migration, want 2: %+v", len(jobs), jobs)
			}
			if j := jobs[0]; j.Attempt != 1 || j.Status != StatusOK || j.BackupID != "20250302T010000.000Z-aaaa" || j.Bytes != 300 ||
				j.Trigger != "schedule" || !j.StartedAt.Equal(time.Date(2025, 3, 2, 1, 0, 0, 0, time.UTC)) {
				t.Errorf("old job: %+v", j)
			}
			if j := jobs[1]; j.Attempt != 1 || j.Status != StatusFailed || j.Error != "connection refused" {
				t.Errorf("old failed job: %+v", j)
			}
			bs, err := c.Backups(ctx, "queue")
			if err != nil || len(bs) != 1 || bs[0].VerifyStatus != StatusOK || bs[0].Rows != 15 {
				t.Errorf("old backups: %+v %v", bs, err)
			}
			ss, err := c.ScratchDatabases(ctx, ScratchFilter{})
			if err != nil || len(ss) != tc.scratchRows {
				t.Errorf("scratch ledger: %+v %v, want %d rows", ss, err, tc.scratchRows)
			}
			// New jobs record their attempt, and their owner.
			id, err := c.RecordJob(WithAttempt(ctx, 2), Job{Kind: "backup", Database: "rating", RequestedType: "differential", Trigger: "retry"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var pid int
			if err := c.db.QueryRow(`SELECT pid FROM jobs WHERE id = ?`, id).Scan(&pid); err != nil || pid == 0 {
				t.Errorf("the new job's pid: %d %v", pid, err)
			}
			// Opening again is a no-op.
			c.Close()
			if c, err = Open(dir); err != nil {
				t.Fatalf("opening the migrated catalog again: %v", err)
			}
			jobs, _ = c.Jobs(ctx, JobFilter{})
			if len(jobs) != 3 || jobs[2].Attempt != 2 || userVersion(t, c) != len(migrations) {
				t.Errorf("after reopening: %+v, schema version %d", jobs, userVersion(t, c))
			}
		})
	}

	// A catalog a newer dbopsd migrated further: opened as it is, its
	// version left alone.
	t.Run("newer release", func(t *testing.T) {
		dir := t.TempDir()
		c, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		newer := len(migrations) + 3
		if _, err := c.db.Exec(`ALTER TABLE jobs ADD COLUMN something_new TEXT NOT NULL DEFAULT ''`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.Exec(`PRAGMA user_version = ` + strconv.Itoa(newer)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if c, err = Open(dir); err != nil {
			t.Fatalf("opening a catalog of a newer release: %v", err)
		}
		defer c.Close()
		if _, err := c.RecordJob(ctx, Job{Kind: "prune", Trigger: "schedule"}, nil); err != nil {
			t.Fatal(err)
		}
		if jobs, err := c.Jobs(ctx, JobFilter{}); err != nil || len(jobs) != 1 || jobs[0].Attempt != 1 {
			t.Errorf("jobs: %+v %v", jobs, err)
		}
		if v := userVersion(t, c); v != newer {
			t.Errorf("schema version %d, want %d left alone", v, newer)
		}
	})
}

// TestJobAttempt: a job's attempt comes from the Job, else from its
// context, else it is 1; the panic and early-failure rows the daemon
// writes whole (RecordJob) keep theirs.
func TestJobAttempt(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	third := WithAttempt(ctx, 3)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		job  Job
		want int
	}{
		{"first attempt", ctx, Job{}, 1},
		{"from the context", third, Job{}, 3},
		{"the job's own", third, Job{Attempt: 2}, 2},
		{"nonsense in the context", WithAttempt(ctx, -1), Job{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.Kind, tc.job.Database, tc.job.Trigger = "backup", "queue", "schedule"
			id, err := c.StartJob(tc.ctx, tc.job)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.FinishJob(tc.ctx, id, "", 0, errors.New("connection refused"), nil); err != nil {
				t.Fatal(err)
			}
			jobs, err := c.Jobs(ctx, JobFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if j := jobs[len(jobs)-1]; j.ID != id || j.Attempt != tc.want {
				t.Errorf("job %d has attempt %d, want %d", j.ID, j.Attempt, tc.want)
			}
		})
	}
	id, err := c.RecordJob(third, Job{Kind: "verify", Database: "queue", Trigger: "after-backup"}, errors.New("panicked"))
	if err != nil {
		t.Fatal(err)
	}
	if latest, _ := c.LatestJobs(ctx); len(latest) == 0 || latest[len(latest)-1].ID != id || latest[len(latest)-1].Attempt != 3 {
		t.Errorf("newest jobs: %+v", latest)
	}
}
