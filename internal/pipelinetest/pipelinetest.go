// Package pipelinetest is the production-path case of the engine
// conformance suite: a full and a cumulative differential backup taken with
// backup.Run into a real repository on local storage, verified with
// restore.Verify and restored with restore.Restore. It implements
// enginetest.Pipeline; it lives here, above backup and restore, because
// enginetest may import nothing above engines (ARCHITECTURE.md, "Layers").
//
//	enginetest.Run(t, enginetest.Setup{..., Pipeline: pipelinetest.New()})
package pipelinetest

import (
	"errors"
	"testing"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// database is the name the backups are recorded under.
const database = "conformance"

// New returns the pipeline for one run of the suite.
func New() enginetest.Pipeline { return &pipeline{} }

// pipeline holds the full backup taken before the source is mutated.
type pipeline struct {
	repo *repository.Repo
	full *repository.Manifest
}

func (p *pipeline) Full(t *testing.T, s enginetest.Setup, src enginetest.Database) {
	t.Helper()
	repo := newRepo(t)
	res, err := backup.Run(t.Context(), job(s, src, repo, repository.Full))
	if err != nil {
		t.Fatalf("full backup into the repository: %v", err)
	}
	p.repo, p.full = repo, res.Manifest
}

// newRepo initialises a repository on local storage in a test directory.
func newRepo(t *testing.T) *repository.Repo {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(t.Context(), st, secret.New("enginetest passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func job(s enginetest.Setup, src enginetest.Database, repo *repository.Repo, typ string) backup.Job {
	return backup.Job{Database: database, Engine: s.Engine, Conn: src.Conn, Type: typ,
		Parallel: s.Parallel, Repo: repo, Trigger: "test", Logger: s.Logger}
}

// Differential: after Mutate, a differential joins the full's generation,
// verifies (restore, statistics, integrity check) on the target server, and
// the full still restores to the state it recorded.
func (p *pipeline) Differential(t *testing.T, s enginetest.Setup, src enginetest.Database) {
	if p.full == nil {
		t.Fatal("pipelinetest: Differential before Full")
	}
	res, err := backup.Run(t.Context(), job(s, src, p.repo, repository.Differential))
	if err != nil {
		t.Fatalf("differential backup: %v", err)
	}
	d := res.Manifest
	if d.Type != repository.Differential || d.Generation != p.full.ID || d.Base != p.full.ID {
		t.Fatalf("differential: type %s, generation %s, base %s; want differential of %s (reason: %s)", d.Type, d.Generation, d.Base, p.full.ID, d.Reason)
	}
	if d.Stats.NewChunks >= d.Stats.Chunks {
		t.Errorf("differential reused no chunk of its full: %d new of %d", d.Stats.NewChunks, d.Stats.Chunks)
	}
	// The differential reflects the source as it is now (after Mutate, when
	// the suite ran in order).
	s.StatsEqual(t, src.Conn, src.Name, d.Snapshot.Tables)
	t.Logf("full stored %d bytes, differential %d (%d of %d chunks new)", p.full.Stats.StoredBytes, d.Stats.StoredBytes, d.Stats.NewChunks, d.Stats.Chunks)

	target := restore.Target{Name: "conformance-target", Conn: s.Target(t), Scratch: true, AllowRestore: true}
	req := restore.Request{Database: database, Engine: s.Engine, Repo: p.repo, Target: target, Parallel: s.Parallel, Logger: s.Logger}
	for _, id := range []string{d.ID, p.full.ID} {
		req.BackupID = id
		v, err := restore.Verify(t.Context(), req)
		var verr *restore.VerifyError
		if errors.As(err, &verr) || err != nil {
			t.Fatalf("verify of %s: %v", id, err)
		}
		if !v.Verified || v.Tables != len(d.Snapshot.Tables) {
			t.Fatalf("verify of %s: %+v", id, v)
		}
		if ok, _ := s.Engine.DatabaseExists(t.Context(), target.Conn, v.Scratch); ok {
			t.Errorf("verify left its scratch database %s", v.Scratch)
		}
	}

	// The full restores to the state it recorded, not the mutated one.
	req.BackupID, req.As = p.full.ID, enginetest.NewName("full")
	s.DropAtCleanup(t, target.Conn, req.As)
	if _, err := restore.Restore(t.Context(), req); err != nil {
		t.Fatalf("restore of the full: %v", err)
	}
	s.StatsEqual(t, target.Conn, req.As, p.full.Snapshot.Tables)
}
