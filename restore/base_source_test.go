package restore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
)

// recordingEngine is the real PostgreSQL adapter, with the restore
// requests it was given kept for the test to look at.
type recordingEngine struct {
	engines.Engine
	reqs []engines.RestoreRequest
}

func (e *recordingEngine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, src engines.PartSource) (*engines.RestoreReport, error) {
	e.reqs = append(e.reqs, req)
	return e.Engine.Restore(ctx, target, req, src)
}

// TestDifferentialBaseSource: restoring a differential hands the engine the
// parts of its full (what SQL Server's native differentials restore on);
// restoring a full hands none.
func TestDifferentialBaseSource(t *testing.T) {
	f := newFixture(t)
	rec := &recordingEngine{Engine: f.eng}
	src := f.src
	res, err := backup.Run(t.Context(), backup.Job{Database: "hall", Engine: f.eng, Conn: src,
		Type: repository.Differential, Parallel: 2, Repo: f.repo, Catalog: f.cat, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	diff := res.Manifest
	if diff.Type != repository.Differential || diff.Base != f.full.ID {
		t.Fatalf("the second backup is %s on %q", diff.Type, diff.Base)
	}
	for _, id := range []string{diff.ID, f.full.ID} {
		as := fmt.Sprintf("restore_base_%d", dbSeq.Add(1))
		t.Cleanup(func() { f.eng.DropDatabase(context.Background(), f.target.Conn, as) })
		req := f.request()
		req.Engine, req.As, req.BackupID = rec, as, id
		if _, err := restore.Restore(t.Context(), req); err != nil {
			t.Fatalf("restoring %s: %v", id, err)
		}
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d restore requests", len(rec.reqs))
	}
	if rec.reqs[1].BaseSource != nil {
		t.Error("a full's restore was given a base")
	}
	if rec.reqs[0].BaseSource == nil {
		t.Fatal("a differential's restore was given no base")
	}
	base, err := rec.reqs[0].BaseSource(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, p := range f.full.Parts {
		want = append(want, p.Name)
	}
	for _, p := range base.Parts() {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("the base's parts %q, the full's %q", got, want)
	}
	rc, err := base.Open(t.Context(), got[0])
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}
