// Package postgres is the PostgreSQL engine adapter: it backs a database up
// as named parts from one snapshot, restores them (whole database, under
// another name, on another server, or single tables), computes table
// statistics, and checks integrity with pg_amcheck.
//
// # Files
//
// The methods of engines.Engine live in files of the same names in every
// engine package (engines/mysql too), so two engines read side by side:
//
//   - engine.go: New, Name;
//   - backup.go: Backup, from one exported snapshot;
//   - restore.go: Restore, a whole database, and loading the table parts;
//     restore_table.go: a restore of some tables;
//   - stats.go: TableStats;
//   - integrity.go: CheckIntegrity (pg_amcheck);
//   - database.go: DatabaseExists, DropDatabase.
//
// Then what only this engine has: meta.go (the meta part), copy.go (COPY
// text and its digest), split.go (large tables by heap block range),
// exclude.go (what pg_dump leaves out), toc.go (the pg_restore table of
// contents), dbprops.go (the database's own properties) and tools.go
// (pg_dump, pg_restore and pg_amcheck).
//
// # Parts of a backup
//
//	meta/tables.json     KindMeta,   "dbopsd-pg-meta-v1": versions, encoding and
//	                     collation, the roles the schema names, per table its OID,
//	                     COPY columns and the OIDs of its sequences, defaults,
//	                     indexes, constraints, triggers, rules; partitioned tables
//	                     and their partitions; all policies; the database's own
//	                     properties (owner, connection limit, comment, privileges,
//	                     ALTER DATABASE/ROLE ... IN DATABASE ... SET settings)
//	schema               KindSchema, "pg_dump-custom": pg_dump -Fc -Z0 --snapshot of
//	                     everything except the data of the tables below (so it holds
//	                     sequence values, large objects, extension configuration rows,
//	                     matview refreshes, comments, ACLs, RLS, functions, triggers)
//	data/<schema>.<table> KindTable, "copy-text": COPY table TO STDOUT, text format,
//	                     one part per table (leaf partitions included)
//	data/<schema>.<table>/0001, /0002, ...
//	                     KindTable, "copy-text", Seq 1..n: a table whose heap is larger
//	                     than Engine.SplitBytes (default 128 MiB; PostgreSQL 14+), cut
//	                     into heap block ranges of SplitBytes aligned to block 0, the
//	                     last open above: COPY (SELECT <COPY columns> FROM ONLY table
//	                     WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT, a TID
//	                     range scan. Rows appended to a table change only its last part.
//
// All come from one snapshot: a leader connection in a REPEATABLE READ
// transaction locks the tables (ACCESS SHARE) before its snapshot is taken,
// exports it, and holds it while pg_dump and the COPY workers import it.
// Everything streams: memory does not grow with the database.
//
// # Statistics
//
// Every session renders values the same way (DateStyle ISO, UTC, hex bytea,
// extra_float_digits 3, lc_monetary C, UTF8). A table's checksum is the
// engines.RowDigest of its COPY text lines, computed from the stream that is
// stored (the digests of a split table's parts merged: the digest does not
// depend on row order); TableStats computes it the same way on a restored
// copy.
// Generated columns are not in COPY output, so not in the checksum (they
// are recomputed on restore).
//
// # Restore
//
// The schema part goes to a temporary file (pg_restore needs to seek). Then:
// pre-data section; table parts (the several parts of a split table too)
// loaded with COPY FROM in parallel, before any
// index, constraint or trigger exists; data and post-data sections with
// pg_restore -j. When a role the backup names (an owner, a grantee, a policy
// role) is missing on the target, ownership and privileges are not restored
// (--no-owner --no-privileges), policies naming missing roles are left out,
// and RestoreReport.Skipped says so. A failed whole-database restore drops
// the database it created.
//
// The archive holds the database's own properties only for pg_restore
// --create, under the source's name; a whole-database restore instead
// applies those the meta part recorded to the new database, after its data
// (dbprops.go): owner, connection limit, comment, the privileges item by
// item (so the ACL equals the source's; the source owner's entries follow
// the new owner), then the settings, list values such as search_path
// element by element so that they round-trip exactly. What names a role
// missing on the target server, and what the target server refuses (a
// parameter it does not know), is left out and listed in Skipped; the
// restore goes on. Backups whose meta part predates these properties get
// none applied, and a table restore never applies them.
//
// A table restore selects the table's own archive entries by catalog OID
// (from the meta part: the archive comes from the same snapshot, so OIDs
// match) and their comments, grants and sequence values through the
// archive's dependencies; functions, types, schemas and sequences the table
// needs are created only where the database lacks them. Foreign keys to
// tables absent from the target database are skipped and reported. Replace
// drops the existing table first (without CASCADE: dependent objects make it
// fail).
//
// # Requirements
//
// PostgreSQL 10 or newer. pg_dump and pg_restore of the server's major
// version or newer (Conn.BinDir, /usr/lib/postgresql/*/bin, PATH); pg_amcheck
// 14 or newer and the amcheck extension (postgresql-contrib) for integrity
// checks. The backup role must read every table with row security off
// (superuser, or owner/BYPASSRLS); the restore role must be able to create
// databases and, to keep ownership, to assign it (superuser; that also lets
// it re-make, with SET ROLE, database grants made by roles other than the
// owner). Passwords reach the client programs only through PGPASSWORD in
// their environment.
//
// pg_dump learns which table data to leave out from one "schema".* pattern
// per schema that holds nothing else whose data it carries (sequences,
// materialized views, extension tables) and one pattern per table
// elsewhere (exclude.go). pg_dump 17 and newer read them from a file
// (--filter), whatever their number; older ones take them on the command
// line, which holds about ten thousand, and a backup that needs more fails
// before copying anything, asking for pg_dump 17.
//
// # Not covered
//
// Roles themselves are not in the backup: they live outside the database.
// Of the database's own properties, its tablespace, security labels,
// ALLOW_CONNECTIONS and IS_TEMPLATE are not restored. Restored settings act
// on every later session of the restored database, a verification's too
// (default_transaction_read_only = on stops its integrity check from
// installing amcheck). A table restore of a partitioned table restores all
// its partitions with it; a partition restored alone becomes a standalone
// table (the report notes it).
package postgres
