// Package mssql is the SQL Server adapter. Backups are SQL Server's own
// BACKUP DATABASE … TO URL (full, or WITH DIFFERENTIAL, which SQL Server
// makes cumulative), striped over blobs of dbopsd's blob listener
// (blobsrv), which streams every block into the repository as it
// arrives; restores are RESTORE … FROM URL from the same listener, reading
// the repository back with ranged reads. Nothing lands on the database
// host.
//
// # Files
//
// As in engines/postgres and engines/mysql: backup.go, restore.go,
// restore_table.go, integrity.go (DBCC CHECKDB), stats.go (row counts and
// checksums per table), dsn.go, messages.go with messages/. tsql.go builds
// every statement the adapter sends; testdata/*.golden hold them.
// listener.go holds the process's one listener, configured from the
// policy's daemon block (mssql_listen, mssql_url, tls_cert, tls_key).
// stripes.go plans the stripe count, disk.go the backup_dir fallback.
// diagnostics.go is the diagnostics collector and dictionary.go the data
// dictionary; their statements are in testdata/diagnostics.golden and
// testdata/dictionary.golden.
//
// # How a backup runs
//
//  1. A container is opened on the listener for this backup, with a SAS
//     granting create, write, delete and list on it for a day.
//  2. CREATE CREDENTIAL named after the container's URL holds the SAS;
//     SQL Server finds it by the URL prefix.
//  3. BACKUP DATABASE @database TO URL = @url1, … WITH CHECKSUM,
//     COMPRESSION (NO_COMPRESSION with compression = false), COPY_ONLY for
//     a full outside the schedule, MAXTRANSFERSIZE = 4194304, BLOCKSIZE =
//     65536: the statement returns when SQL Server has committed every
//     stripe. The stripe count comes from the database's allocated size,
//     a stripe planned at half of 50,000 blocks × 4 MiB (stripes.go).
//  4. The credential is dropped, the container closed, and its index (which
//     blocks make each stripe) written as the meta part blobs.json.
//  5. msdb.dbo.backupset gives the native chain (backup set GUID, LSNs,
//     the differential's base GUID), recorded in the manifest with the
//     server version, edition and the database's files.
//
// A differential whose base would not be the repository's full (someone
// took a full outside dbopsd without COPY_ONLY) is refused, before it is
// taken (sys.master_files) and after (msdb): it could not be restored from
// the repository.
//
// # COPY_ONLY
//
// A full the schedule did not ask for (dbopsd backup by hand unless
// --copy-only=false, dbopsd run, a signed request: engines.BackupOptions.
// CopyOnly) is taken COPY_ONLY, so that the server's differential base,
// which the customer's own differentials and dbopsd's scheduled ones
// build on, does not move. Such a full is recorded outside the chain
// (Snapshot.OutsideChain); the repository bases the next differential on
// the newest full inside it, and says so in the manifest's reason, or
// takes a full when there is none. Fulls of the schedule, including one
// that replaces a differential (no full yet, differential_max_ratio), are
// not COPY_ONLY: they are the chain's new base. Drills and verifications
// take no backup of their own.
//
// # backup_dir
//
// For servers that cannot reach the listener: BACKUP … TO DISK striped
// into files of backup_dir (backup_dir_local as dbopsd sees it), read
// into the same parts and stripe index as a backup to URL, deleted in any
// case; a restore writes the stripes back, RESTORE … FROM DISK, deletes
// them (disk.go). Either path restores what the other took.
//
// # How a restore runs
//
// The stripes are served back from the repository in a read-only
// container with its own SAS and credential. RESTORE FILELISTONLY plans
// the files; RESTORE DATABASE … WITH MOVE puts each into the target's
// default data or log path, named after the new database, REPLACE only
// when asked. A differential is restored on its full
// (RestoreRequest.BaseSource): the full WITH NORECOVERY, then the
// differential WITH RECOVERY. A backup of a newer SQL Server than the
// target is refused first. Single tables: the whole backup is restored
// under a scratch name, recorded in the scratch ledger first
// (RestoreRequest.Scratch), on the target's server or on a scratch target
// of another (RestoreRequest.ScratchTarget, --table-scratch); the tables
// are copied with SELECT INTO on one server, with bulk copy (mssql.CopyIn,
// 10,000-row transactions) across servers; the scratch copy is dropped.
package mssql
