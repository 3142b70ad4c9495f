package mssql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// CollectDictionary reads the data dictionary of database (the capability
// package dictionary discovers by type assertion) from the catalog views,
// one statement per object kind whatever the number of tables; exact row
// counts, when asked for, are batched countBatch tables to a statement.
// Comments are the MS_Description extended properties SSMS and most
// modelling tools write.
//
// The statements are built by dictQueries and their rows mapped by the
// scan functions, which tests feed recorded rows (dictionary_test.go);
// the text sent is compared with testdata/dictionary.golden.
func (e *Engine) CollectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error) {
	d, err := collectDictionary(ctx, src, database, opts)
	if err != nil {
		return nil, fmt.Errorf("reading the data dictionary of SQL Server database %s: %w", database, err)
	}
	return d, nil
}

// countBatch is how many COUNT_BIG(*) go in one statement.
const countBatch = 200

func collectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error) {
	db, err := open(ctx, src, database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	b := newDictBuilder(database, opts)
	b.d.CollectedAt = time.Now().UTC()
	run := func(what string, s stmt, scan func(rowScanner, *dictBuilder) error) error {
		b.d.Queries++
		rows, err := db.QueryContext(ctx, s.sql, s.params()...)
		if err != nil {
			return fmt.Errorf("reading %s: %w", what, classify(err))
		}
		defer rows.Close()
		if err := scan(rows, b); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", what, classify(err))
		}
		return nil
	}
	for _, q := range dictQueries() {
		if err := run(q.what, q.stmt, q.scan); err != nil {
			if q.optional {
				// Sizes and row estimates need VIEW DATABASE STATE: without
				// it they stay absent (not collected), and the dictionary is
				// still whole.
				continue
			}
			return nil, err
		}
	}
	b.finish()
	for _, s := range b.countStatements(opts.ExactRowsBelow) {
		if err := run("the row counts", s, scanCounts); err != nil {
			return nil, err
		}
	}
	return b.d, nil
}

// dictBuilder assembles the model from the statements' rows.
type dictBuilder struct {
	d *dictmodel.Dictionary
	// byRef finds a table by name; collation is the database's default,
	// which columns state only where they differ.
	byRef     map[dictmodel.Ref]int
	collation string
	// estimates are sys.dm_db_partition_stats' row counts, by table.
	estimates map[int]int64
}

func newDictBuilder(database string, opts dictmodel.Options) *dictBuilder {
	return &dictBuilder{
		d: &dictmodel.Dictionary{Version: dictmodel.Version, Engine: engineName, Database: database,
			ExactRowsBelow: opts.ExactRowsBelow, Schemas: []dictmodel.Schema{}, Tables: []dictmodel.Table{}},
		byRef: map[dictmodel.Ref]int{}, estimates: map[int]int64{},
	}
}

func (b *dictBuilder) table(schema, name string) *dictmodel.Table {
	if i, ok := b.byRef[dictmodel.Ref{Schema: schema, Name: name}]; ok {
		return &b.d.Tables[i]
	}
	return nil
}

// dictQuery is one statement of the dictionary and what its rows mean;
// optional ones may fail for want of a permission.
type dictQuery struct {
	what     string
	stmt     stmt
	optional bool
	scan     func(rowScanner, *dictBuilder) error
}

// userObjects restricts o (sys.objects) to the user's tables and views.
const userObjects = "o.type IN ('U', 'V') AND o.is_ms_shipped = 0"

// description is the MS_Description of class, major and minor ids.
func description(alias string, class int, major, minor string) string {
	return fmt.Sprintf("LEFT JOIN sys.extended_properties %s ON %s.class = %d AND %s.major_id = %s AND %s.minor_id = %s AND %s.name = N'MS_Description'",
		alias, alias, class, alias, major, alias, minor, alias)
}

func dictQueries() []dictQuery {
	return []dictQuery{
		{what: "the server version", stmt: stmt{sql: "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)),\n" +
			"CAST(DATABASEPROPERTYEX(DB_NAME(), 'Collation') AS nvarchar(128));"}, scan: scanDictVersion},
		{what: "the schemas", stmt: stmt{sql: "SELECT s.name, COALESCE(CAST(ep.value AS nvarchar(max)), N'')\n" +
			"FROM sys.schemas s\n" + description("ep", 3, "s.schema_id", "0") + "\n" +
			"WHERE s.schema_id NOT IN (2, 3, 4) AND s.schema_id < 16384\n" +
			"ORDER BY s.name;"}, scan: scanSchemas},
		{what: "the tables and views", stmt: stmt{sql: "SELECT s.name, o.name, o.type, COALESCE(CAST(ep.value AS nvarchar(max)), N''), COALESCE(m.definition, N''),\n" +
			"CASE WHEN EXISTS (SELECT 1 FROM sys.indexes i JOIN sys.partition_schemes ps ON ps.data_space_id = i.data_space_id\n" +
			"\tWHERE i.object_id = o.object_id AND i.index_id IN (0, 1)) THEN 1 ELSE 0 END\n" +
			"FROM sys.objects o\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"LEFT JOIN sys.sql_modules m ON m.object_id = o.object_id\n" +
			description("ep", 1, "o.object_id", "0") + "\n" +
			"WHERE " + userObjects + "\n" +
			"ORDER BY s.name, o.name;"}, scan: scanDictTables},
		{what: "the columns", stmt: stmt{sql: "SELECT s.name, o.name, c.column_id, c.name, ty.name, c.max_length, c.precision, c.scale, ty.is_user_defined,\n" +
			"c.is_nullable, COALESCE(dc.definition, N''), COALESCE(CAST(ep.value AS nvarchar(max)), N''),\n" +
			"COALESCE(cc.definition, N''), COALESCE(cc.is_persisted, 0), c.is_identity,\n" +
			"COALESCE(CAST(ic.seed_value AS nvarchar(40)), N''), COALESCE(CAST(ic.increment_value AS nvarchar(40)), N''), COALESCE(c.collation_name, N'')\n" +
			"FROM sys.columns c\n" +
			"JOIN sys.objects o ON o.object_id = c.object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"JOIN sys.types ty ON ty.user_type_id = c.user_type_id\n" +
			"LEFT JOIN sys.default_constraints dc ON dc.object_id = c.default_object_id\n" +
			"LEFT JOIN sys.computed_columns cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id\n" +
			"LEFT JOIN sys.identity_columns ic ON ic.object_id = c.object_id AND ic.column_id = c.column_id\n" +
			description("ep", 1, "c.object_id", "c.column_id") + "\n" +
			"WHERE " + userObjects + "\n" +
			"ORDER BY s.name, o.name, c.column_id;"}, scan: scanColumns},
		{what: "the indexes", stmt: stmt{sql: "SELECT s.name, o.name, i.name, i.type_desc, i.is_unique, i.is_primary_key, i.is_unique_constraint,\n" +
			"COALESCE(i.filter_definition, N''), COALESCE(c.name, N''), COALESCE(ic.is_descending_key, 0), COALESCE(ic.is_included_column, 0)\n" +
			"FROM sys.indexes i\n" +
			"JOIN sys.objects o ON o.object_id = i.object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"LEFT JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id\n" +
			"LEFT JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id\n" +
			"WHERE " + userObjects + " AND i.index_id > 0 AND i.is_hypothetical = 0\n" +
			"ORDER BY s.name, o.name, i.name, ic.is_included_column, ic.key_ordinal, ic.index_column_id;"}, scan: scanDictIndexes},
		{what: "the foreign keys", stmt: stmt{sql: "SELECT s.name, o.name, fk.name, pc.name, rs.name, ro.name, rc.name,\n" +
			"fk.update_referential_action_desc, fk.delete_referential_action_desc\n" +
			"FROM sys.foreign_keys fk\n" +
			"JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id\n" +
			"JOIN sys.objects o ON o.object_id = fk.parent_object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id\n" +
			"JOIN sys.objects ro ON ro.object_id = fk.referenced_object_id\n" +
			"JOIN sys.schemas rs ON rs.schema_id = ro.schema_id\n" +
			"JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id\n" +
			"ORDER BY s.name, o.name, fk.name, fkc.constraint_column_id;"}, scan: scanForeignKeys},
		{what: "the check constraints", stmt: stmt{sql: "SELECT s.name, o.name, k.name, k.definition\n" +
			"FROM sys.check_constraints k\n" +
			"JOIN sys.objects o ON o.object_id = k.parent_object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"ORDER BY s.name, o.name, k.name;"}, scan: scanChecks},
		{what: "the triggers", stmt: stmt{sql: "SELECT s.name, o.name, tr.name, tr.is_instead_of_trigger, COALESCE(te.type_desc, N''), COALESCE(m.definition, N'')\n" +
			"FROM sys.triggers tr\n" +
			"JOIN sys.objects o ON o.object_id = tr.parent_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"LEFT JOIN sys.trigger_events te ON te.object_id = tr.object_id\n" +
			"LEFT JOIN sys.sql_modules m ON m.object_id = tr.object_id\n" +
			"WHERE tr.parent_class = 1\n" +
			"ORDER BY s.name, o.name, tr.name, te.type;"}, scan: scanTriggers},
		{what: "what the views read", stmt: stmt{sql: "SELECT DISTINCT vs.name, v.name, COALESCE(rs.name, d.referenced_schema_name, N'dbo'), d.referenced_entity_name\n" +
			"FROM sys.sql_expression_dependencies d\n" +
			"JOIN sys.views v ON v.object_id = d.referencing_id\n" +
			"JOIN sys.schemas vs ON vs.schema_id = v.schema_id\n" +
			"LEFT JOIN sys.objects ro ON ro.object_id = d.referenced_id\n" +
			"LEFT JOIN sys.schemas rs ON rs.schema_id = ro.schema_id\n" +
			"WHERE d.referenced_minor_id = 0 AND d.referenced_database_name IS NULL AND d.referenced_server_name IS NULL\n" +
			"ORDER BY 1, 2, 3, 4;"}, scan: scanViewReads},
		{what: "the routines", stmt: stmt{sql: "SELECT s.name, o.name, o.type, COALESCE(CAST(ep.value AS nvarchar(max)), N'')\n" +
			"FROM sys.objects o\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			description("ep", 1, "o.object_id", "0") + "\n" +
			"WHERE o.type IN ('P', 'FN', 'IF', 'TF', 'PC', 'FS', 'FT', 'AF') AND o.is_ms_shipped = 0\n" +
			"ORDER BY s.name, o.name;"}, scan: scanRoutines},
		{what: "the routine parameters", stmt: stmt{sql: "SELECT s.name, o.name, p.parameter_id, p.name, ty.name, p.max_length, p.precision, p.scale, ty.is_user_defined, p.is_output\n" +
			"FROM sys.parameters p\n" +
			"JOIN sys.objects o ON o.object_id = p.object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"JOIN sys.types ty ON ty.user_type_id = p.user_type_id\n" +
			"WHERE o.type IN ('P', 'FN', 'IF', 'TF', 'PC', 'FS', 'FT', 'AF') AND o.is_ms_shipped = 0\n" +
			"ORDER BY s.name, o.name, p.parameter_id;"}, scan: scanParameters},
		{what: "the sequences", stmt: stmt{sql: "SELECT s.name, q.name, ty.name, TRY_CAST(q.start_value AS bigint), TRY_CAST(q.increment AS bigint),\n" +
			"TRY_CAST(q.minimum_value AS bigint), TRY_CAST(q.maximum_value AS bigint), q.is_cycling, COALESCE(CAST(ep.value AS nvarchar(max)), N'')\n" +
			"FROM sys.sequences q\n" +
			"JOIN sys.schemas s ON s.schema_id = q.schema_id\n" +
			"JOIN sys.types ty ON ty.user_type_id = q.user_type_id\n" +
			description("ep", 1, "q.object_id", "0") + "\n" +
			"ORDER BY s.name, q.name;"}, scan: scanSequences},
		{what: "the sizes and row estimates", optional: true, stmt: stmt{sql: "SELECT s.name, o.name, COALESCE(i.name, N''), p.index_id,\n" +
			"SUM(p.row_count), SUM(p.used_page_count) * CAST(8192 AS bigint)\n" +
			"FROM sys.dm_db_partition_stats p\n" +
			"JOIN sys.objects o ON o.object_id = p.object_id\n" +
			"JOIN sys.schemas s ON s.schema_id = o.schema_id\n" +
			"LEFT JOIN sys.indexes i ON i.object_id = p.object_id AND i.index_id = p.index_id\n" +
			"WHERE " + userObjects + "\n" +
			"GROUP BY s.name, o.name, i.name, p.index_id\n" +
			"ORDER BY s.name, o.name, p.index_id;"}, scan: scanSizes},
	}
}

func scanDictVersion(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var coll sql.NullString
		if err := r.Scan(&b.d.ServerVersion, &coll); err != nil {
			return err
		}
		b.collation = coll.String
	}
	return nil
}

func scanSchemas(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var s dictmodel.Schema
		if err := r.Scan(&s.Name, &s.Comment); err != nil {
			return err
		}
		b.d.Schemas = append(b.d.Schemas, s)
	}
	return nil
}

func scanDictTables(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var t dictmodel.Table
		var typ string
		var partitioned bool
		if err := r.Scan(&t.Schema, &t.Name, &typ, &t.Comment, &t.Definition, &partitioned); err != nil {
			return err
		}
		switch strings.TrimSpace(typ) {
		case "V":
			t.Kind = dictmodel.KindView
		default:
			t.Kind, t.Definition = dictmodel.KindTable, ""
			if partitioned {
				t.Kind = dictmodel.KindPartitionedTable
			}
		}
		t.Collation = b.collation
		t.Columns = []dictmodel.Column{}
		b.byRef[t.Ref()] = len(b.d.Tables)
		b.d.Tables = append(b.d.Tables, t)
	}
	return nil
}

// typeName spells a column's or parameter's type as T-SQL declares it
// from sys.types' name and the length (bytes), precision and scale.
func typeName(name string, maxLen, precision, scale int64, userDefined bool) string {
	if userDefined {
		return name
	}
	length := func(perChar int64) string {
		if maxLen == -1 {
			return name + "(max)"
		}
		return fmt.Sprintf("%s(%d)", name, maxLen/perChar)
	}
	switch name {
	case "varchar", "char", "varbinary", "binary":
		return length(1)
	case "nvarchar", "nchar":
		return length(2)
	case "decimal", "numeric":
		return fmt.Sprintf("%s(%d,%d)", name, precision, scale)
	case "datetime2", "time", "datetimeoffset":
		if scale != 7 {
			return fmt.Sprintf("%s(%d)", name, scale)
		}
	case "float":
		if precision != 53 {
			return fmt.Sprintf("%s(%d)", name, precision)
		}
	}
	return name
}

func scanColumns(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var (
			schema, table, typ, computed, seed, incr string
			c                                        dictmodel.Column
			maxLen, prec, scale                      int64
			userDefined, persisted, identity         bool
		)
		if err := r.Scan(&schema, &table, &c.Position, &c.Name, &typ, &maxLen, &prec, &scale, &userDefined,
			&c.Nullable, &c.Default, &c.Comment, &computed, &persisted, &identity, &seed, &incr, &c.Collation); err != nil {
			return err
		}
		t := b.table(schema, table)
		if t == nil {
			continue
		}
		c.Type = typeName(typ, maxLen, prec, scale, userDefined)
		if computed != "" {
			c.Generated, c.GeneratedKind = computed, "virtual"
			if persisted {
				c.GeneratedKind = "stored"
			}
		}
		if identity {
			c.Identity = fmt.Sprintf("identity(%s,%s)", seed, incr)
		}
		if c.Collation == t.Collation {
			c.Collation = ""
		}
		t.Columns = append(t.Columns, c)
	}
	return nil
}

func scanDictIndexes(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var (
			schema, table, name, typ, filter, col string
			unique, primary, uniqueKey, desc, inc bool
		)
		if err := r.Scan(&schema, &table, &name, &typ, &unique, &primary, &uniqueKey, &filter, &col, &desc, &inc); err != nil {
			return err
		}
		t := b.table(schema, table)
		if t == nil {
			continue
		}
		switch {
		case col == "":
		case inc:
			col = "INCLUDE " + col
		case desc:
			col += " DESC"
		}
		if n := len(t.Indexes); n > 0 && t.Indexes[n-1].Name == name {
			if col != "" {
				t.Indexes[n-1].Columns = append(t.Indexes[n-1].Columns, col)
			}
			continue
		}
		x := dictmodel.Index{Name: name, Method: strings.ToLower(typ), Unique: unique, Primary: primary, Predicate: filter}
		if col != "" {
			x.Columns = []string{col}
		}
		t.Indexes = append(t.Indexes, x)
		// Keys are noted in finish, once their columns are all read; a
		// unique constraint is marked by its Method until then.
		if uniqueKey {
			t.Uniques = append(t.Uniques, dictmodel.Constraint{Name: name})
		}
	}
	return nil
}

// referentialAction spells sys.foreign_keys' NO_ACTION as NO ACTION.
func referentialAction(s string) string { return strings.ReplaceAll(s, "_", " ") }

func scanForeignKeys(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var schema, table, name, col, rschema, rtable, rcol, upd, del string
		if err := r.Scan(&schema, &table, &name, &col, &rschema, &rtable, &rcol, &upd, &del); err != nil {
			return err
		}
		t := b.table(schema, table)
		if t == nil {
			continue
		}
		if n := len(t.ForeignKeys); n > 0 && t.ForeignKeys[n-1].Name == name {
			fk := &t.ForeignKeys[n-1]
			fk.Columns = append(fk.Columns, col)
			fk.RefColumns = append(fk.RefColumns, rcol)
			continue
		}
		t.ForeignKeys = append(t.ForeignKeys, dictmodel.ForeignKey{Name: name, Schema: schema, Table: table,
			Columns: []string{col}, RefSchema: rschema, RefTable: rtable, RefColumns: []string{rcol},
			OnUpdate: referentialAction(upd), OnDelete: referentialAction(del)})
	}
	return nil
}

func scanChecks(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var schema, table string
		var c dictmodel.Check
		if err := r.Scan(&schema, &table, &c.Name, &c.Expression); err != nil {
			return err
		}
		if t := b.table(schema, table); t != nil {
			t.Checks = append(t.Checks, c)
		}
	}
	return nil
}

func scanTriggers(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var schema, table, name, event, def string
		var insteadOf bool
		if err := r.Scan(&schema, &table, &name, &insteadOf, &event, &def); err != nil {
			return err
		}
		t := b.table(schema, table)
		if t == nil {
			continue
		}
		if n := len(t.Triggers); n > 0 && t.Triggers[n-1].Name == name {
			if event != "" {
				t.Triggers[n-1].Events += ", " + event
			}
			continue
		}
		timing := "AFTER"
		if insteadOf {
			timing = "INSTEAD OF"
		}
		t.Triggers = append(t.Triggers, dictmodel.Trigger{Name: name, Timing: timing, Events: event, Definition: def})
	}
	return nil
}

func scanViewReads(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var schema, view string
		var ref dictmodel.Ref
		if err := r.Scan(&schema, &view, &ref.Schema, &ref.Name); err != nil {
			return err
		}
		if t := b.table(schema, view); t != nil {
			t.Reads = append(t.Reads, ref)
		}
	}
	return nil
}

// routineKinds are sys.objects' types of routines.
var routineKinds = map[string]string{
	"P": "procedure", "PC": "procedure", "FN": "function", "IF": "function", "TF": "function",
	"FS": "function", "FT": "function", "AF": "aggregate",
}

func scanRoutines(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var rt dictmodel.Routine
		var typ string
		if err := r.Scan(&rt.Schema, &rt.Name, &typ, &rt.Comment); err != nil {
			return err
		}
		typ = strings.TrimSpace(typ)
		rt.Kind = routineKinds[typ]
		rt.Language = "T-SQL"
		if typ == "PC" || typ == "FS" || typ == "FT" || typ == "AF" {
			rt.Language = "CLR"
		}
		if typ == "IF" || typ == "TF" || typ == "FT" {
			rt.Returns = "TABLE"
		}
		b.d.Routines = append(b.d.Routines, rt)
	}
	return nil
}

func scanParameters(r rowScanner, b *dictBuilder) error {
	index := map[dictmodel.Ref]int{}
	for i, rt := range b.d.Routines {
		index[dictmodel.Ref{Schema: rt.Schema, Name: rt.Name}] = i
	}
	for r.Next() {
		var schema, routine, name, typ string
		var id, maxLen, prec, scale int64
		var userDefined, output bool
		if err := r.Scan(&schema, &routine, &id, &name, &typ, &maxLen, &prec, &scale, &userDefined, &output); err != nil {
			return err
		}
		i, ok := index[dictmodel.Ref{Schema: schema, Name: routine}]
		if !ok {
			continue
		}
		rt := &b.d.Routines[i]
		spelled := typeName(typ, maxLen, prec, scale, userDefined)
		if id == 0 {
			rt.Returns = spelled
			continue
		}
		arg := name + " " + spelled
		if output {
			arg += " OUTPUT"
		}
		if rt.Arguments != "" {
			rt.Arguments += ", "
		}
		rt.Arguments += arg
	}
	return nil
}

func scanSequences(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var q dictmodel.Sequence
		var start, incr, lo, hi sql.NullInt64
		if err := r.Scan(&q.Schema, &q.Name, &q.Type, &start, &incr, &lo, &hi, &q.Cycle, &q.Comment); err != nil {
			return err
		}
		for _, p := range []struct {
			v   sql.NullInt64
			dst **int64
		}{{start, &q.Start}, {incr, &q.Increment}, {lo, &q.Min}, {hi, &q.Max}} {
			if p.v.Valid {
				n := p.v.Int64
				*p.dst = &n
			}
		}
		b.d.Sequences = append(b.d.Sequences, q)
	}
	return nil
}

// scanSizes reads sys.dm_db_partition_stats: the heap or clustered index
// (index_id 0 or 1) holds the table's rows and data, every other index its
// own bytes.
func scanSizes(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var schema, table, index string
		var id, rows, used int64
		if err := r.Scan(&schema, &table, &index, &id, &rows, &used); err != nil {
			return err
		}
		i, ok := b.byRef[dictmodel.Ref{Schema: schema, Name: table}]
		if !ok {
			continue
		}
		t := &b.d.Tables[i]
		if id <= 1 {
			if t.Kind != dictmodel.KindView {
				n, data := rows, used
				t.Rows, t.RowsEstimated, t.DataBytes = &n, true, &data
				b.estimates[i] = rows
			}
		} else {
			sum := used
			if t.IndexBytes != nil {
				sum += *t.IndexBytes
			}
			t.IndexBytes = &sum
		}
		if id >= 1 {
			for k := range t.Indexes {
				if t.Indexes[k].Name == index {
					n := used
					t.Indexes[k].Bytes = &n
				}
			}
		}
	}
	return nil
}

// finish derives what the statements give in pieces: keys from their
// indexes, and each foreign key on the table it references.
func (b *dictBuilder) finish() {
	for i := range b.d.Tables {
		t := &b.d.Tables[i]
		if t.Kind != dictmodel.KindView && t.IndexBytes == nil && t.DataBytes != nil {
			zero := int64(0)
			t.IndexBytes = &zero
		}
		uniques := t.Uniques
		t.Uniques = nil
		for _, ix := range t.Indexes {
			if ix.Primary {
				t.PrimaryKey = &dictmodel.Constraint{Name: ix.Name, Columns: keyColumns(ix.Columns)}
				continue
			}
			for _, u := range uniques {
				if u.Name == ix.Name {
					t.Uniques = append(t.Uniques, dictmodel.Constraint{Name: ix.Name, Columns: keyColumns(ix.Columns)})
				}
			}
		}
	}
	for i := range b.d.Tables {
		for _, fk := range b.d.Tables[i].ForeignKeys {
			if rt := b.table(fk.RefSchema, fk.RefTable); rt != nil {
				rt.ReferencedBy = append(rt.ReferencedBy, fk)
			}
		}
	}
}

// keyColumns are an index's key columns without their order.
func keyColumns(cols []string) []string {
	var out []string
	for _, c := range cols {
		if strings.HasPrefix(c, "INCLUDE ") {
			continue
		}
		out = append(out, strings.TrimSuffix(c, " DESC"))
	}
	return out
}

// countStatements count exactly the tables estimated below below (all
// tables without an estimate when the sizes could not be read), countBatch
// to a statement. Names take no variables here: they are quoted as
// QUOTENAME does; a name that cannot be quoted keeps its estimate.
func (b *dictBuilder) countStatements(below int64) []stmt {
	if below <= 0 {
		return nil
	}
	var parts []string
	var out []stmt
	flush := func() {
		if len(parts) > 0 {
			out = append(out, stmt{sql: strings.Join(parts, "\nUNION ALL ") + ";"})
			parts = nil
		}
	}
	for i, t := range b.d.Tables {
		if t.Kind == dictmodel.KindView {
			continue
		}
		if est, ok := b.estimates[i]; ok && est >= below {
			continue
		}
		q, err := quoteNames(t.Schema, t.Name)
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("SELECT %d, COUNT_BIG(*) FROM %s.%s", i, q[0], q[1]))
		if len(parts) == countBatch {
			flush()
		}
	}
	flush()
	return out
}

func scanCounts(r rowScanner, b *dictBuilder) error {
	for r.Next() {
		var i, n int64
		if err := r.Scan(&i, &n); err != nil {
			return err
		}
		if i < 0 || int(i) >= len(b.d.Tables) {
			return fmt.Errorf("a count for table #%s, which was not asked for", strconv.FormatInt(i, 10))
		}
		rows := n
		b.d.Tables[i].Rows, b.d.Tables[i].RowsEstimated = &rows, false
	}
	return nil
}
