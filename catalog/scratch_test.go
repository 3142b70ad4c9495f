package catalog

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchLedger(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	job, err := c.StartJob(ctx, Job{Kind: "verify", Database: "queue"})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	a, err := c.RecordScratch(ctx, Scratch{Target: "scratch-pg", Server: "10.1.1.50:5432", Engine: "postgres", Name: "dbopsd_verify_queue_a",
		Purpose: "verify", Database: "queue", BackupID: "a", JobID: job, CreatedAt: old})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RecordScratch(ctx, Scratch{Target: "scratch-pg", Name: "queue_drill", Purpose: "drill"})
	if err != nil {
		t.Fatal(err)
	}

	rows, err := c.ScratchDatabases(ctx, ScratchFilter{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("all rows: %+v %v", rows, err)
	}
	if r := rows[0]; r.ID != a || r.State != ScratchCreated || !r.JobRunning || r.Server != "10.1.1.50:5432" || r.BackupID != "a" ||
		!r.CreatedAt.Equal(old) || !r.DroppedAt.IsZero() {
		t.Errorf("row a: %+v", r)
	}
	if rows[1].JobRunning || rows[1].CreatedAt.IsZero() {
		t.Errorf("row b: %+v", rows[1])
	}
	if rows, _ := c.ScratchDatabases(ctx, ScratchFilter{Before: time.Now().Add(-time.Minute)}); len(rows) != 1 || rows[0].ID != a {
		t.Errorf("before: %+v", rows)
	}
	if rows, _ := c.ScratchDatabases(ctx, ScratchFilter{Target: "scratch-pg", Name: "queue_drill"}); len(rows) != 1 || rows[0].ID != b {
		t.Errorf("by name: %+v", rows)
	}

	if err := c.FinishJob(ctx, job, "a", 0, errors.New("boom"), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetScratchState(ctx, a, ScratchDropped, "dropped by the job that created it"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetScratchState(ctx, b, ScratchKept, "keep"); err != nil {
		t.Fatal(err)
	}
	rows, _ = c.ScratchDatabases(ctx, ScratchFilter{States: []string{ScratchCreated, ScratchKept}})
	if len(rows) != 1 || rows[0].ID != b || rows[0].Note != "keep" || !rows[0].DroppedAt.IsZero() {
		t.Errorf("live rows: %+v", rows)
	}
	rows, _ = c.ScratchDatabases(ctx, ScratchFilter{States: []string{ScratchDropped}})
	if len(rows) != 1 || rows[0].ID != a || rows[0].JobRunning || rows[0].DroppedAt.IsZero() {
		t.Errorf("dropped rows: %+v", rows)
	}
	if err := c.SetScratchState(ctx, a, "gone", ""); err == nil {
		t.Error("an unknown state was accepted")
	}
	if err := c.SetScratchState(ctx, 999, ScratchDropped, ""); err == nil {
		t.Error("a missing row was updated")
	}
}

// A catalog made before the ledger existed gets it when opened.
func TestScratchLedgerMigration(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.RecordScratch(t.Context(), Scratch{Target: "t", Name: "n", Purpose: "verify"}); err != nil {
		t.Fatal(err)
	}
}
