package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
)

func TestJobsAndBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(c.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("catalog file mode: %v %v", fi.Mode(), err)
	}

	id, err := c.StartJob(ctx, Job{Kind: "backup", Database: "queue", RequestedType: "full", Trigger: "cli", OSUser: "dba"})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "rating", Trigger: "schedule"})
	m := &repository.Manifest{ID: "20261126T010000.000Z-aaaa", Database: "queue", Engine: "postgres", Type: "full",
		Generation: "20261126T010000.000Z-aaaa", StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now(),
		Snapshot: &engines.Snapshot{ServerVersion: "15.4", Tables: []engines.TableStats{{Rows: 10}, {Rows: 5}}},
		Stats:    repository.Stats{RawBytes: 1000, StoredBytes: 300}}
	if err := c.AddBackup(ctx, FromManifest(m)); err != nil {
		t.Fatal(err)
	}
	if err := c.FinishJob(ctx, id, m.ID, 300, nil, map[string]any{"type": "full"}); err != nil {
		t.Fatal(err)
	}
	if err := c.FinishJob(ctx, id2, "", 0, errors.New("connection refused"), nil); err != nil {
		t.Fatal(err)
	}
	jobs, err := c.Jobs(ctx, JobFilter{})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	if j := jobs[0]; j.Status != StatusOK || j.BackupID != m.ID || j.Bytes != 300 || j.OSUser != "dba" || j.FinishedAt.IsZero() || j.Details["type"] != "full" {
		t.Errorf("finished job: %+v", j)
	}
	if j := jobs[1]; j.Status != StatusFailed || j.Error != "connection refused" {
		t.Errorf("failed job: %+v", j)
	}
	if js, _ := c.Jobs(ctx, JobFilter{Database: "rating"}); len(js) != 1 {
		t.Errorf("filter by database: %d jobs", len(js))
	}
	if js, _ := c.Jobs(ctx, JobFilter{Since: time.Now().Add(time.Hour)}); len(js) != 0 {
		t.Errorf("filter by since: %d jobs", len(js))
	}

	bs, err := c.Backups(ctx, "queue")
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups: %v %v", bs, err)
	}
	if b := bs[0]; b.Rows != 15 || b.Tables != 2 || b.StoredBytes != 300 || b.Status != "ok" || b.DurationSeconds < 59 {
		t.Errorf("backup row: %+v", b)
	}
	if err := c.SetVerified(ctx, m.ID, "ok", time.Now()); err != nil {
		t.Fatal(err)
	}
	// Re-adding (a sync) keeps the verification state.
	if err := c.AddBackup(ctx, FromManifest(m)); err != nil {
		t.Fatal(err)
	}
	bs, _ = c.Backups(ctx, "")
	if bs[0].VerifyStatus != "ok" || bs[0].VerifiedAt.IsZero() {
		t.Errorf("verification state lost: %+v", bs[0])
	}
	n, err := c.RemoveBackupsExcept(ctx, "", map[string]bool{})
	if err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}

	// Reopening keeps everything (the file is the log).
	c.Close()
	c, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if js, _ := c.Jobs(ctx, JobFilter{}); len(js) != 2 {
		t.Fatalf("jobs after reopen: %d", len(js))
	}
}

// TestReapDead: a job whose process died is closed as interrupted when the
// catalog is next opened; jobs of live processes and of other hosts stay.
func TestReapDead(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mine, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "queue"})
	dead, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "rating"})
	other, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "hall"})
	// A live process other than this one (a CLI beside the daemon), a pid
	// that does not exist, and another host.
	if _, err := c.db.Exec(`UPDATE jobs SET pid = ? WHERE id = ?`, os.Getppid(), mine); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Exec(`UPDATE jobs SET pid = 2147483000 WHERE id = ?`, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Exec(`UPDATE jobs SET host = 'elsewhere' WHERE id = ?`, other); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	jobs, _ := c.Jobs(ctx, JobFilter{})
	status := map[int64]Job{}
	for _, j := range jobs {
		status[j.ID] = j
	}
	if j := status[dead]; j.Status != StatusFailed || !strings.Contains(j.Error, "interrupted") {
		t.Errorf("job of a dead process: %+v", j)
	}
	if status[mine].Status != StatusRunning || status[other].Status != StatusRunning {
		t.Errorf("live or foreign jobs were closed: %+v %+v", status[mine], status[other])
	}
	// The daemon's start-up closes what a previous run left, not a live CLI job.
	if n, err := c.AbandonRunning(ctx, "interrupted: the daemon stopped"); err != nil || n != 1 {
		t.Errorf("AbandonRunning closed %d (%v), want only the other host's job", n, err)
	}
}
