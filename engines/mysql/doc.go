// Package mysql is the MySQL/MariaDB engine adapter: a logical, parallel,
// consistent dump read with the Go driver (no mariadb-dump), and a restore
// that streams it back with LOAD DATA LOCAL INFILE.
//
// # Files
//
// The methods of engines.Engine live in files of the same names in every
// engine package (engines/postgres too), so two engines read side by side:
//
//   - engine.go: New, Name;
//   - backup.go: Backup, the consistent parallel dump (the guarantee is
//     stated on Backup) and the data parts;
//   - restore.go: Restore, in phases; restore_table.go: which tables, and
//     a restore of some tables into an existing database; restore_load.go:
//     loading the rows; restore_objects.go: routines, views, triggers and
//     events;
//   - stats.go: TableStats, per-table row counts and checksums, the same on
//     both sides;
//   - integrity.go: CheckIntegrity (CHECK TABLE);
//   - database.go: DatabaseExists, DropDatabase.
//
// Then what only this engine has:
//
//   - schema.go: the schema part (SHOW CREATE output for every object);
//   - catalog.go: which columns a table's rows are made of;
//   - rowformat.go: the data part format, mysql-tsv/1; stream.go: reading
//     a table's parts as one stream;
//   - dialect.go: every difference between MariaDB and MySQL 8;
//   - keyrange.go: cutting a large table into parts by primary key;
//   - conn.go: DSNs, connections, and errors.
//
// # Parts
//
// "schema" (format mysql-schema/1) is a JSON document with the database's
// character set and collation, and, verbatim from the server, SHOW CREATE
// for tables (partitioning, CHECK constraints, comments, generated and
// invisible columns, AUTO_INCREMENT next values), sequences with their
// next value, views in dependency order, triggers, routines and events,
// each with the sql_mode and character set it was created under.
//
// "data/<table>" (format mysql-tsv/1, see rowformat.go) holds a table's
// rows; a large table with an integer primary key is cut by key range into
// "data/<table>/0001", ... (PartInfo.Seq 1, 2, ...). Generated columns are
// not in the data: the DDL recreates them. System-versioned tables carry
// every row version with its row_start/row_end, restored through MariaDB
// 10.11's system_versioning_insert_history.
//
// # Statistics
//
// A table's checksum is engines.RowDigest over each row's line in the data
// format followed by its generated columns, all as the server renders them
// with character_set_results=binary and time_zone=+00:00. TableStats reads
// a restored copy the same way, so equal checksums mean equal bytes.
//
// # MySQL 8
//
// Only MariaDB runs on the test machines. Where MySQL 8 differs (no
// sequences or system versioning, SHOW BINARY LOG STATUS, gtid_executed,
// removed sql_mode words, no SQL_NO_CACHE, local_infile off by default, no
// bulk insert into empty tables, DEFAULT_GENERATED columns that hold data)
// dialect.go decides, and its unit tests cover each case; the restore paths
// MySQL 8 takes (INSERT batches, parallel loading with deferred indexes) run
// against MariaDB in the tests by forcing them. caching_sha2_password and
// sha256_password are handled by the driver.
//
// Users and grants are not backed up; a restore says which DEFINER
// accounts its objects need.
package mysql
