package repository

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/local"
	"github.com/dbopsd/dbopsd/storage/s3"
)

// chainStorages are the storages the missing-manifest tests run on.
var chainStorages = []struct {
	name string
	new  func(t *testing.T) storage.Storage
}{
	{"local", func(t *testing.T) storage.Storage {
		st, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"minio", func(t *testing.T) storage.Storage {
		srv := harness.SharedMinIO(t)
		st, err := s3.New(context.Background(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket(t),
			AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// chainBackups writes full, differential, full, differential of "queue".
func chainBackups(t *testing.T, r *Repo) []*Manifest {
	t.Helper()
	var ms []*Manifest
	var full *Manifest
	for i, typ := range []string{Full, Differential, Full, Differential} {
		time.Sleep(2 * time.Millisecond) // ids sort in the order written
		m := backupParts(t, r, typ, full, map[string][]byte{"t": data(uint64(20+i), 50_000)})
		if typ == Full {
			full = m
		}
		ms = append(ms, m)
	}
	return ms
}

func checkProblems(t *testing.T, r *Repo) *CheckResult {
	t.Helper()
	res, err := r.Check(context.Background(), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMissingManifest deletes each manifest in turn, the newest included:
// check names the missing backup, also after another backup and after the
// head is deleted too; putting the manifest back makes check clean again.
func TestMissingManifest(t *testing.T) {
	for _, sc := range chainStorages {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.new(t)
			r, err := Init(ctx, st, pass)
			if err != nil {
				t.Fatal(err)
			}
			ms := chainBackups(t, r)
			if res := checkProblems(t, r); !res.OK() {
				t.Fatalf("check of an intact repository: %+v", res.Problems)
			}
			if ms[0].Previous == nil || ms[0].Previous.ID != "" || ms[3].Previous == nil || ms[3].Previous.ID != ms[2].ID {
				t.Fatalf("chain: first %+v, last %+v", ms[0].Previous, ms[3].Previous)
			}
			for i, m := range ms {
				saved := get(t, st, m.Key())
				if err := st.Delete(ctx, m.Key()); err != nil {
					t.Fatal(err)
				}
				res := checkProblems(t, r)
				if res.OK() || len(res.Damaged) != 1 || res.Damaged[0] != m.ID || !strings.Contains(res.Problems[0].Problem, "missing") {
					t.Fatalf("backup %d of 4 deleted: check found %+v, damaged %v", i+1, res.Problems, res.Damaged)
				}
				missing, err := r.Missing(ctx, "queue")
				if err != nil || len(missing) != 1 || missing[0].ID != m.ID {
					t.Fatalf("Missing: %+v %v", missing, err)
				}
				put(t, st, m.Key(), saved)
				if res := checkProblems(t, r); !res.OK() {
					t.Fatalf("manifest put back: %+v", res.Problems)
				}
			}

			// The newest deleted: restoring "the newest" says so.
			newest := ms[3]
			saved := get(t, st, newest.Key())
			if err := st.Delete(ctx, newest.Key()); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			r.SetLogger(hclog.New(&hclog.LoggerOptions{Output: &logs}))
			m, err := r.FindBackup(ctx, "queue", "")
			if err != nil || m.ID != ms[2].ID || !strings.Contains(logs.String(), newest.ID) || !strings.Contains(logs.String(), "missing") {
				t.Fatalf("FindBackup of the newest with it deleted: %v %v; logged:\n%s", m, err, logs.String())
			}
			// A later backup keeps the gap visible: it follows the deleted one.
			time.Sleep(2 * time.Millisecond)
			later := backupParts(t, r, Full, nil, map[string][]byte{"t": data(30, 50_000)})
			if later.Previous.ID != newest.ID {
				t.Fatalf("the backup after a deleted newest one follows %+v", later.Previous)
			}
			if res := checkProblems(t, r); len(res.Damaged) != 1 || res.Damaged[0] != newest.ID {
				t.Fatalf("after another backup: %+v", res.Problems)
			}
			put(t, st, newest.Key(), saved)

			// The newest and the head deleted.
			if err := st.Delete(ctx, later.Key()); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, headKey("queue")); err != nil {
				t.Fatal(err)
			}
			res := checkProblems(t, r)
			if res.OK() || !strings.Contains(res.Problems[0].Object, headKey("queue")) {
				t.Fatalf("newest manifest and head deleted: %+v", res.Problems)
			}
		})
	}
}

// TestMissingAfterPrune: what prune deletes is not missing; a damaged head
// is reported.
func TestMissingAfterPrune(t *testing.T) {
	ctx := context.Background()
	r, _ := testRepo(t)
	ms := chainBackups(t, r)
	res, err := r.Prune(ctx, PruneOptions{Policies: map[string]RetentionPolicy{"queue": {Generations: 1}}})
	if err != nil || res.DeletedBackups != 2 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	if res := checkProblems(t, r); !res.OK() {
		t.Fatalf("check after prune: %+v", res.Problems)
	}
	time.Sleep(2 * time.Millisecond)
	backupParts(t, r, Differential, ms[2], map[string][]byte{"t": data(31, 50_000)})
	if res := checkProblems(t, r); !res.OK() {
		t.Fatalf("check after prune and another backup: %+v", res.Problems)
	}

	b := get(t, r.st, headKey("queue"))
	b[len(b)/2] ^= 1
	put(t, r.st, headKey("queue"), b)
	if res := checkProblems(t, r); res.OK() || res.Problems[0].Object != headKey("queue") {
		t.Fatalf("check with a damaged head: %+v", res.Problems)
	}
}

func get(t *testing.T, st storage.Storage, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func put(t *testing.T, st storage.Storage, key string, b []byte) {
	t.Helper()
	if err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestOnlyBackupDeleted: with the only backup's manifest gone, "no backup"
// says that one is missing.
func TestOnlyBackupDeleted(t *testing.T) {
	ctx := context.Background()
	r, _ := testRepo(t)
	m := backupParts(t, r, Full, nil, map[string][]byte{"t": data(40, 10_000)})
	if err := r.st.Delete(ctx, m.Key()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.FindBackup(ctx, "queue", ""); err == nil || !strings.Contains(err.Error(), m.ID) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("FindBackup with the only manifest deleted: %v", err)
	}
	if res := checkProblems(t, r); len(res.Damaged) != 1 || res.Damaged[0] != m.ID {
		t.Fatalf("check: %+v", res.Problems)
	}
}

// TestCopyAnchors: a copy of the repository without the heads and prune
// records reports the head missing; CopyAnchors brings them over, after
// which the copy checks clean, also for what prune deleted.
func TestCopyAnchors(t *testing.T) {
	ctx := context.Background()
	r, _ := testRepo(t)
	ms := chainBackups(t, r)
	if _, err := r.Prune(ctx, PruneOptions{Policies: map[string]RetentionPolicy{"queue": {Generations: 1}}}); err != nil {
		t.Fatal(err)
	}
	dst, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := r.st.List(ctx, "", func(oi storage.ObjectInfo) error { keys = append(keys, oi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, headsPrefix) && !strings.HasPrefix(key, prunedPrefix) {
			put(t, dst, key, get(t, r.st, key))
		}
	}
	mirror, err := Open(ctx, dst, pass)
	if err != nil {
		t.Fatal(err)
	}
	if res := checkProblems(t, mirror); res.OK() || res.Problems[0].Object != headKey("queue") {
		t.Fatalf("copy without the head: %+v", res.Problems)
	}
	if err := r.CopyAnchors(ctx, mirror); err != nil {
		t.Fatal(err)
	}
	if res := checkProblems(t, mirror); !res.OK() {
		t.Fatalf("copy with the anchors: %+v", res.Problems)
	}
	if err := dst.Delete(ctx, ms[3].Key()); err != nil {
		t.Fatal(err)
	}
	if res := checkProblems(t, mirror); len(res.Damaged) != 1 || res.Damaged[0] != ms[3].ID {
		t.Fatalf("the copy's newest deleted: %+v", res.Problems)
	}
}
