package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// CollectDictionary reads the data dictionary of database (the capability
// package dictionary discovers by type assertion) from information_schema,
// one query per object kind, so the number of statements does not grow
// with the number of tables; exact row counts are batched countBatch
// tables to a statement.
func (e *Engine) CollectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error) {
	d, err := collectDictionary(ctx, src, database, opts)
	if err != nil {
		return nil, fmt.Errorf("reading the data dictionary of MySQL database %s: %w", database, err)
	}
	return d, nil
}

// countBatch is how many count(*) go in one statement.
const countBatch = 200

type dictCollector struct {
	db      *sql.DB
	queries int
}

func (c *dictCollector) query(ctx context.Context, what, q string, scan func(*sql.Rows) error, args ...any) error {
	c.queries++
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return classify(fmt.Errorf("reading %s: %w", what, err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("reading %s: %w", what, err))
	}
	return nil
}

func collectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error) {
	cfg, err := parseDSN(src)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg, database, 1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	c := &dictCollector{db: db}
	d := &dictmodel.Dictionary{
		Version: dictmodel.Version, Engine: "mysql", Database: database,
		CollectedAt: time.Now().UTC(), ExactRowsBelow: opts.ExactRowsBelow,
		Schemas: []dictmodel.Schema{{Name: database}}, Tables: []dictmodel.Table{},
	}
	if err := c.query(ctx, "the server version", "SELECT VERSION()", func(r *sql.Rows) error {
		return r.Scan(&d.ServerVersion)
	}); err != nil {
		return nil, err
	}

	byName := map[string]int{}
	var estimates []int64
	var sequences []string
	if err := c.query(ctx, "the tables and views", `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''),
			COALESCE(TABLE_ROWS, 0), DATA_LENGTH, INDEX_LENGTH, COALESCE(TABLE_COLLATION, ''),
			COALESCE(TABLE_COMMENT, ''), COALESCE(CREATE_OPTIONS, '')
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, func(r *sql.Rows) error {
		var (
			t            dictmodel.Table
			typ, options string
			rows         int64
			data, idx    sql.NullInt64
		)
		if err := r.Scan(&t.Name, &typ, &t.Engine, &rows, &data, &idx, &t.Collation, &t.Comment, &options); err != nil {
			return err
		}
		t.Schema = database
		switch typ {
		case "SEQUENCE":
			sequences = append(sequences, t.Name)
			return nil
		case "VIEW":
			t.Kind = dictmodel.KindView
			// MariaDB says "VIEW" in the comment of every view.
			if t.Comment == "VIEW" {
				t.Comment = ""
			}
		case "SYSTEM VERSIONED":
			t.Kind, t.SystemVersioned = dictmodel.KindTable, true
		default:
			t.Kind = dictmodel.KindTable
		}
		if strings.Contains(options, "partitioned") {
			t.Kind = dictmodel.KindPartitionedTable
		}
		if t.Kind != dictmodel.KindView {
			if data.Valid {
				t.DataBytes = &data.Int64
			}
			if idx.Valid {
				t.IndexBytes = &idx.Int64
			}
		}
		t.Columns = []dictmodel.Column{}
		byName[t.Name] = len(d.Tables)
		d.Tables = append(d.Tables, t)
		estimates = append(estimates, rows)
		return nil
	}, database); err != nil {
		return nil, err
	}
	table := func(name string) *dictmodel.Table {
		if i, ok := byName[name]; ok {
			return &d.Tables[i]
		}
		return nil
	}

	if err := c.query(ctx, "the columns", `SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE,
			IS_NULLABLE = 'YES', COLUMN_DEFAULT, COALESCE(COLUMN_COMMENT, ''), COALESCE(EXTRA, ''),
			COALESCE(GENERATION_EXPRESSION, ''), COALESCE(COLLATION_NAME, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`, func(r *sql.Rows) error {
		var (
			name, extra, gen string
			def              sql.NullString
			col              dictmodel.Column
		)
		if err := r.Scan(&name, &col.Position, &col.Name, &col.Type, &col.Nullable, &def, &col.Comment, &extra, &gen, &col.Collation); err != nil {
			return err
		}
		t := table(name)
		if t == nil {
			return nil
		}
		col.Default = def.String
		lx := strings.ToLower(extra)
		switch {
		case strings.Contains(lx, "stored generated") || strings.Contains(lx, "persistent"):
			col.Generated, col.GeneratedKind, col.Default = gen, "stored", ""
		case strings.Contains(lx, "virtual"):
			col.Generated, col.GeneratedKind, col.Default = gen, "virtual", ""
		}
		if strings.Contains(lx, "auto_increment") {
			col.Identity = "auto_increment"
		}
		if col.Collation == t.Collation {
			col.Collation = ""
		}
		t.Columns = append(t.Columns, col)
		return nil
	}, database); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the indexes", `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, func(r *sql.Rows) error {
		var (
			tname, iname, typ string
			nonUnique         int
			col               sql.NullString
			sub               sql.NullInt64
		)
		if err := r.Scan(&tname, &iname, &nonUnique, &col, &sub, &typ); err != nil {
			return err
		}
		t := table(tname)
		if t == nil {
			return nil
		}
		c := col.String
		if sub.Valid {
			c = fmt.Sprintf("%s(%d)", c, sub.Int64)
		}
		if n := len(t.Indexes); n > 0 && t.Indexes[n-1].Name == iname {
			t.Indexes[n-1].Columns = append(t.Indexes[n-1].Columns, c)
			return nil
		}
		t.Indexes = append(t.Indexes, dictmodel.Index{Name: iname, Columns: []string{c}, Method: typ,
			Unique: nonUnique == 0, Primary: iname == "PRIMARY"})
		return nil
	}, database); err != nil {
		return nil, err
	}
	for i := range d.Tables {
		t := &d.Tables[i]
		for _, ix := range t.Indexes {
			switch {
			case ix.Primary:
				t.PrimaryKey = &dictmodel.Constraint{Name: ix.Name, Columns: ix.Columns}
			case ix.Unique:
				t.Uniques = append(t.Uniques, dictmodel.Constraint{Name: ix.Name, Columns: ix.Columns})
			}
		}
	}

	// Index sizes come from InnoDB's persistent statistics, which a user
	// without SELECT on mysql.innodb_index_stats cannot read: then the sizes
	// stay absent (not collected), and the dictionary is still whole.
	sizes := map[[2]string]int64{}
	if err := c.query(ctx, "the index sizes", `SELECT table_name, index_name, SUM(stat_value) * @@innodb_page_size
		FROM mysql.innodb_index_stats WHERE database_name = ? AND stat_name = 'size'
		GROUP BY table_name, index_name`, func(r *sql.Rows) error {
		var (
			tname, iname string
			n            float64
		)
		if err := r.Scan(&tname, &iname, &n); err != nil {
			return err
		}
		if k := strings.Index(tname, "#P#"); k >= 0 {
			tname = tname[:k] // a partition's index counts for its table
		}
		sizes[[2]string{tname, iname}] += int64(n)
		return nil
	}, database); err == nil {
		for i := range d.Tables {
			t := &d.Tables[i]
			for k := range t.Indexes {
				if n, ok := sizes[[2]string{t.Name, t.Indexes[k].Name}]; ok {
					t.Indexes[k].Bytes = &n
				}
			}
		}
	}

	if err := c.query(ctx, "the foreign keys", `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME,
			k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k
		JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
			AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND rc.TABLE_NAME = k.TABLE_NAME
		WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
		ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, func(r *sql.Rows) error {
		var tname, name, col, rschema, rtable, rcol, upd, del string
		if err := r.Scan(&tname, &name, &col, &rschema, &rtable, &rcol, &upd, &del); err != nil {
			return err
		}
		t := table(tname)
		if t == nil {
			return nil
		}
		if n := len(t.ForeignKeys); n > 0 && t.ForeignKeys[n-1].Name == name {
			fk := &t.ForeignKeys[n-1]
			fk.Columns = append(fk.Columns, col)
			fk.RefColumns = append(fk.RefColumns, rcol)
			return nil
		}
		t.ForeignKeys = append(t.ForeignKeys, dictmodel.ForeignKey{Name: name, Schema: database, Table: tname,
			Columns: []string{col}, RefSchema: rschema, RefTable: rtable, RefColumns: []string{rcol},
			OnUpdate: upd, OnDelete: del})
		return nil
	}, database); err != nil {
		return nil, err
	}
	for i := range d.Tables {
		for _, fk := range d.Tables[i].ForeignKeys {
			if rt := table(fk.RefTable); rt != nil && fk.RefSchema == database {
				rt.ReferencedBy = append(rt.ReferencedBy, fk)
			}
		}
	}

	if err := c.query(ctx, "the check constraints", `SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
		FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`, func(r *sql.Rows) error {
		var tname string
		var ck dictmodel.Check
		if err := r.Scan(&tname, &ck.Name, &ck.Expression); err != nil {
			return err
		}
		if t := table(tname); t != nil {
			t.Checks = append(t.Checks, ck)
		}
		return nil
	}, database); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the triggers", `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT
		FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME`, func(r *sql.Rows) error {
		var tname string
		var tr dictmodel.Trigger
		if err := r.Scan(&tname, &tr.Name, &tr.Timing, &tr.Events, &tr.Definition); err != nil {
			return err
		}
		if t := table(tname); t != nil {
			t.Triggers = append(t.Triggers, tr)
		}
		return nil
	}, database); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the views", `SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, func(r *sql.Rows) error {
		var tname, def string
		if err := r.Scan(&tname, &def); err != nil {
			return err
		}
		t := table(tname)
		if t == nil {
			return nil
		}
		t.Definition = def
		// The server stores a view's query with every table as
		// `database`.`table`; MariaDB has no VIEW_TABLE_USAGE to ask.
		for _, o := range d.Tables {
			if o.Name != tname && strings.Contains(def, quoteIdent(database)+"."+quoteIdent(o.Name)) {
				t.Reads = append(t.Reads, o.Ref())
			}
		}
		return nil
	}, database); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the partitions", `SELECT TABLE_NAME, PARTITION_NAME, COALESCE(PARTITION_METHOD, ''),
			COALESCE(PARTITION_EXPRESSION, '')
		FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND PARTITION_NAME IS NOT NULL
		ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`, func(r *sql.Rows) error {
		var tname, pname, method, expr string
		if err := r.Scan(&tname, &pname, &method, &expr); err != nil {
			return err
		}
		if t := table(tname); t != nil {
			t.PartitionKey = method + " (" + expr + ")"
			t.PartitionNames = append(t.PartitionNames, pname)
		}
		return nil
	}, database); err != nil {
		return nil, err
	}

	args := map[string][]string{}
	returns := map[string]string{}
	if err := c.query(ctx, "the routine parameters", `SELECT SPECIFIC_NAME, ORDINAL_POSITION, COALESCE(PARAMETER_MODE, ''),
			COALESCE(PARAMETER_NAME, ''), DTD_IDENTIFIER
		FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? ORDER BY SPECIFIC_NAME, ORDINAL_POSITION`, func(r *sql.Rows) error {
		var name, mode, pname, typ string
		var pos int
		if err := r.Scan(&name, &pos, &mode, &pname, &typ); err != nil {
			return err
		}
		if pos == 0 {
			returns[name] = typ
			return nil
		}
		args[name] = append(args[name], strings.TrimSpace(mode+" "+pname+" "+typ))
		return nil
	}, database); err != nil {
		return nil, err
	}
	if err := c.query(ctx, "the routines", `SELECT ROUTINE_NAME, ROUTINE_TYPE, COALESCE(ROUTINE_BODY, ''), COALESCE(ROUTINE_COMMENT, '')
		FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME, ROUTINE_TYPE`, func(r *sql.Rows) error {
		var rt dictmodel.Routine
		if err := r.Scan(&rt.Name, &rt.Kind, &rt.Language, &rt.Comment); err != nil {
			return err
		}
		rt.Schema, rt.Kind = database, strings.ToLower(rt.Kind)
		rt.Arguments, rt.Returns = strings.Join(args[rt.Name], ", "), returns[rt.Name]
		d.Routines = append(d.Routines, rt)
		return nil
	}, database); err != nil {
		return nil, err
	}
	for _, s := range sequences {
		d.Sequences = append(d.Sequences, dictmodel.Sequence{Schema: database, Name: s})
	}

	if err := c.countRows(ctx, d, estimates, opts.ExactRowsBelow); err != nil {
		return nil, err
	}
	d.Queries = c.queries
	return d, nil
}

// countRows fills Rows: exact for the tables estimated below the
// threshold, countBatch to a statement; InnoDB's estimate, marked, for the
// others.
func (c *dictCollector) countRows(ctx context.Context, d *dictmodel.Dictionary, estimates []int64, below int64) error {
	var exact []int
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.Kind == dictmodel.KindView {
			continue
		}
		if below > 0 && estimates[i] < below {
			exact = append(exact, i)
			continue
		}
		n := estimates[i]
		t.Rows, t.RowsEstimated = &n, true
	}
	for start := 0; start < len(exact); start += countBatch {
		batch := exact[start:min(start+countBatch, len(exact))]
		parts := make([]string, len(batch))
		for k, i := range batch {
			t := d.Tables[i]
			parts[k] = fmt.Sprintf("SELECT %d, COUNT(*) FROM %s.%s", i, quoteIdent(t.Schema), quoteIdent(t.Name))
		}
		if err := c.query(ctx, "the row counts", strings.Join(parts, " UNION ALL "), func(r *sql.Rows) error {
			var i int
			var n int64
			if err := r.Scan(&i, &n); err != nil {
				return err
			}
			d.Tables[i].Rows = &n
			return nil
		}); err != nil {
			return err
		}
	}
	sort.SliceStable(d.Tables, func(a, b int) bool { return d.Tables[a].Name < d.Tables[b].Name })
	return nil
}
