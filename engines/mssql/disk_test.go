package mssql

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
	"github.com/dbopsd/dbopsd/internal/testlog"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// The backup_dir fallback's half that runs here: files in a temporary
// directory stand in for the stripes SQL Server's BACKUP … TO DISK writes
// and reads with RESTORE … FROM DISK; the repository is real (local
// storage).

func diskRepo(t *testing.T) *repository.Repo {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(context.Background(), st, secret.New("backup_dir test"))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// pages is a stripe's bytes: 8 KiB pages, some repeated.
func pages(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]byte, 0, size)
	page := make([]byte, 8192)
	for len(out) < size {
		if r.IntN(4) != 0 {
			for i := range page {
				page[i] = byte(r.Uint32())
			}
		}
		out = append(out, page[:min(len(page), size-len(out))]...)
	}
	return out
}

// writeStripes stands in for BACKUP … TO DISK.
func writeStripes(paths []string, stripes [][]byte) error {
	for i, p := range paths {
		if err := os.WriteFile(p, stripes[i], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func leftIn(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestBackupDirRoundTrip: three stripes (one of several 4 MiB blocks, one
// of exactly one, one short) go into the repository as the parts and
// stripe index a backup to URL stores, the files are deleted, and a
// restore writes them back byte for byte into files it deletes after.
func TestBackupDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	repo := diskRepo(t)
	share := t.TempDir()
	dir, _ := backupDir(engines.Conn{BackupDir: `\\fs1\dbops`, BackupDirLocal: share})
	server, files := dir.files("销售 o'b", 3)
	if !strings.HasPrefix(server[0], `\\fs1\dbops\dbopsd-`) || filepath.Dir(files[0]) != share {
		t.Fatalf("paths %q %q", server, files)
	}
	stripes := [][]byte{pages(1, 2*maxTransferSize+12345), pages(2, maxTransferSize), pages(3, 100)}
	names := []string{"a_1_of_3.bak", "a_2_of_3.bak", "a_3_of_3.bak"}

	w, err := repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: engineName, Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	if err := filesIntoRepository(ctx, w, files, names, nil, func() error { return writeStripes(files, stripes) }); err != nil {
		t.Fatal(err)
	}
	if left := leftIn(t, share); len(left) != 0 {
		t.Errorf("backup_dir still holds %q after the backup", left)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: engineName})
	if err != nil {
		t.Fatal(err)
	}

	src := repo.Source(m)
	blobs, err := readIndex(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 3 || len(blobs[0].Blocks) != 3 || len(blobs[1].Blocks) != 1 || len(blobs[2].Blocks) != 1 {
		t.Fatalf("stripe index: %+v", blobs)
	}
	for i, b := range blobs {
		if b.Name != names[i] || b.Size != int64(len(stripes[i])) {
			t.Errorf("stripe %d: %s, %d bytes; want %s, %d", i, b.Name, b.Size, names[i], len(stripes[i]))
		}
		for _, blk := range b.Blocks {
			if blk.Size > maxTransferSize {
				t.Errorf("block %s of %d bytes, above MAXTRANSFERSIZE", blk.Part, blk.Size)
			}
		}
	}

	// What the directory stored, the listener serves: a restore FROM URL
	// reads the same stripes.
	ts := httptest.NewUnstartedServer(nil)
	srv := blobsrv.New(blobsrv.Options{URL: "https://dbopsd.test"})
	ts.Config.Handler = srv
	ts.StartTLS()
	defer ts.Close()
	c := srv.Send(ctx, src, blobs, time.Now().Add(time.Hour))
	defer c.Close()
	for i, b := range blobs {
		u := strings.Replace(c.BlobURL(b.Name), "https://dbopsd.test", ts.URL, 1) + "?" + c.SAS()
		resp, err := ts.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, stripes[i]) {
			t.Errorf("stripe %d through the listener: %s, %d bytes, %v", i, resp.Status, len(got), err)
		}
	}

	restoreShare := t.TempDir()
	rdir, _ := backupDir(engines.Conn{BackupDir: restoreShare})
	_, rfiles := rdir.files("sales", len(blobs))
	restored := false
	err = filesFromRepository(ctx, src, blobs, rfiles, nil, func() error {
		for i, f := range rfiles { // what RESTORE … FROM DISK reads
			got, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, stripes[i]) {
				t.Errorf("stripe %d: %d bytes back, not the %d stored", i, len(got), len(stripes[i]))
			}
		}
		restored = true
		return nil
	})
	if err != nil || !restored {
		t.Fatalf("restore: %v", err)
	}
	if left := leftIn(t, restoreShare); len(left) != 0 {
		t.Errorf("backup_dir still holds %q after the restore", left)
	}
}

// TestBackupDirFailures: a BACKUP that fails after writing part of its
// files, and a read into the repository cut short, leave no file behind;
// the backup aborted on the error leaves nothing listed. A restore whose
// RESTORE fails deletes the files it wrote.
func TestBackupDirFailures(t *testing.T) {
	ctx := context.Background()
	repo := diskRepo(t)
	share := t.TempDir()
	dir, _ := backupDir(engines.Conn{BackupDir: share})
	_, files := dir.files("sales", 2)
	names := []string{"s_1_of_2.bak", "s_2_of_2.bak"}
	stripes := [][]byte{pages(4, maxTransferSize+5), pages(5, 3*maxTransferSize)}

	sqlFailed := errors.New("Msg 3013: BACKUP DATABASE is terminating abnormally")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range []struct {
		name   string
		ctx    context.Context
		backup func() error
		want   error
	}{
		{"BACKUP failed midway", ctx, func() error {
			os.WriteFile(files[0], stripes[0], 0o600)
			os.WriteFile(files[1], stripes[1][:1000], 0o600)
			return sqlFailed
		}, sqlFailed},
		{"job cancelled while reading", cctx, func() error {
			err := writeStripes(files, stripes)
			cancel()
			return err
		}, context.Canceled},
	} {
		w, err := repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: engineName, Type: repository.Full})
		if err != nil {
			t.Fatal(err)
		}
		err = filesIntoRepository(c.ctx, w, files, names, nil, c.backup)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		w.Abort(err)
		if left := leftIn(t, share); len(left) != 0 {
			t.Errorf("%s: backup_dir still holds %q", c.name, left)
		}
		refs, err := repo.ListManifests(ctx, "sales")
		if err != nil || len(refs) != 0 {
			t.Errorf("%s: the repository lists %v, %v", c.name, refs, err)
		}
	}

	// A restore whose RESTORE fails: its files are deleted too.
	w, err := repo.NewBackup(ctx, repository.BackupOptions{Database: "sales", Engine: engineName, Type: repository.Full})
	if err != nil {
		t.Fatal(err)
	}
	if err := filesIntoRepository(ctx, w, files, names, nil, func() error { return writeStripes(files, stripes) }); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(ctx, &engines.Snapshot{Engine: engineName})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := readIndex(ctx, repo.Source(m))
	if err != nil {
		t.Fatal(err)
	}
	restoreFailed := errors.New("Msg 3201: cannot open backup device")
	if err := filesFromRepository(ctx, repo.Source(m), blobs, files, nil, func() error { return restoreFailed }); !errors.Is(err, restoreFailed) {
		t.Errorf("restore: %v", err)
	}
	if left := leftIn(t, share); len(left) != 0 {
		t.Errorf("backup_dir still holds %q after a failed restore", left)
	}
}

// TestBackupDirFileLeft: a file of backup_dir that cannot be deleted (here
// a non-empty directory where a stripe was to be) fails a job that
// otherwise succeeded, naming backup_dir, and is only a warning for a job
// that failed already, whose error stays.
func TestBackupDirFileLeft(t *testing.T) {
	share := t.TempDir()
	stuck := filepath.Join(share, "stuck")
	if err := os.MkdirAll(filepath.Join(stuck, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, DisableTime: true})
	job := func(failed error) (err error) {
		defer removeFiles([]string{stuck, filepath.Join(share, "never written")}, "the backup files", log, &err)
		return failed
	}
	if err := job(nil); err == nil || !strings.Contains(err.Error(), "deleting the backup files from backup_dir") {
		t.Errorf("a job that succeeded, its file left: %v", err)
	}
	if logs.String() != "" {
		t.Errorf("logged besides the error: %s", logs)
	}
	failed := errors.New("Msg 3013: BACKUP DATABASE is terminating abnormally")
	if err := job(failed); err != failed {
		t.Errorf("a job that failed, its file left: %v, want its own error", err)
	}
	if logs.Lines("the backup files stay in backup_dir") == "" {
		t.Errorf("no warning: %q", logs)
	}
}
