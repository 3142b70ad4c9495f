package backup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// TestDifferentialBaseInsideTheChain: a full outside the server's native
// chain (SQL Server COPY_ONLY, taken by hand) is never a differential's
// base: the differential is based on the newest full inside the chain and
// says so, or becomes a full when there is none.
func TestDifferentialBaseInsideTheChain(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("plan test"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	full := func(outside bool) *repository.Manifest {
		t.Helper()
		at = at.Add(time.Hour)
		w, err := repo.NewBackup(ctx, repository.BackupOptions{ID: repository.NewBackupID(at), Database: "sales", Engine: "mssql", Type: repository.Full})
		if err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx, &engines.Snapshot{Engine: "mssql", OutsideChain: outside})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	first := full(true)
	p, err := decide(ctx, repo, "sales", repository.Differential)
	if err != nil || p.Type != repository.Full || !strings.Contains(p.Reason, first.ID) {
		t.Errorf("only a copy-only full: plan %s (%q), %v; want a full naming %s", p.Type, p.Reason, err, first.ID)
	}
	chain := full(false)
	byHand := full(true)
	p, err = decide(ctx, repo, "sales", repository.Differential)
	if err != nil || p.Type != repository.Differential || p.Base == nil || p.Base.ID != chain.ID {
		t.Fatalf("plan %+v, %v; want a differential of %s", p, err, chain.ID)
	}
	if !strings.Contains(p.Reason, byHand.ID) || !strings.Contains(p.Reason, chain.ID) {
		t.Errorf("the reason does not say which full was passed over: %q", p.Reason)
	}
	next := full(false)
	p, err = decide(ctx, repo, "sales", repository.Differential)
	if err != nil || p.Base == nil || p.Base.ID != next.ID || p.Reason != "" {
		t.Errorf("plan %+v, %v; want a differential of the newest full %s, no reason", p, err, next.ID)
	}
}
