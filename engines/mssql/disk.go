package mssql

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
)

// The backup_dir fallback, for servers that cannot reach the blob listener
// or trust its certificate: BACKUP … TO DISK striped into files of a
// directory both hosts see (backup_dir as SQL Server names it,
// backup_dir_local as dbopsd does), which dbopsd then reads into the
// repository and deletes; a restore writes the stripes back there, has SQL
// Server RESTORE … FROM DISK, and deletes them. The backup's parts are the
// ones a backup to URL has: each stripe cut into blocks of
// MAXTRANSFERSIZE, one part each (blocks/NNNNNN), and the index of the
// stripes (blobs.json). Either path restores what the other took.

// diskDir is backup_dir of c as both sides name it.
type diskDir struct {
	server string // as SQL Server names it: "\\fs1\dbops", "/var/opt/mssql/dbops"
	local  string // as dbopsd does
}

func backupDir(c engines.Conn) (diskDir, bool) {
	if c.BackupDir == "" {
		return diskDir{}, false
	}
	local := c.BackupDirLocal
	if local == "" {
		local = c.BackupDir
	}
	return diskDir{server: c.BackupDir, local: local}, true
}

// files names stripes files of one backup or restore in d: random, so that
// two jobs never share a file, and recognisable as dbopsd's. It returns the
// paths as SQL Server and as dbopsd see them.
func (d diskDir) files(database string, stripes int) (server, local []string) {
	b := make([]byte, 6)
	rand.Read(b)
	sep := "/"
	if strings.Contains(d.server, `\`) {
		sep = `\`
	}
	for i := range stripes {
		name := fmt.Sprintf("dbopsd-%s_%s_%d_of_%d.bak", hex.EncodeToString(b), safeBlobName(database), i+1, stripes)
		server = append(server, strings.TrimRight(d.server, `\/`)+sep+name)
		local = append(local, filepath.Join(d.local, name))
	}
	return server, local
}

// removeFiles deletes the files of a backup or restore, what they are
// named in messages, whatever the job's outcome (deferred, err the job's
// error); a file that is not there (the BACKUP failed before creating it)
// is no error. A file that cannot be deleted is the job's error when it
// had none, else a warning on log.
func removeFiles(paths []string, what string, log hclog.Logger, err *error) {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	rerr := errors.Join(errs...)
	switch {
	case rerr == nil:
	case *err == nil:
		*err = fmt.Errorf("deleting %s from backup_dir: %w", what, rerr)
	case log != nil:
		log.Warn(what+" stay in backup_dir", "error", rerr)
	}
}

// storeFiles reads each stripe file into the backup, in blocks of
// maxTransferSize, each block a part, and returns the stripes as blobs of
// names[i] (the blob index a backup to URL writes).
func storeFiles(ctx context.Context, sink engines.PartSink, paths, names []string) ([]blobsrv.Blob, error) {
	var blobs []blobsrv.Blob
	seq := 0
	buf := make([]byte, maxTransferSize)
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("reading stripe %d of %d from backup_dir: %w", i+1, len(paths), err)
		}
		b := blobsrv.Blob{Name: names[i], Modified: time.Now().UTC()}
		err = func() error {
			defer f.Close()
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				n, err := io.ReadFull(f, buf)
				if n > 0 {
					seq++
					blk := blobsrv.Block{ID: diskBlockID(len(b.Blocks)), Part: fmt.Sprintf("%s%06d", partBlockPrefix, seq), Size: int64(n)}
					if err := writePart(ctx, sink, blk.Part, buf[:n]); err != nil {
						return err
					}
					b.Blocks = append(b.Blocks, blk)
					b.Size += int64(n)
				}
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil
				}
				if err != nil {
					return err
				}
			}
		}()
		if err != nil {
			return nil, fmt.Errorf("reading %s into the repository: %w", p, err)
		}
		blobs = append(blobs, b)
	}
	return blobs, nil
}

func writePart(ctx context.Context, sink engines.PartSink, name string, data []byte) error {
	w, err := sink.CreatePart(ctx, engines.PartInfo{Name: name, Kind: engines.KindNative, Format: blobsrv.FormatBlock})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// diskBlockID names block i of a stripe read from a file as SQL Server
// names the blocks it sends: fixed-length, base64.
func diskBlockID(i int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return base64.StdEncoding.EncodeToString(b[:])
}

// writeFiles writes each stripe of the index back into a file of paths,
// from the backup's block parts, for RESTORE … FROM DISK. A partial file
// is left for the caller's removeFiles.
func writeFiles(ctx context.Context, src engines.PartSource, blobs []blobsrv.Blob, paths []string) error {
	if len(paths) != len(blobs) {
		return fmt.Errorf("%d files for %d stripes", len(paths), len(blobs))
	}
	for i, b := range blobs {
		if err := writeFile(ctx, src, b, paths[i]); err != nil {
			return fmt.Errorf("writing stripe %s into backup_dir: %w", b.Name, err)
		}
	}
	return nil
}

func writeFile(ctx context.Context, src engines.PartSource, b blobsrv.Blob, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	var size int64
	for _, blk := range b.Blocks {
		rc, err := src.Open(ctx, blk.Part)
		if err != nil {
			f.Close()
			return err
		}
		n, err := io.Copy(f, rc)
		rc.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("part %s: %w", blk.Part, err)
		}
		if n != blk.Size {
			f.Close()
			return fmt.Errorf("part %s holds %d bytes, its block %d", blk.Part, n, blk.Size)
		}
		size += n
	}
	if size != b.Size {
		f.Close()
		return fmt.Errorf("%d bytes written, the stripe has %d", size, b.Size)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
