package mssql

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
)

// Every statement the adapter sends is built here, and tests compare each
// with golden files (testdata/*.golden) for names holding ']', quotes,
// spaces and Chinese characters. Values go as parameters (sp_executesql)
// wherever T-SQL takes a variable: database names and URLs in BACKUP and
// RESTORE, logical and physical names in MOVE, names in catalog queries.
// Where it takes none (CREATE/DROP CREDENTIAL, DROP DATABASE, ALTER
// DATABASE, three-part object names, CREATE DATABASE … AS SNAPSHOT OF),
// identifiers are quoted as QUOTENAME does and strings as N'…' literals.

// Microsoft's recommendation for backups to URL (block blobs): 4 MiB
// transfers, 64 KiB blocks, so a stripe can reach 50,000 blocks × 4 MiB
// (about 200 GB).
const (
	maxTransferSize = 4194304
	blockSize       = 65536
)

// stmt is one batch and its parameters.
type stmt struct {
	sql  string
	args []sql.NamedArg
	// secret is a value the text holds (a SAS in CREATE CREDENTIAL): logs
	// and errors show the text with it replaced.
	secret secret.Value
}

// params converts the arguments for database/sql.
func (s stmt) params() []any {
	out := make([]any, len(s.args))
	for i, a := range s.args {
		out[i] = a
	}
	return out
}

// String is the statement as logs show it: parameters listed, secrets
// replaced.
func (s stmt) String() string {
	text := s.sql
	if !s.secret.Empty() {
		text = strings.ReplaceAll(text, strings.ReplaceAll(s.secret.Reveal(), "'", "''"), "********")
	}
	return withArgs(text, s.args)
}

// sent is the batch exactly as sent, secrets included, and its
// parameters: what the golden files hold.
func (s stmt) sent() string { return withArgs(s.sql, s.args) }

func withArgs(text string, args []sql.NamedArg) string {
	var b strings.Builder
	b.WriteString(text)
	for _, a := range args {
		fmt.Fprintf(&b, "\n-- @%s = %s", a.Name, literal(fmt.Sprint(a.Value)))
	}
	return b.String()
}

// maxName is sysname's length: QUOTENAME answers NULL for longer input,
// and SQL Server refuses longer identifiers.
const maxName = 128

// quoteName quotes an identifier as T-SQL's QUOTENAME(name, '[') does.
func quoteName(name string) (string, error) {
	if name == "" {
		return "", errors.New("an empty name")
	}
	if n := utf8.RuneCountInString(name); n > maxName {
		return "", fmt.Errorf("name %q is %d characters long, longer than SQL Server's %d", name, n, maxName)
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("name %q holds a NUL character", name)
	}
	return "[" + strings.ReplaceAll(name, "]", "]]") + "]", nil
}

// literal is s as a Unicode string literal.
func literal(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteNames(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		q, err := quoteName(n)
		if err != nil {
			return nil, err
		}
		out[i] = q
	}
	return out, nil
}

func checkURLs(urls []string) error {
	if len(urls) == 0 {
		return errors.New("no URL to back up to or restore from")
	}
	if len(urls) > 64 {
		return fmt.Errorf("%d stripes: SQL Server takes at most 64 backup devices", len(urls))
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("backup URL %q is not https://", u)
		}
	}
	return nil
}

// devices is "URL = @url1, URL = @url2" (or DISK), with the parameters.
func devices(kind string, paths []string) (string, []sql.NamedArg) {
	var parts []string
	var args []sql.NamedArg
	p := strings.ToLower(kind)
	for i, u := range paths {
		name := fmt.Sprintf("%s%d", p, i+1)
		parts = append(parts, fmt.Sprintf("%s = @%s", kind, name))
		args = append(args, sql.Named(name, u))
	}
	return strings.Join(parts, ", "), args
}

// backupOptions are the choices a backup statement makes.
type backupOptions struct {
	// Differential takes a differential on the last full (WITH
	// DIFFERENTIAL); SQL Server's differentials are cumulative.
	Differential bool
	// CopyOnly is for fulls taken outside the schedule: the customer's own
	// chain of differentials keeps its base.
	CopyOnly bool
	// NoCompression turns SQL Server's backup compression off, which lets
	// the repository's chunking find what differentials share.
	NoCompression bool
}

func (o backupOptions) with(url bool) ([]string, error) {
	if o.Differential && o.CopyOnly {
		return nil, errors.New("a copy-only backup cannot be a differential")
	}
	w := []string{"CHECKSUM"}
	if o.NoCompression {
		w = append(w, "NO_COMPRESSION")
	} else {
		w = append(w, "COMPRESSION")
	}
	if o.Differential {
		w = append(w, "DIFFERENTIAL")
	}
	if o.CopyOnly {
		w = append(w, "COPY_ONLY")
	}
	if url {
		w = append(w, fmt.Sprintf("MAXTRANSFERSIZE = %d", maxTransferSize), fmt.Sprintf("BLOCKSIZE = %d", blockSize))
	}
	w = append(w, "FORMAT", "STATS = 10")
	return w, nil
}

// backupToURL is BACKUP DATABASE striped over urls (blobs of the
// listener), authenticated by the credential named after their container.
func backupToURL(database string, urls []string, o backupOptions) (stmt, error) {
	if err := checkURLs(urls); err != nil {
		return stmt{}, err
	}
	return backupTo("URL", database, urls, o)
}

// backupToDisk is the backup_dir fallback: BACKUP DATABASE striped over
// files on a share both SQL Server and dbopsd see.
func backupToDisk(database string, files []string, o backupOptions) (stmt, error) {
	if err := checkFiles(files); err != nil {
		return stmt{}, err
	}
	return backupTo("DISK", database, files, o)
}

func checkFiles(files []string) error {
	if len(files) == 0 {
		return errors.New("no file to back up to or restore from")
	}
	if len(files) > maxStripes {
		return fmt.Errorf("%d stripes: SQL Server takes at most %d backup devices", len(files), maxStripes)
	}
	for _, f := range files {
		if f == "" || strings.ContainsRune(f, 0) {
			return fmt.Errorf("backup file %q is no path", f)
		}
	}
	return nil
}

// checkDevices checks the paths of kind (URL or DISK).
func checkDevices(kind string, paths []string) error {
	if kind == "DISK" {
		return checkFiles(paths)
	}
	return checkURLs(paths)
}

func backupTo(kind, database string, paths []string, o backupOptions) (stmt, error) {
	if _, err := quoteName(database); err != nil {
		return stmt{}, err
	}
	if len(paths) == 0 {
		return stmt{}, errors.New("no backup device")
	}
	with, err := o.with(kind == "URL")
	if err != nil {
		return stmt{}, err
	}
	dev, args := devices(kind, paths)
	return stmt{
		sql:  fmt.Sprintf("BACKUP DATABASE @database TO %s\nWITH %s;", dev, strings.Join(with, ", ")),
		args: append([]sql.NamedArg{sql.Named("database", database)}, args...),
	}, nil
}

// createCredential creates the credential SQL Server finds for URLs under
// containerURL: named after it, holding the SAS. CREATE CREDENTIAL takes
// no variables; a credential of that name left by an earlier run is
// dropped first.
func createCredential(containerURL string, sas secret.Value) (stmt, error) {
	if err := checkURLs([]string{containerURL}); err != nil {
		return stmt{}, err
	}
	name, err := quoteName(containerURL)
	if err != nil {
		return stmt{}, err
	}
	if strings.HasPrefix(sas.Reveal(), "?") || sas.Empty() {
		return stmt{}, errors.New("a SAS for CREATE CREDENTIAL is a query string without the leading '?'")
	}
	return stmt{
		sql: fmt.Sprintf("IF EXISTS (SELECT 1 FROM sys.credentials WHERE name = @name) DROP CREDENTIAL %s;\n"+
			"CREATE CREDENTIAL %s WITH IDENTITY = N'SHARED ACCESS SIGNATURE', SECRET = %s;", name, name, literal(sas.Reveal())),
		args:   []sql.NamedArg{sql.Named("name", containerURL)},
		secret: sas,
	}, nil
}

// dropCredential removes the credential again when the backup or restore
// is over (its SAS has expired by then in any case).
func dropCredential(containerURL string) (stmt, error) {
	name, err := quoteName(containerURL)
	if err != nil {
		return stmt{}, err
	}
	return stmt{
		sql:  fmt.Sprintf("IF EXISTS (SELECT 1 FROM sys.credentials WHERE name = @name) DROP CREDENTIAL %s;", name),
		args: []sql.NamedArg{sql.Named("name", containerURL)},
	}, nil
}

// restoreOnly is RESTORE HEADERONLY, FILELISTONLY or VERIFYONLY of the
// backup striped over paths, devices of kind URL or DISK (the backup_dir
// fallback).
func restoreOnly(what, kind string, paths []string) (stmt, error) {
	switch what {
	case "HEADERONLY", "FILELISTONLY":
	case "VERIFYONLY":
	default:
		return stmt{}, fmt.Errorf("RESTORE %s is not a statement the adapter sends", what)
	}
	if err := checkDevices(kind, paths); err != nil {
		return stmt{}, err
	}
	dev, args := devices(kind, paths)
	with := ""
	if what == "VERIFYONLY" {
		with = "\nWITH CHECKSUM"
	}
	return stmt{sql: fmt.Sprintf("RESTORE %s FROM %s%s;", what, dev, with), args: args}, nil
}

// move relocates one file of a backup (RESTORE FILELISTONLY's LogicalName)
// to a path on the target server.
type move struct {
	Logical, Physical string
}

// restoreOptions are the choices a restore makes.
type restoreOptions struct {
	// Recovery brings the database online; a full that a differential
	// follows is restored WITH NORECOVERY.
	Recovery bool
	// Replace overwrites an existing database: only with --replace.
	Replace bool
}

// restoreDatabase restores the backup striped over paths, devices of kind
// URL or DISK (the backup_dir fallback), as database, every file moved.
func restoreDatabase(database, kind string, paths []string, moves []move, o restoreOptions) (stmt, error) {
	if _, err := quoteName(database); err != nil {
		return stmt{}, err
	}
	if err := checkDevices(kind, paths); err != nil {
		return stmt{}, err
	}
	dev, args := devices(kind, paths)
	args = append([]sql.NamedArg{sql.Named("database", database)}, args...)
	var with []string
	for i, m := range moves {
		if m.Logical == "" || m.Physical == "" {
			return stmt{}, fmt.Errorf("file %d of the backup: a move needs a logical name and a path", i+1)
		}
		l, p := fmt.Sprintf("logical%d", i+1), fmt.Sprintf("physical%d", i+1)
		with = append(with, fmt.Sprintf("MOVE @%s TO @%s", l, p))
		args = append(args, sql.Named(l, m.Logical), sql.Named(p, m.Physical))
	}
	with = append(with, "CHECKSUM")
	if o.Replace {
		with = append(with, "REPLACE")
	}
	if o.Recovery {
		with = append(with, "RECOVERY")
	} else {
		with = append(with, "NORECOVERY")
	}
	if kind == "URL" {
		with = append(with, fmt.Sprintf("MAXTRANSFERSIZE = %d", maxTransferSize), fmt.Sprintf("BLOCKSIZE = %d", blockSize))
	}
	with = append(with, "STATS = 10")
	return stmt{sql: fmt.Sprintf("RESTORE DATABASE @database FROM %s\nWITH %s;", dev, strings.Join(with, ",\n  ")), args: args}, nil
}

// checkDB is DBCC CHECKDB as dbatools' Test-DbaLastBackup runs it: every
// error, no informational messages.
func checkDB(database string) (stmt, error) {
	if _, err := quoteName(database); err != nil {
		return stmt{}, err
	}
	return stmt{sql: "DBCC CHECKDB (@database) WITH NO_INFOMSGS, ALL_ERRORMSGS;", args: []sql.NamedArg{sql.Named("database", database)}}, nil
}

// dropDatabase drops database, first closing other connections when it is
// online (a database left RESTORING by a failed restore drops as it is).
func dropDatabase(database string) (stmt, error) {
	q, err := quoteName(database)
	if err != nil {
		return stmt{}, err
	}
	return stmt{
		sql: fmt.Sprintf("IF DATABASEPROPERTYEX(@database, 'Status') = 'ONLINE' ALTER DATABASE %s SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\n"+
			"DROP DATABASE %s;", q, q),
		args: []sql.NamedArg{sql.Named("database", database)},
	}, nil
}

// databaseExists counts the databases called name.
func databaseExists(name string) stmt {
	return stmt{sql: "SELECT COUNT(*) FROM sys.databases WHERE name = @name;", args: []sql.NamedArg{sql.Named("name", name)}}
}

// serverInfo reads the version and edition the manifest records, and the
// default paths restored files go to.
func serverInfo() stmt {
	return stmt{sql: "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), CAST(SERVERPROPERTY('Edition') AS nvarchar(128)),\n" +
		"  CAST(SERVERPROPERTY('EngineEdition') AS int), CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(4000)),\n" +
		"  CAST(SERVERPROPERTY('InstanceDefaultLogPath') AS nvarchar(4000));"}
}

// backupSet reads the native chain of the backup just taken to url from
// msdb: its GUID and LSNs, and for a differential its base's GUID.
func backupSet(database, url string) stmt {
	return stmt{
		sql: "SELECT TOP (1) CAST(bs.backup_set_uuid AS varchar(36)), bs.type, bs.is_copy_only, CAST(bs.first_lsn AS varchar(30)), CAST(bs.last_lsn AS varchar(30)),\n" +
			"  CAST(bs.checkpoint_lsn AS varchar(30)), CAST(bs.database_backup_lsn AS varchar(30)), CAST(bs.differential_base_lsn AS varchar(30)),\n" +
			"  CAST(bs.differential_base_guid AS varchar(36)), bs.backup_start_date, bs.backup_finish_date, bs.backup_size, bs.compressed_backup_size\n" +
			"FROM msdb.dbo.backupset AS bs JOIN msdb.dbo.backupmediafamily AS mf ON mf.media_set_id = bs.media_set_id\n" +
			"WHERE bs.database_name = @database AND mf.physical_device_name = @url\n" +
			"ORDER BY bs.backup_finish_date DESC;",
		args: []sql.NamedArg{sql.Named("database", database), sql.Named("url", url)},
	}
}

// listTables lists the user tables of database.
func listTables(database string) (stmt, error) {
	q, err := quoteName(database)
	if err != nil {
		return stmt{}, err
	}
	return stmt{sql: fmt.Sprintf("SELECT s.name, t.name FROM %[1]s.sys.tables AS t JOIN %[1]s.sys.schemas AS s ON s.schema_id = t.schema_id\n"+
		"WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name;", q)}, nil
}

// tableStats counts the rows of a table and sums their checksums, in an
// order-independent way. BINARY_CHECKSUM(*) leaves out columns of the
// types it cannot compare (text, ntext, image, xml, sql_variant, CLR
// types): the row count covers them, the checksum does not.
func tableStats(database string, t engines.TableRef) (stmt, error) {
	schema := t.Schema
	if schema == "" {
		schema = "dbo"
	}
	q, err := quoteNames(database, schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	return stmt{sql: fmt.Sprintf("SELECT COUNT_BIG(*), ISNULL(CHECKSUM_AGG(BINARY_CHECKSUM(*)), 0) FROM %s;", strings.Join(q, "."))}, nil
}

// createSnapshot creates snapshot as a database snapshot of database (the
// editions that have them), one sparse file per data file, beside it.
// CREATE DATABASE takes no variables.
func createSnapshot(snapshot, database string, files []move) (stmt, error) {
	q, err := quoteNames(snapshot, database)
	if err != nil {
		return stmt{}, err
	}
	if len(files) == 0 {
		return stmt{}, errors.New("a snapshot needs the database's data files")
	}
	var on []string
	for _, f := range files {
		l, err := quoteName(f.Logical)
		if err != nil {
			return stmt{}, err
		}
		on = append(on, fmt.Sprintf("(NAME = %s, FILENAME = %s)", l, literal(f.Physical)))
	}
	return stmt{sql: fmt.Sprintf("CREATE DATABASE %s ON %s\nAS SNAPSHOT OF %s;", q[0], strings.Join(on, ", "), q[1])}, nil
}

// databaseFiles lists every file of database (data, log, full-text,
// FILESTREAM) with its size: what the manifest records, and what a
// restore must move.
func databaseFiles(database string) stmt {
	return stmt{
		sql: "SELECT name, physical_name, type_desc, CAST(size AS bigint) * 8192 FROM sys.master_files\n" +
			"WHERE database_id = DB_ID(@database) ORDER BY file_id;",
		args: []sql.NamedArg{sql.Named("database", database)},
	}
}

// createDatabase creates an empty database (a table restore's target
// that does not exist yet). CREATE DATABASE takes no variables.
func createDatabase(database string) (stmt, error) {
	q, err := quoteName(database)
	if err != nil {
		return stmt{}, err
	}
	return stmt{sql: fmt.Sprintf("CREATE DATABASE %s;", q)}, nil
}

// createSchema creates schema in database unless it exists; the CREATE
// SCHEMA text, which takes no variable, goes as a parameter to the
// database's own sp_executesql.
func createSchema(database, schema string) (stmt, error) {
	q, err := quoteNames(database, schema)
	if err != nil {
		return stmt{}, err
	}
	return stmt{
		sql:  fmt.Sprintf("IF NOT EXISTS (SELECT 1 FROM %s.sys.schemas WHERE name = @schema) EXEC %s.sys.sp_executesql @create;", q[0], q[0]),
		args: []sql.NamedArg{sql.Named("schema", schema), sql.Named("create", "CREATE SCHEMA "+q[1])},
	}, nil
}

// dropTable drops a table of database (a table restore with Replace).
func dropTable(database string, t engines.TableRef) (stmt, error) {
	q, err := quoteNames(database, t.Schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	return stmt{sql: fmt.Sprintf("DROP TABLE %s;", strings.Join(q, "."))}, nil
}

// copyTable copies a table from the scratch restore into the target
// database on the same server: SELECT INTO creates it with the source's
// columns (identity included) and loads the rows without them passing
// through dbopsd.
func copyTable(scratch, database string, t engines.TableRef) (stmt, error) {
	from, err := quoteNames(scratch, t.Schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	into, err := quoteNames(database, t.Schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	return stmt{sql: fmt.Sprintf("SELECT * INTO %s FROM %s;", strings.Join(into, "."), strings.Join(from, "."))}, nil
}

// differentialBase reads the base of the database's next differential:
// the backup set GUID of its last full that was not COPY_ONLY, as the
// primary data file records it.
func differentialBase(database string) stmt {
	return stmt{
		sql:  "SELECT CAST(differential_base_guid AS varchar(36)) FROM sys.master_files WHERE database_id = DB_ID(@database) AND file_id = 1;",
		args: []sql.NamedArg{sql.Named("database", database)},
	}
}

// tableColumns lists the columns of a table of database with what
// createTable needs to declare them on another server: name, type, its
// length, precision and scale, nullability, and whether SQL Server
// computes it (computed, rowversion: their values are copied as data).
func tableColumns(database string, t engines.TableRef) (stmt, error) {
	q, err := quoteName(database)
	if err != nil {
		return stmt{}, err
	}
	return stmt{
		sql: fmt.Sprintf("SELECT c.name, CASE WHEN ty.is_user_defined = 1 AND ty.is_assembly_type = 0 THEN TYPE_NAME(ty.system_type_id) ELSE ty.name END,\n"+
			"  c.max_length, c.precision, c.scale, c.is_nullable, c.collation_name\n"+
			"FROM %[1]s.sys.columns AS c JOIN %[1]s.sys.types AS ty ON ty.user_type_id = c.user_type_id\n"+
			"JOIN %[1]s.sys.tables AS tb ON tb.object_id = c.object_id JOIN %[1]s.sys.schemas AS s ON s.schema_id = tb.schema_id\n"+
			"WHERE s.name = @schema AND tb.name = @table ORDER BY c.column_id;", q),
		args: []sql.NamedArg{sql.Named("schema", t.Schema), sql.Named("table", t.Name)},
	}, nil
}

// column is one row of tableColumns.
type column struct {
	Name, Type       string
	MaxLength        int // bytes; -1 for (max)
	Precision, Scale int
	Nullable         bool
	Collation        string
}

// declare is the column's type as CREATE TABLE writes it. Computed
// columns and rowversion become the plain type of their values.
func (c column) declare() (string, error) {
	var typ string
	switch strings.ToLower(c.Type) {
	case "varchar", "char", "varbinary", "binary":
		typ = c.Type + "(" + length(c.MaxLength, 1) + ")"
	case "nvarchar", "nchar":
		typ = c.Type + "(" + length(c.MaxLength, 2) + ")"
	case "decimal", "numeric":
		typ = fmt.Sprintf("%s(%d, %d)", c.Type, c.Precision, c.Scale)
	case "datetime2", "time", "datetimeoffset":
		typ = fmt.Sprintf("%s(%d)", c.Type, c.Scale)
	case "float":
		typ = fmt.Sprintf("float(%d)", c.Precision)
	case "timestamp", "rowversion":
		typ = "binary(8)"
	case "bigint", "int", "smallint", "tinyint", "bit", "money", "smallmoney", "real", "date", "datetime", "smalldatetime",
		"uniqueidentifier", "xml", "text", "ntext", "image", "sql_variant", "hierarchyid", "geometry", "geography":
		typ = c.Type
	default:
		return "", fmt.Errorf("column %s is of type %s, which the bulk copy of a table restore does not declare", c.Name, c.Type)
	}
	if c.Collation != "" && strings.Contains(strings.ToLower(c.Type), "char") {
		if strings.ContainsFunc(c.Collation, func(r rune) bool {
			return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			return "", fmt.Errorf("column %s: collation %q is not a collation name", c.Name, c.Collation)
		}
		typ += " COLLATE " + c.Collation
	}
	if c.Nullable {
		return typ + " NULL", nil
	}
	return typ + " NOT NULL", nil
}

func length(maxLength, unit int) string {
	if maxLength < 0 {
		return "max"
	}
	return fmt.Sprint(max(1, maxLength/unit))
}

// createTable creates a table of database with cols, as a table restore
// copies one across servers: columns and their types, nothing else (the
// same as SELECT INTO on one server brings, less the IDENTITY property:
// the values are copied).
func createTable(database string, t engines.TableRef, cols []column) (stmt, error) {
	q, err := quoteNames(database, t.Schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	if len(cols) == 0 {
		return stmt{}, fmt.Errorf("table %s has no columns", t)
	}
	var defs []string
	for _, c := range cols {
		n, err := quoteName(c.Name)
		if err != nil {
			return stmt{}, err
		}
		d, err := c.declare()
		if err != nil {
			return stmt{}, err
		}
		defs = append(defs, n+" "+d)
	}
	return stmt{sql: fmt.Sprintf("CREATE TABLE %s (\n  %s\n);", strings.Join(q, "."), strings.Join(defs, ",\n  "))}, nil
}

// selectColumns reads the rows of a table of database, the columns in
// order, for the bulk copy.
func selectColumns(database string, t engines.TableRef, cols []column) (stmt, error) {
	q, err := quoteNames(database, t.Schema, t.Name)
	if err != nil {
		return stmt{}, err
	}
	var names []string
	for _, c := range cols {
		n, err := quoteName(c.Name)
		if err != nil {
			return stmt{}, err
		}
		names = append(names, n)
	}
	return stmt{sql: fmt.Sprintf("SELECT %s FROM %s;", strings.Join(names, ", "), strings.Join(q, "."))}, nil
}
