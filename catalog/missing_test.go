package catalog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

func writeBackup(t *testing.T, r *repository.Repo, typ string, base *repository.Manifest) *repository.Manifest {
	t.Helper()
	ctx := context.Background()
	time.Sleep(2 * time.Millisecond) // ids sort in the order written
	w, err := r.NewBackup(ctx, repository.BackupOptions{Database: "queue", Engine: "postgres", Type: typ, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := w.CreatePart(ctx, engines.PartInfo{Name: "t"})
	if _, err := pw.Write(bytes.Repeat([]byte("row\n"), 10_000)); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSyncReportsMissing: a manifest deleted by hand is reported by Sync
// (from the repository's chain and the catalog's memory), still after a
// rebuild when the repository shows it, never after prune.
func TestSyncReportsMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, _ := local.New(dir)
	r, err := repository.Init(ctx, st, secret.New("pass"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	full := writeBackup(t, r, repository.Full, nil)
	diff := writeBackup(t, r, repository.Differential, full)
	last := writeBackup(t, r, repository.Differential, full)
	sync := func(what string, want ...string) {
		t.Helper()
		res, err := c.Sync(ctx, r, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range res.Missing {
			got = append(got, m.ID)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Fatalf("%s: missing %+v, want %v", what, res.Missing, want)
		}
	}
	sync("intact")
	path := func(m *repository.Manifest) string { return filepath.Join(dir, filepath.FromSlash(m.Key())) }

	saved, _ := os.ReadFile(path(diff))
	if err := os.Remove(path(diff)); err != nil {
		t.Fatal(err)
	}
	sync("middle manifest deleted", diff.ID)
	if _, err := c.Rebuild(ctx, r); err != nil {
		t.Fatal(err)
	}
	sync("middle manifest deleted, after a rebuild", diff.ID)
	if err := os.WriteFile(path(diff), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	sync("put back")

	// The newest and the head gone: the chain cannot tell which backup,
	// the catalog can.
	if err := os.Remove(path(last)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "heads", "queue")); err != nil {
		t.Fatal(err)
	}
	sync("newest manifest and head deleted", "", last.ID)
	sync("again", "", last.ID)
	if res, err := c.Rebuild(ctx, r); err != nil || len(res.Missing) != 1 || res.Missing[0].ID != "" {
		t.Fatalf("rebuild: %+v %v", res, err)
	}

	// A new head; prune is no deletion to report.
	writeBackup(t, r, repository.Full, nil)
	sync("after a new full")
	if _, err := r.Prune(ctx, repository.PruneOptions{Policies: map[string]repository.RetentionPolicy{"queue": {Generations: 1}}}); err != nil {
		t.Fatal(err)
	}
	sync("after prune")
}
