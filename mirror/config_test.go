package mirror

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository"
)

// TestMirrorFollowsFormat: a format 2 repository that moves to format 3
// (its first full with row fingerprints) rewrites its config with the same
// size; the next mirror run copies it all the same.
func TestMirrorFollowsFormat(t *testing.T) {
	ctx := context.Background()
	primary, err := repository.InitVersionForTest(ctx, localStore(t), pass, 2)
	if err != nil {
		t.Fatal(err)
	}
	backup(t, primary, "queue", repository.Full, nil, rows(1, 100<<10))
	mst := localStore(t)
	if _, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	w, err := primary.NewBackup(ctx, repository.BackupOptions{Database: "queue", Engine: "postgres", Type: repository.Full, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := w.CreatePart(ctx, engines.PartInfo{Name: "t", Kind: engines.KindTable, Table: &engines.TableRef{Name: "t"}, Shape: "1:x"})
	if err != nil {
		t.Fatal(err)
	}
	// Rows of random hex: their fingerprints are worth storing.
	for i := range 1000 {
		fmt.Fprintf(pw, "%d\t%016x%016x%016x%016x%016x%016x%016x%016x\n", i, rand.Uint64(), rand.Uint64(), rand.Uint64(),
			rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, &engines.Snapshot{Engine: "postgres"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Options{Primary: primary, Mirror: mst, Name: "offsite", Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	rc, err := mst.Get(ctx, repository.ConfigKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if !strings.Contains(string(b), `"version": 3`) {
		t.Fatalf("the mirror's config after the primary moved to format 3:\n%s", b)
	}
}
