package history_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
)

type sample struct {
	Database string `json:"database"`
	Bytes    int64  `json:"bytes"`
}

// TestSaveListRebuild: documents saved through the store are listed in
// time order from the catalog, survive a catalog rebuilt from the
// repository alone, and are copied to a mirror that lacks them.
func TestSaveListRebuild(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pass := secret.New("history test passphrase")
	repo, err := repository.Init(ctx, st, pass)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	store := history.Store{Repo: repo, Catalog: cat}

	day := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 30; i++ {
		id, err := store.Save(ctx, history.KindVolume, "queue", day.AddDate(0, 0, i), sample{"queue", int64(1000 + i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := store.Save(ctx, history.KindVolume, "rating", day, sample{"rating", 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Save(ctx, "../x", "queue", day, sample{}); err == nil {
		t.Error("a kind that is no path segment was accepted")
	}

	docs, err := store.List(ctx, catalog.DocumentQuery{Kind: history.KindVolume, Database: "queue", Since: day.AddDate(0, 0, 10), Until: day.AddDate(0, 0, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 10 || docs[0].ID != ids[10] || docs[9].ID != ids[19] || !docs[0].TakenAt.Equal(day.AddDate(0, 0, 10)) {
		t.Fatalf("window: %d documents, first %+v", len(docs), docs[0])
	}
	var s sample
	if err := json.Unmarshal(docs[3].Body, &s); err != nil || s.Bytes != 1013 {
		t.Errorf("body: %+v %v", s, err)
	}
	latest, ok, err := store.Latest(ctx, history.KindVolume, "queue", day.AddDate(0, 0, 5))
	if err != nil || !ok || latest.ID != ids[4] {
		t.Errorf("latest before day 5: %v %v %v", latest.ID, ok, err)
	}

	// A catalog rebuilt from the repository has them all again.
	cat2, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat2.Close()
	res, err := cat2.Rebuild(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Documents != 31 {
		t.Errorf("rebuild read %d documents, want 31", res.Documents)
	}
	all, err := history.Store{Catalog: cat2}.List(ctx, catalog.DocumentQuery{Kind: history.KindVolume})
	if err != nil || len(all) != 31 || !all[0].TakenAt.Equal(day) {
		t.Fatalf("after rebuild: %d documents, %v", len(all), err)
	}
	if err := (history.Store{Catalog: cat2}).Load(ctx, history.KindVolume, "queue", ids[29], &s); err != nil || s.Bytes != 1029 {
		t.Errorf("load after rebuild: %+v %v", s, err)
	}

	// A mirror of the same repository gets the documents it lacks, once.
	mst, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := copyRepoKeys(ctx, st, mst); err != nil {
		t.Fatal(err)
	}
	mirror, err := repository.Open(ctx, mst, pass)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := repo.CopyDocuments(ctx, mirror); err != nil || n != 31 {
		t.Fatalf("copied %d documents: %v", n, err)
	}
	if n, err := repo.CopyDocuments(ctx, mirror); err != nil || n != 0 {
		t.Errorf("second copy copied %d: %v", n, err)
	}
	if err := (history.Store{Repo: mirror, Catalog: cat}).Load(ctx, history.KindVolume, "rating", "no-such-id", &s); err == nil {
		t.Error("loading a document that does not exist succeeded")
	}
	refs, err := mirror.ListDocuments(ctx, history.KindVolume, "queue")
	if err != nil || len(refs) != 30 {
		t.Fatalf("mirror lists %d queue documents: %v", len(refs), err)
	}
	if b, err := mirror.GetDocument(ctx, refs[0]); err != nil || len(b) == 0 {
		t.Errorf("reading a mirrored document: %v", err)
	}
}

// copyRepoKeys makes dst a mirror of the repository on src as far as
// opening it goes: the config and the key files.
func copyRepoKeys(ctx context.Context, src, dst storage.Storage) error {
	keys := []string{repository.ConfigKey}
	if err := src.List(ctx, repository.KeysPrefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		rc, err := src.Get(ctx, k)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := dst.Put(ctx, k, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}
