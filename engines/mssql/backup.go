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
	"github.com/dbopsd/dbopsd/secret"
)

// A backup is SQL Server's own BACKUP DATABASE … TO URL, its stripes
// blobs of dbopsd's listener, each block of which becomes a part of the
// backup as it arrives (blobsrv). Nothing lands on the database host.
//
// Parts: the blocks (kind native, format azure-block, named
// "blocks/NNNNNN"), then "blobs.json" (kind meta), the index of the
// stripes: which blocks, in which order, make each blob. A restore serves
// the stripes back from the index.

// Names of the backup's meta part and its block parts.
const (
	partBlobs       = "blobs.json"
	partBlockPrefix = "blocks/"
	formatBlobIndex = "mssql-blob-index-v1"
)

// credentialLifetime bounds the SAS a backup or restore gives SQL Server;
// the credential is dropped when the job ends in any case.
const credentialLifetime = 24 * time.Hour

// Snapshot.Meta keys: the native chain, as msdb.dbo.backupset records it.
const (
	MetaBackupSetGUID        = "backup_set_guid"
	MetaBackupType           = "backup_type" // D full, I differential
	MetaCopyOnly             = "copy_only"
	MetaFirstLSN             = "first_lsn"
	MetaLastLSN              = "last_lsn"
	MetaCheckpointLSN        = "checkpoint_lsn"
	MetaDatabaseBackupLSN    = "database_backup_lsn"
	MetaDifferentialBaseLSN  = "differential_base_lsn"
	MetaDifferentialBaseGUID = "differential_base_guid"
	MetaEdition              = "edition"
	MetaFiles                = "files" // JSON: []dbFile
	MetaStripes              = "stripes"
	MetaCompressed           = "compressed"
)

// dbFile is one file of the database, as the manifest records it.
type dbFile struct {
	Logical  string `json:"logical"`
	Physical string `json:"physical"`
	Type     string `json:"type"` // ROWS, LOG, FILESTREAM, FULLTEXT
	Bytes    int64  `json:"bytes"`
}

// server is what serverInfo reads.
type server struct {
	version, edition        string
	engineEdition           int
	defaultData, defaultLog string
}

func readServer(ctx context.Context, db *sql.DB) (server, error) {
	var s server
	var data, logPath sql.NullString
	q := serverInfo()
	if err := db.QueryRowContext(ctx, q.sql).Scan(&s.version, &s.edition, &s.engineEdition, &data, &logPath); err != nil {
		return s, fmt.Errorf("reading the server's version: %w", err)
	}
	s.defaultData, s.defaultLog = data.String, logPath.String
	return s, nil
}

// snapshots reports whether the edition has database snapshots: every
// edition from SQL Server 2016 SP1 on (engine editions 2 Standard, 3
// Enterprise and Developer, 4 Express); Azure SQL's engine editions do
// not take BACKUP TO URL to a listener of ours anyway.
func (s server) snapshots() bool {
	return majorVersion(s.version) >= 13 && s.engineEdition >= 2 && s.engineEdition <= 4
}

// Backup implements engines.Engine.
func (e *Engine) Backup(ctx context.Context, src engines.Conn, opts engines.BackupOptions, sink engines.PartSink) (*engines.Snapshot, error) {
	snap, err := e.backup(ctx, src, opts, sink)
	return snap, classify(err)
}

func (e *Engine) backup(ctx context.Context, src engines.Conn, opts engines.BackupOptions, sink engines.PartSink) (*engines.Snapshot, error) {
	d, err := dsnInfo(src.DSN)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	database := d.Database
	if database == "" {
		return nil, fault.Permanent(errors.New("the DSN names no database (?database=NAME)"))
	}
	dir, throughDir := backupDir(src)
	var srv *blobsrv.Server
	if !throughDir {
		// Refused before connecting when the policy sets no listener.
		if srv, err = blobServer(); err != nil {
			return nil, err
		}
	}
	db, err := open(ctx, src, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	info, err := readServer(ctx, db)
	if err != nil {
		return nil, err
	}
	files, err := readFiles(ctx, db, database)
	if err != nil {
		return nil, err
	}
	var dataBytes, logBytes int64
	for _, f := range files {
		if f.Type == "LOG" {
			logBytes += f.Bytes
		} else {
			dataBytes += f.Bytes
		}
	}
	stripes, err := stripesFor(dataBytes, logBytes)
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("backing up database %s: %w", database, err))
	}

	o := nativeOptions(opts)
	if o.Differential {
		if opts.Base == nil || opts.Base.Meta[MetaBackupSetGUID] == "" {
			return nil, fault.Permanent(errors.New("a SQL Server differential needs its full backup's backup set GUID, and the full has none recorded: take a full"))
		}
		if opts.Base.OutsideChain {
			return nil, fault.Permanent(fmt.Errorf("full backup set %s was taken COPY_ONLY and cannot be a differential's base: take a full", opts.Base.Meta[MetaBackupSetGUID]))
		}
		if err := checkBase(ctx, db, database, opts.Base.Meta[MetaBackupSetGUID]); err != nil {
			return nil, err
		}
	}

	var devices []string
	if throughDir {
		devices, err = backupThroughDir(ctx, db, dir, database, stripes, o, opts, sink)
	} else {
		devices, err = backupToListener(ctx, db, srv, database, stripes, o, opts, sink)
	}
	if err != nil {
		return nil, fmt.Errorf("backing up database %s: %w", database, err)
	}

	// A native backup is consistent as of its end.
	snap := &engines.Snapshot{Engine: engineName, ServerVersion: info.version, TakenAt: time.Now().UTC(),
		Meta: map[string]string{MetaEdition: info.edition, MetaStripes: strconv.Itoa(stripes)}}
	if err := readBackupSet(ctx, db, database, devices[0], snap); err != nil {
		return nil, err
	}
	snap.OutsideChain = snap.Meta[MetaCopyOnly] == "true"
	if o.Differential && !strings.EqualFold(snap.Meta[MetaDifferentialBaseGUID], opts.Base.Meta[MetaBackupSetGUID]) {
		// A full was taken between checkBase and the BACKUP.
		return nil, errOtherBase(database, snap.Meta[MetaDifferentialBaseGUID], opts.Base.Meta[MetaBackupSetGUID])
	}
	fj, _ := json.Marshal(files)
	snap.Meta[MetaFiles] = string(fj)

	tables, consistency, err := e.backupStats(ctx, db, info, database, files)
	if err != nil {
		return nil, err
	}
	snap.Tables, snap.Consistency = tables, consistency
	return snap, nil
}

// backupToListener runs BACKUP … TO URL into a container of the blob
// listener, which streams each block into sink, and writes the stripe
// index. It returns the URLs.
func backupToListener(ctx context.Context, db *sql.DB, srv *blobsrv.Server, database string, stripes int, o backupOptions, opts engines.BackupOptions, sink engines.PartSink) ([]string, error) {
	// The container lives as long as the BACKUP statement.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := srv.Receive(cctx, sink, partBlockPrefix, time.Now().Add(credentialLifetime))
	var urls []string
	for i := range stripes {
		urls = append(urls, c.BlobURL(fmt.Sprintf("%s_%d_of_%d.bak", safeBlobName(database), i+1, stripes)))
	}
	if err := withCredential(ctx, db, c, func() error {
		s, err := backupToURL(database, urls, o)
		if err != nil {
			return fault.Permanent(err)
		}
		logBackup(opts, database, s, o)
		return exec(ctx, db, s)
	}); err != nil {
		return nil, err
	}
	blobs, err := c.Close()
	if err != nil {
		return nil, err
	}
	if len(blobs) != stripes {
		return nil, fmt.Errorf("SQL Server committed %d of %d stripes", len(blobs), stripes)
	}
	return urls, writeIndex(ctx, sink, blobs)
}

// backupThroughDir is the backup_dir fallback: BACKUP … TO DISK into files
// of dir, read into sink as the blocks of stripes named as a backup to URL
// names them, the stripe index written; the files are deleted in any
// case. It returns the files as SQL Server names them.
func backupThroughDir(ctx context.Context, db *sql.DB, dir diskDir, database string, stripes int, o backupOptions, opts engines.BackupOptions, sink engines.PartSink) ([]string, error) {
	server, local := dir.files(database, stripes)
	s, err := backupToDisk(database, server, o)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	var names []string
	for i := range stripes {
		names = append(names, fmt.Sprintf("%s_%d_of_%d.bak", safeBlobName(database), i+1, stripes))
	}
	err = filesIntoRepository(ctx, sink, local, names, opts.Logger, func() error {
		logBackup(opts, database, s, o)
		return exec(ctx, db, s)
	})
	return server, err
}

// filesIntoRepository runs backup, which writes the stripe files local
// (SQL Server's BACKUP … TO DISK), reads them into sink as the blocks of
// the stripes names, writes the stripe index, and deletes the files
// whatever happened.
func filesIntoRepository(ctx context.Context, sink engines.PartSink, local, names []string, log hclog.Logger, backup func() error) (err error) {
	defer removeFiles(local, "the backup files", log, &err)
	if err := backup(); err != nil {
		return err
	}
	blobs, err := storeFiles(ctx, sink, local, names)
	if err != nil {
		return err
	}
	return writeIndex(ctx, sink, blobs)
}

func logBackup(opts engines.BackupOptions, database string, s stmt, o backupOptions) {
	if opts.Logger == nil {
		return
	}
	opts.Logger.Debug("backing up", "database", database, "statement", s.String())
	if o.CopyOnly {
		opts.Logger.Info("full taken COPY_ONLY: outside the schedule, it leaves the server's differential base as it is and no differential of dbopsd's will be based on it", "database", database)
	}
}

// nativeOptions is what BACKUP DATABASE does for opts: a differential of
// SQL Server's own (WITH DIFFERENTIAL) when dbopsd asks for one; COPY_ONLY
// for a full taken outside the schedule (opts.CopyOnly: dbopsd backup by
// hand, dbopsd run, a signed request), so that the server's differential
// base, which the customer's own differentials and the scheduled ones of
// dbopsd build on, stays where it was; not for the fulls of the schedule,
// including a full that replaces a scheduled differential (no full yet,
// differential_max_ratio passed), which are the chain's new base.
// COMPRESSION unless the database's compression = false.
func nativeOptions(opts engines.BackupOptions) backupOptions {
	diff := opts.Type == "differential"
	return backupOptions{Differential: diff, CopyOnly: opts.CopyOnly && !diff, NoCompression: opts.NoCompression}
}

// safeBlobName keeps a blob name to letters, digits, '-' and '_': the
// database name is in the manifest; the blob name only has to be unique.
func safeBlobName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// withCredential runs fn with the container's credential in place, and
// drops it after whatever fn did.
func withCredential(ctx context.Context, db *sql.DB, c *blobsrv.Container, fn func() error) error {
	create, err := createCredential(c.URL(), secret.New(c.SAS()))
	if err != nil {
		return fault.Permanent(err)
	}
	if err := exec(ctx, db, create); err != nil {
		return fmt.Errorf("creating the credential for the blob listener: %w", err)
	}
	defer func() {
		drop, _ := dropCredential(c.URL())
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		exec(dctx, db, drop) // the SAS is useless once the container is closed
	}()
	return fn()
}

func readFiles(ctx context.Context, db *sql.DB, database string) ([]dbFile, error) {
	s := databaseFiles(database)
	rows, err := db.QueryContext(ctx, s.sql, s.params()...)
	if err != nil {
		return nil, fmt.Errorf("listing the files of database %s: %w", database, err)
	}
	defer rows.Close()
	var out []dbFile
	for rows.Next() {
		var f dbFile
		if err := rows.Scan(&f.Logical, &f.Physical, &f.Type, &f.Bytes); err != nil {
			return nil, fmt.Errorf("listing the files of database %s: %w", database, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the files of database %s: %w", database, err)
	}
	if len(out) == 0 {
		return nil, fault.Permanent(fmt.Errorf("database %s does not exist on the server", database))
	}
	return out, nil
}

func writeIndex(ctx context.Context, sink engines.PartSink, blobs []blobsrv.Blob) error {
	w, err := sink.CreatePart(ctx, engines.PartInfo{Name: partBlobs, Kind: engines.KindMeta, Format: formatBlobIndex})
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(blobs); err != nil {
		w.Close()
		return fmt.Errorf("writing the stripe index: %w", err)
	}
	return w.Close()
}

// readBackupSet records the native chain of the backup just taken.
func readBackupSet(ctx context.Context, db *sql.DB, database, url string, snap *engines.Snapshot) error {
	s := backupSet(database, url)
	var (
		guid, typ                                   string
		copyOnly                                    bool
		first, last, checkpoint, dbBackup, diffBase sql.NullString
		diffGUID                                    sql.NullString
		start, finish                               time.Time
		size, compressed                            sql.NullInt64
	)
	err := db.QueryRowContext(ctx, s.sql, s.params()...).Scan(&guid, &typ, &copyOnly, &first, &last, &checkpoint, &dbBackup, &diffBase,
		&diffGUID, &start, &finish, &size, &compressed)
	if err != nil {
		return fmt.Errorf("reading the backup's history from msdb for %s: %w", database, err)
	}
	m := snap.Meta
	m[MetaBackupSetGUID], m[MetaBackupType], m[MetaCopyOnly] = guid, typ, strconv.FormatBool(copyOnly)
	m[MetaFirstLSN], m[MetaLastLSN], m[MetaCheckpointLSN] = first.String, last.String, checkpoint.String
	m[MetaDatabaseBackupLSN], m[MetaDifferentialBaseLSN], m[MetaDifferentialBaseGUID] = dbBackup.String, diffBase.String, diffGUID.String
	m[MetaCompressed] = strconv.FormatBool(compressed.Valid && size.Valid && compressed.Int64 < size.Int64)
	snap.Position = last.String
	return nil
}

// checkBase refuses a differential, before it is taken, whose base would
// not be the repository's full: someone took a full outside dbopsd without
// COPY_ONLY, and the differential would belong to that one, which the
// repository lacks.
func checkBase(ctx context.Context, db *sql.DB, database, want string) error {
	s := differentialBase(database)
	var got sql.NullString
	if err := db.QueryRowContext(ctx, s.sql, s.params()...).Scan(&got); err != nil {
		return fmt.Errorf("reading the differential base of %s: %w", database, err)
	}
	if !strings.EqualFold(got.String, want) {
		return errOtherBase(database, got.String, want)
	}
	return nil
}

func errOtherBase(database, got, want string) error {
	return fault.Permanent(fmt.Errorf("a differential of %s now would be based on backup set %s, not on the repository's full (backup set %s): a full backup was taken outside dbopsd without COPY_ONLY; take a full",
		database, got, want))
}
