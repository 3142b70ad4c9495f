package enginetest

import (
	"errors"
	"testing"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// repoBackup is a full backup taken through backup.Run into a real
// repository, before the source is mutated.
type repoBackup struct {
	repo *repository.Repo
	full *repository.Manifest
	db   string
}

func (r *runner) repoFull(t *testing.T, src Database) repoBackup {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(t.Context(), st, secret.New("enginetest passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(t.Context(), r.job(src, repo, repository.Full))
	if err != nil {
		t.Fatalf("full backup into the repository: %v", err)
	}
	return repoBackup{repo: repo, full: res.Manifest, db: "conformance"}
}

func (r *runner) job(src Database, repo *repository.Repo, typ string) backup.Job {
	return backup.Job{Database: "conformance", Engine: r.Engine, Conn: src.Conn, Type: typ,
		Parallel: r.Parallel, Repo: repo, Trigger: "test", Logger: r.Logger}
}

// differential: after Mutate, a differential joins the full's generation,
// verifies (restore, statistics, integrity check) on the target server, and
// the full still restores to the state it recorded.
func (r *runner) differential(t *testing.T, src Database, rb repoBackup) {
	res, err := backup.Run(t.Context(), r.job(src, rb.repo, repository.Differential))
	if err != nil {
		t.Fatalf("differential backup: %v", err)
	}
	d := res.Manifest
	if d.Type != repository.Differential || d.Generation != rb.full.ID || d.Base != rb.full.ID {
		t.Fatalf("differential: type %s, generation %s, base %s; want differential of %s (reason: %s)", d.Type, d.Generation, d.Base, rb.full.ID, d.Reason)
	}
	if d.Stats.NewChunks >= d.Stats.Chunks {
		t.Errorf("differential reused no chunk of its full: %d new of %d", d.Stats.NewChunks, d.Stats.Chunks)
	}
	// The differential reflects the source as it is now (after Mutate, when
	// the suite ran in order).
	r.statsEqual(t, src.Conn, src.Name, d.Snapshot.Tables)
	t.Logf("full stored %d bytes, differential %d (%d of %d chunks new)", rb.full.Stats.StoredBytes, d.Stats.StoredBytes, d.Stats.NewChunks, d.Stats.Chunks)

	target := restore.Target{Name: "conformance-target", Conn: r.Target(t), Scratch: true, AllowRestore: true}
	req := restore.Request{Database: "conformance", Engine: r.Engine, Repo: rb.repo, Target: target, Parallel: r.Parallel, Logger: r.Logger}
	for _, id := range []string{d.ID, rb.full.ID} {
		req.BackupID = id
		v, err := restore.Verify(t.Context(), req)
		var verr *restore.VerifyError
		if errors.As(err, &verr) || err != nil {
			t.Fatalf("verify of %s: %v", id, err)
		}
		if !v.Verified || v.Tables != len(d.Snapshot.Tables) {
			t.Fatalf("verify of %s: %+v", id, v)
		}
		if ok, _ := r.Engine.DatabaseExists(t.Context(), target.Conn, v.Scratch); ok {
			t.Errorf("verify left its scratch database %s", v.Scratch)
		}
	}

	// The full restores to the state it recorded, not the mutated one.
	req.BackupID, req.As = rb.full.ID, newName("full")
	r.dropAtCleanup(t, target.Conn, req.As)
	if _, err := restore.Restore(t.Context(), req); err != nil {
		t.Fatalf("restore of the full: %v", err)
	}
	r.statsEqual(t, target.Conn, req.As, rb.full.Snapshot.Tables)
}
