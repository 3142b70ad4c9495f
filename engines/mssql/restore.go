package mssql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// A restore serves the backup's stripes back through the blob listener
// (a read-only container with its own SAS) and has SQL Server run
// RESTORE … FROM URL: FILELISTONLY to plan, then RESTORE DATABASE WITH
// MOVE for every file into the target's default data and log paths,
// REPLACE only when the request says so.

// Restore implements engines.Engine. A differential is restored as SQL
// Server restores one: its full WITH NORECOVERY, then the differential
// WITH RECOVERY.
func (e *Engine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	rep, err := e.restore(ctx, target, req, source)
	return rep, classify(err)
}

func (e *Engine) restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	if len(req.Tables) > 0 {
		return e.restoreTables(ctx, target, req, source)
	}
	sources := []engines.PartSource{source}
	if req.Snapshot != nil && req.Snapshot.Meta[MetaBackupType] == "I" {
		if req.BaseSource == nil {
			return nil, fault.Permanent(errors.New("a SQL Server differential is restored on its full backup, and this restore was given none"))
		}
		full, err := req.BaseSource(ctx)
		if err != nil {
			return nil, err
		}
		sources = []engines.PartSource{full, source}
	}
	dir, throughDir := backupDir(target)
	var srv *blobsrv.Server
	if !throughDir {
		var err error
		if srv, err = blobServer(); err != nil {
			return nil, err
		}
	}
	db, err := open(ctx, target, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	exists, err := e.DatabaseExists(ctx, target, req.Database)
	if err != nil {
		return nil, err
	}
	if exists && !req.Replace {
		return nil, fmt.Errorf("database %s on the target: %w", req.Database, engines.ErrExists)
	}
	info, err := readServer(ctx, db)
	if err != nil {
		return nil, err
	}
	if req.Snapshot != nil {
		if err := restorable(req.Snapshot.ServerVersion, info.version); err != nil {
			return nil, err
		}
	}
	rep := &engines.RestoreReport{}
	for i, src := range sources {
		first, last := i == 0, i == len(sources)-1
		o := restoreOptions{Recovery: last, Replace: first && req.Replace}
		var err error
		if throughDir {
			err = e.restoreThroughDir(ctx, db, dir, src, req, info, first, o, rep)
		} else {
			err = e.restoreStripes(ctx, db, srv, src, req, info, first, o, rep)
		}
		if err != nil {
			return nil, fmt.Errorf("restoring database %s: %w", req.Database, err)
		}
	}
	rep.AddSkipped(engines.Note{Key: NoteLoginsNotRestored, Params: engines.Params{"database": req.Database}})
	return rep, nil
}

// restoreStripes runs one RESTORE DATABASE from the stripes of src, served
// by the listener; the first one of a restore moves the files.
func (e *Engine) restoreStripes(ctx context.Context, db *sql.DB, srv *blobsrv.Server, src engines.PartSource, req engines.RestoreRequest,
	info server, first bool, o restoreOptions, rep *engines.RestoreReport) error {
	blobs, err := readIndex(ctx, src)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := srv.Send(cctx, src, blobs, time.Now().Add(credentialLifetime))
	defer c.Close()
	var urls []string
	for _, b := range blobs {
		urls = append(urls, c.BlobURL(b.Name))
	}
	return withCredential(ctx, db, c, func() error {
		return restoreFrom(ctx, db, "URL", urls, req, info, first, o, rep)
	})
}

// restoreThroughDir is the backup_dir fallback of restoreStripes: the
// stripes are written into files of dir, restored FROM DISK, and deleted
// in any case.
func (e *Engine) restoreThroughDir(ctx context.Context, db *sql.DB, dir diskDir, src engines.PartSource, req engines.RestoreRequest,
	info server, first bool, o restoreOptions, rep *engines.RestoreReport) error {
	blobs, err := readIndex(ctx, src)
	if err != nil {
		return err
	}
	server, local := dir.files(req.Database, len(blobs))
	return filesFromRepository(ctx, src, blobs, local, req.Logger, func() error {
		return restoreFrom(ctx, db, "DISK", server, req, info, first, o, rep)
	})
}

// filesFromRepository writes the stripes of blobs from src into the files
// local, runs restore (SQL Server's RESTORE … FROM DISK), and deletes the
// files whatever happened.
func filesFromRepository(ctx context.Context, src engines.PartSource, blobs []blobsrv.Blob, local []string, log hclog.Logger, restore func() error) (err error) {
	defer removeFiles(local, "the restored stripes", log, &err)
	if err := writeFiles(ctx, src, blobs, local); err != nil {
		return err
	}
	return restore()
}

// restoreFrom plans the files (the first restore of a chain) and runs
// RESTORE DATABASE from devices of kind.
func restoreFrom(ctx context.Context, db *sql.DB, kind string, devices []string, req engines.RestoreRequest,
	info server, first bool, o restoreOptions, rep *engines.RestoreReport) error {
	var moves []move
	if first {
		files, err := fileList(ctx, db, kind, devices)
		if err != nil {
			return err
		}
		if moves, err = plan(files, req.Database, info); err != nil {
			return err
		}
	}
	s, err := restoreDatabase(req.Database, kind, devices, moves, o)
	if err != nil {
		return fault.Permanent(err)
	}
	if req.Logger != nil {
		req.Logger.Debug("restoring", "database", req.Database, "statement", s.String())
	}
	if err := exec(ctx, db, s); err != nil {
		return err
	}
	if first {
		rep.AddNote(engines.Note{Key: NoteFilesMoved, Params: engines.Params{"count": strconv.Itoa(len(moves)), "data_path": info.defaultData, "log_path": info.defaultLog}})
	}
	return nil
}

func readIndex(ctx context.Context, source engines.PartSource) ([]blobsrv.Blob, error) {
	rc, err := source.Open(ctx, partBlobs)
	if err != nil {
		return nil, fmt.Errorf("opening the stripe index: %w", err)
	}
	defer rc.Close()
	var blobs []blobsrv.Blob
	if err := json.NewDecoder(rc).Decode(&blobs); err != nil {
		return nil, fmt.Errorf("reading the stripe index: %w", err)
	}
	if len(blobs) == 0 {
		return nil, fault.Permanent(errors.New("the backup's stripe index names no stripe"))
	}
	return blobs, nil
}

// backupFile is a row of RESTORE FILELISTONLY.
type backupFile struct {
	Logical, Physical, Type string // Type: D data, L log, S FILESTREAM, F full-text
}

func fileList(ctx context.Context, db *sql.DB, kind string, devices []string) ([]backupFile, error) {
	s, err := restoreOnly("FILELISTONLY", kind, devices)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	rows, err := db.QueryContext(ctx, s.sql, s.params()...)
	if err != nil {
		return nil, fmt.Errorf("RESTORE FILELISTONLY: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []backupFile
	for rows.Next() {
		// The column set grows with each SQL Server version: read them
		// all, keep the three by name.
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, fmt.Errorf("RESTORE FILELISTONLY: %w", err)
		}
		var f backupFile
		for i, c := range cols {
			v := fmt.Sprint(*vals[i].(*any))
			switch c {
			case "LogicalName":
				f.Logical = v
			case "PhysicalName":
				f.Physical = v
			case "Type":
				f.Type = v
			}
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// plan moves every file of the backup into the target's default paths,
// named after the new database.
func plan(files []backupFile, database string, info server) ([]move, error) {
	if info.defaultData == "" || info.defaultLog == "" {
		return nil, fault.Permanent(errors.New("the target server reports no default data or log path (SERVERPROPERTY InstanceDefaultDataPath)"))
	}
	base := fileName(database)
	var moves []move
	for i, f := range files {
		dir, ext := info.defaultData, ".ndf"
		switch {
		case f.Type == "L":
			dir, ext = info.defaultLog, ".ldf"
		case i == 0:
			ext = ".mdf"
		case f.Type == "S" || f.Type == "F":
			ext = ""
		}
		sep := "/"
		if strings.Contains(dir, `\`) {
			sep = `\`
		}
		moves = append(moves, move{Logical: f.Logical, Physical: strings.TrimRight(dir, `\/`) + sep + fmt.Sprintf("%s_%d%s", base, i+1, ext)})
	}
	return moves, nil
}

// fileName is name with the characters Windows and Linux paths cannot hold
// replaced: a database called 销售 gets files called 销售_1.mdf.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || strings.ContainsRune(`\/:*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
}

// restorable refuses, before any byte is sent, a backup of a newer SQL
// Server than the target: SQL Server restores backups of its own and
// older versions only.
func restorable(backupVersion, targetVersion string) error {
	b, t := majorVersion(backupVersion), majorVersion(targetVersion)
	if b > 0 && t > 0 && b > t {
		return fault.Permanent(fmt.Errorf("the backup was taken on SQL Server %s and the target runs %s: SQL Server cannot restore a backup of a newer version", backupVersion, targetVersion))
	}
	return nil
}

func majorVersion(v string) int {
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return major
}
