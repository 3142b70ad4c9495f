package catalog

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLatestAndLastSuccess(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	t0 := time.Date(2025, 3, 2, 1, 0, 0, 0, time.UTC)
	add := func(id, db, typ string, at time.Time, status string) {
		t.Helper()
		if err := c.AddBackup(ctx, Backup{ID: id, Database: db, Engine: "postgres", Type: typ, Generation: "g", StartedAt: at,
			FinishedAt: at.Add(time.Minute), StoredBytes: int64(len(id)), Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	add("f1", "queue", "full", t0, "ok")
	add("d1", "queue", "differential", t0.AddDate(0, 0, 7), "ok")
	add("d2", "queue", "differential", t0.AddDate(0, 0, 14), "ok")
	add("f0", "queue", "full", t0.AddDate(0, -1, 0), "ok")
	add("f9", "rating", "full", t0.Add(time.Hour), "ok")
	if err := c.SetVerified(ctx, "f1", "ok", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetVerified(ctx, "d1", "failed", t0.AddDate(0, 0, 7).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l, err := c.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := l["queue"]
	if !q.Full.Equal(t0) || q.FullID != "f1" || q.FullVerify != "ok" || q.BackupID != "d2" || q.BackupType != "differential" ||
		q.BackupVerify != "" || !q.Verified.Equal(t0.Add(time.Hour)) || q.BackupStored != 2 {
		t.Errorf("queue: %+v", q)
	}
	if r := l["rating"]; r.FullID != "f9" || r.BackupID != "f9" || !r.Verified.IsZero() {
		t.Errorf("rating: %+v", r)
	}

	last, err := c.LastSuccess(ctx, "queue", "differential")
	if err != nil || !last.Equal(t0.AddDate(0, 0, 14)) {
		t.Errorf("LastSuccess(queue, differential) = %s, %v", last, err)
	}

	// Jobs: prune (site-wide) and a failed one.
	id, _ := c.StartJob(ctx, Job{Kind: "prune", Trigger: "schedule", StartedAt: t0})
	_ = c.FinishJob(ctx, id, "", 0, nil, nil)
	id, _ = c.StartJob(ctx, Job{Kind: "prune", Trigger: "schedule", StartedAt: t0.Add(24 * time.Hour)})
	_ = c.FinishJob(ctx, id, "", 0, errors.New("storage down"), nil)
	last, err = c.LastSuccess(ctx, "", "prune")
	if err != nil || !last.Equal(t0) {
		t.Errorf("LastSuccess(prune) = %s, %v", last, err)
	}
	ls, err := c.LastSuccesses(ctx, "prune", "mirror")
	if err != nil || !ls["prune"][""].Equal(t0) || len(ls["mirror"]) != 0 {
		t.Errorf("LastSuccesses = %v, %v", ls, err)
	}
	jobs, err := c.LatestJobs(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].Status != StatusFailed || jobs[0].Error != "storage down" {
		t.Errorf("LatestJobs = %+v, %v", jobs, err)
	}
}

func TestUnfinishedJobs(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	old, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "queue", StartedAt: start.Add(-time.Hour)})
	cur, _ := c.StartJob(ctx, Job{Kind: "backup", Database: "queue", StartedAt: start.Add(time.Second)})
	other, _ := c.StartJob(ctx, Job{Kind: "verify", Database: "queue", StartedAt: start.Add(time.Second)})
	n, err := c.FailUnfinished(ctx, "queue", "backup", start, "backup of queue panicked: boom")
	if err != nil || n != 1 {
		t.Fatalf("FailUnfinished marked %d, %v", n, err)
	}
	status := func(id int64) Job {
		jobs, _ := c.Jobs(ctx, JobFilter{})
		for _, j := range jobs {
			if j.ID == id {
				return j
			}
		}
		return Job{}
	}
	if j := status(cur); j.Status != StatusFailed || j.Error != "backup of queue panicked: boom" || j.FinishedAt.IsZero() {
		t.Errorf("the panicked job: %+v", j)
	}
	if j := status(old); j.Status != StatusRunning {
		t.Errorf("an older job was touched: %+v", j)
	}
	n, err = c.AbandonRunning(ctx, "interrupted: the daemon stopped")
	if err != nil || n != 2 {
		t.Fatalf("AbandonRunning marked %d, %v", n, err)
	}
	if j := status(other); j.Status != StatusFailed || j.Error != "interrupted: the daemon stopped" {
		t.Errorf("abandoned: %+v", j)
	}
	id, err := c.RecordJob(ctx, Job{Kind: "backup", Database: "rating", RequestedType: "full", Trigger: "schedule"}, errors.New("repository: wrong passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if j := status(id); j.Status != StatusFailed || j.Trigger != "schedule" {
		t.Errorf("recorded: %+v", j)
	}
}
