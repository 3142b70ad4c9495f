package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// CollectDictionary reads the data dictionary of database (the capability
// package dictionary discovers by type assertion). It reads the system
// catalogs in one REPEATABLE READ transaction, one query per object kind,
// so the number of statements does not grow with the number of tables; the
// exact row counts are batched countBatch tables to a statement.
func (e *Engine) CollectDictionary(ctx context.Context, src engines.Conn, database string, opts dictmodel.Options) (*dictmodel.Dictionary, error) {
	d, err := collectDictionary(ctx, src, database, opts)
	if err != nil {
		return nil, fmt.Errorf("reading the data dictionary of PostgreSQL database %s: %w", database, err)
	}
	return d, nil
}

// countBatch is how many count(*) go in one statement.
const countBatch = 200

// userSchemas selects the namespaces a dictionary covers (alias n).
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
	AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`

// notExtension leaves out objects an extension owns (alias: the object's
// oid column and its catalog).
func notExtension(oid, catalog string) string {
	return fmt.Sprintf(`NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.objid = %s AND x.classid = '%s'::regclass AND x.deptype = 'e')`, oid, catalog)
}

type dictCollector struct {
	conn    *pgx.Conn
	queries int
}

func (c *dictCollector) query(ctx context.Context, what, sql string, scan func(pgx.Rows) error, args ...any) error {
	c.queries++
	rows, err := c.conn.Query(ctx, sql, args...)
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
	cfg, err := config(src, database)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	c := &dictCollector{conn: conn}
	c.queries++
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
		return nil, classify(err)
	}
	d := &dictmodel.Dictionary{
		Version: dictmodel.Version, Engine: "postgres", Database: database,
		CollectedAt: time.Now().UTC(), ExactRowsBelow: opts.ExactRowsBelow,
		Schemas: []dictmodel.Schema{}, Tables: []dictmodel.Table{},
	}
	if err := c.query(ctx, "the server version", "SELECT current_setting('server_version')", func(r pgx.Rows) error {
		return r.Scan(&d.ServerVersion)
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the schemas", `SELECT n.nspname, coalesce(obj_description(n.oid, 'pg_namespace'), '')
		FROM pg_namespace n WHERE `+userSchemas+` AND `+notExtension("n.oid", "pg_namespace")+`
		ORDER BY n.nspname`, func(r pgx.Rows) error {
		var s dictmodel.Schema
		err := r.Scan(&s.Name, &s.Comment)
		d.Schemas = append(d.Schemas, s)
		return err
	}); err != nil {
		return nil, err
	}

	// Relations, by oid.
	byOID := map[uint32]int{}
	var estimates []float64
	empty := map[int]bool{}
	if err := c.query(ctx, "the tables and views", `SELECT c.oid, n.nspname, c.relname, c.relkind::text,
			coalesce(obj_description(c.oid, 'pg_class'), ''),
			c.reltuples::float8,
			CASE WHEN c.relkind IN ('r', 'm', 'p') THEN pg_table_size(c.oid) END,
			CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) END,
			CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END,
			CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
			CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
			(SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND `+userSchemas+` AND `+notExtension("c.oid", "pg_class")+`
		ORDER BY n.nspname, c.relname`, func(r pgx.Rows) error {
		var (
			t                dictmodel.Table
			oid              uint32
			kind             string
			reltuples        float64
			data, main       *int64
			def, pkey, bound *string
			parent           *uint32
		)
		if err := r.Scan(&oid, &t.Schema, &t.Name, &kind, &t.Comment, &reltuples, &data, &main, &def, &pkey, &bound, &parent); err != nil {
			return err
		}
		t.Kind = relKind(kind)
		t.DataBytes = data
		if data != nil {
			t.IndexBytes = new(int64) // the indexes' sizes are added below
		}
		if main != nil && *main == 0 {
			// No block in the main fork: empty, whatever reltuples says
			// (-1 on a table never analysed), and exactly so.
			reltuples = 0
			empty[len(d.Tables)] = true
		}
		t.Definition, t.PartitionKey, t.PartitionBound = deref(def), deref(pkey), deref(bound)
		if parent != nil {
			// Resolved below, once every relation is known.
			t.PartitionOf = &dictmodel.Ref{Name: fmt.Sprint(*parent)}
		}
		t.Columns = []dictmodel.Column{}
		byOID[oid] = len(d.Tables)
		d.Tables = append(d.Tables, t)
		estimates = append(estimates, reltuples)
		return nil
	}); err != nil {
		return nil, err
	}
	refOf := func(oid uint32) (dictmodel.Ref, bool) {
		i, ok := byOID[oid]
		if !ok {
			return dictmodel.Ref{}, false
		}
		return d.Tables[i].Ref(), true
	}
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.PartitionOf == nil {
			continue
		}
		var oid uint32
		fmt.Sscan(t.PartitionOf.Name, &oid)
		if p, ok := refOf(oid); ok {
			t.PartitionOf = &p
			d.Tables[byOID[oid]].Partitions = append(d.Tables[byOID[oid]].Partitions, t.Ref())
		} else {
			t.PartitionOf = nil
		}
	}

	// Columns of every relation and composite type, in one statement.
	typeAttrs := map[uint32][]dictmodel.Column{}
	if err := c.query(ctx, "the columns", `SELECT a.attrelid, c.relkind::text, a.attnum, a.attname,
			format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
			coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
			coalesce(col_description(a.attrelid, a.attnum), ''),
			a.attgenerated::text, a.attidentity::text,
			CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname ELSE '' END
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'c') AND `+userSchemas+`
		ORDER BY a.attrelid, a.attnum`, func(r pgx.Rows) error {
		var (
			oid              uint32
			relkind          string
			col              dictmodel.Column
			expr, gen, ident string
		)
		if err := r.Scan(&oid, &relkind, &col.Position, &col.Name, &col.Type, &col.Nullable, &expr, &col.Comment, &gen, &ident, &col.Collation); err != nil {
			return err
		}
		switch gen {
		case "s":
			col.Generated, col.GeneratedKind = expr, "stored"
		case "v":
			col.Generated, col.GeneratedKind = expr, "virtual"
		default:
			col.Default = expr
		}
		switch ident {
		case "a":
			col.Identity = "always"
		case "d":
			col.Identity = "by default"
		}
		if relkind == "c" {
			typeAttrs[oid] = append(typeAttrs[oid], col)
		} else if i, ok := byOID[oid]; ok {
			d.Tables[i].Columns = append(d.Tables[i].Columns, col)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// Constraints: primary, unique, foreign, check.
	if err := c.query(ctx, "the constraints", `SELECT co.conrelid, co.contype::text, co.conname,
			ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.o),
			co.confrelid,
			ARRAY(SELECT a.attname::text FROM unnest(co.confkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.o),
			co.confupdtype::text, co.confdeltype::text,
			CASE WHEN co.contype = 'c' THEN pg_get_constraintdef(co.oid, true) ELSE '' END
		FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE co.contype IN ('p', 'u', 'f', 'c') AND `+userSchemas+` AND NOT (co.contype = 'f' AND co.conparentid <> 0)
		ORDER BY co.conrelid, co.conname`, func(r pgx.Rows) error {
		var (
			oid, refOID              uint32
			typ, name, upd, del, def string
			cols, refCols            []string
		)
		if err := r.Scan(&oid, &typ, &name, &cols, &refOID, &refCols, &upd, &del, &def); err != nil {
			return err
		}
		i, ok := byOID[oid]
		if !ok {
			return nil
		}
		t := &d.Tables[i]
		switch typ {
		case "p":
			t.PrimaryKey = &dictmodel.Constraint{Name: name, Columns: cols}
		case "u":
			t.Uniques = append(t.Uniques, dictmodel.Constraint{Name: name, Columns: cols})
		case "c":
			t.Checks = append(t.Checks, dictmodel.Check{Name: name, Expression: def})
		case "f":
			ref, ok := refOf(refOID)
			if !ok {
				return nil
			}
			fk := dictmodel.ForeignKey{Name: name, Schema: t.Schema, Table: t.Name, Columns: cols,
				RefSchema: ref.Schema, RefTable: ref.Name, RefColumns: refCols,
				OnUpdate: fkAction(upd), OnDelete: fkAction(del)}
			t.ForeignKeys = append(t.ForeignKeys, fk)
			rt := &d.Tables[byOID[refOID]]
			rt.ReferencedBy = append(rt.ReferencedBy, fk)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the indexes", `SELECT i.indrelid, ic.relname, am.amname, i.indisunique, i.indisprimary,
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), ''),
			ARRAY(SELECT CASE WHEN k.n = 0 THEN pg_get_indexdef(i.indexrelid, k.o::int, true) ELSE quote_ident(a.attname) END
				FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
				LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
				WHERE k.o <= i.indnkeyatts ORDER BY k.o),
			pg_relation_size(i.indexrelid)
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_am am ON am.oid = ic.relam
		WHERE `+userSchemas+`
		ORDER BY i.indrelid, ic.relname`, func(r pgx.Rows) error {
		var (
			oid   uint32
			ix    dictmodel.Index
			bytes int64
		)
		if err := r.Scan(&oid, &ix.Name, &ix.Method, &ix.Unique, &ix.Primary, &ix.Predicate, &ix.Columns, &bytes); err != nil {
			return err
		}
		ix.Bytes = &bytes
		if i, ok := byOID[oid]; ok {
			t := &d.Tables[i]
			t.Indexes = append(t.Indexes, ix)
			if t.IndexBytes != nil {
				*t.IndexBytes += bytes
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the triggers", `SELECT tg.tgrelid, tg.tgname, pg_get_triggerdef(tg.oid, true),
			CASE WHEN tg.tgtype & 2 <> 0 THEN 'BEFORE' WHEN tg.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END,
			concat_ws(' OR ', CASE WHEN tg.tgtype & 4 <> 0 THEN 'INSERT' END, CASE WHEN tg.tgtype & 8 <> 0 THEN 'DELETE' END,
				CASE WHEN tg.tgtype & 16 <> 0 THEN 'UPDATE' END, CASE WHEN tg.tgtype & 32 <> 0 THEN 'TRUNCATE' END)
		FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT tg.tgisinternal AND `+userSchemas+`
		ORDER BY tg.tgrelid, tg.tgname`, func(r pgx.Rows) error {
		var (
			oid uint32
			tr  dictmodel.Trigger
		)
		if err := r.Scan(&oid, &tr.Name, &tr.Definition, &tr.Timing, &tr.Events); err != nil {
			return err
		}
		if i, ok := byOID[oid]; ok {
			d.Tables[i].Triggers = append(d.Tables[i].Triggers, tr)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "what the views read", `SELECT DISTINCT r.ev_class, dep.refobjid
		FROM pg_rewrite r JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid
			AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> r.ev_class
		JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('v', 'm') AND `+userSchemas+`
		ORDER BY 1, 2`, func(r pgx.Rows) error {
		var view, read uint32
		if err := r.Scan(&view, &read); err != nil {
			return err
		}
		i, ok := byOID[view]
		ref, ok2 := refOf(read)
		if ok && ok2 {
			d.Tables[i].Reads = append(d.Tables[i].Reads, ref)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the routines", `SELECT n.nspname, p.proname,
			CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' ELSE 'function' END,
			pg_get_function_arguments(p.oid), coalesce(pg_get_function_result(p.oid), ''), l.lanname,
			coalesce(obj_description(p.oid, 'pg_proc'), '')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
		WHERE `+userSchemas+` AND `+notExtension("p.oid", "pg_proc")+`
		ORDER BY n.nspname, p.proname, 4`, func(r pgx.Rows) error {
		var rt dictmodel.Routine
		err := r.Scan(&rt.Schema, &rt.Name, &rt.Kind, &rt.Arguments, &rt.Returns, &rt.Language, &rt.Comment)
		d.Routines = append(d.Routines, rt)
		return err
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the sequences", `SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL),
			s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
			coalesce((SELECT tn.nspname || '.' || tc.relname || '.' || a.attname FROM pg_depend dep
				JOIN pg_class tc ON tc.oid = dep.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
				JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
				WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.refclassid = 'pg_class'::regclass
					AND dep.deptype IN ('a', 'i') LIMIT 1), ''),
			coalesce(obj_description(c.oid, 'pg_class'), '')
		FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE `+userSchemas+` AND `+notExtension("c.oid", "pg_class")+`
		ORDER BY n.nspname, c.relname`, func(r pgx.Rows) error {
		var (
			s                    dictmodel.Sequence
			start, inc, min, max int64
		)
		err := r.Scan(&s.Schema, &s.Name, &s.Type, &start, &inc, &min, &max, &s.Cycle, &s.OwnedBy, &s.Comment)
		s.Start, s.Increment, s.Min, s.Max = &start, &inc, &min, &max
		d.Sequences = append(d.Sequences, s)
		return err
	}); err != nil {
		return nil, err
	}

	if err := c.query(ctx, "the types", `SELECT t.oid, t.typrelid, n.nspname, t.typname, t.typtype::text,
			ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
			CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END,
			ARRAY(SELECT pg_get_constraintdef(co.oid, true) FROM pg_constraint co WHERE co.contypid = t.oid ORDER BY co.conname),
			coalesce(obj_description(t.oid, 'pg_type'), '')
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		LEFT JOIN pg_class c ON c.oid = t.typrelid
		WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND c.relkind = 'c')) AND `+userSchemas+`
			AND `+notExtension("t.oid", "pg_type")+`
		ORDER BY n.nspname, t.typname`, func(r pgx.Rows) error {
		var (
			oid, relid uint32
			ty         dictmodel.Type
			kind       string
		)
		if err := r.Scan(&oid, &relid, &ty.Schema, &ty.Name, &kind, &ty.Labels, &ty.BaseType, &ty.Constraints, &ty.Comment); err != nil {
			return err
		}
		switch kind {
		case "e":
			ty.Kind = dictmodel.TypeEnum
		case "d":
			ty.Kind = dictmodel.TypeDomain
		case "c":
			ty.Kind = dictmodel.TypeComposite
			ty.Attributes = typeAttrs[relid]
		}
		if len(ty.Labels) == 0 {
			ty.Labels = nil
		}
		if len(ty.Constraints) == 0 {
			ty.Constraints = nil
		}
		d.Types = append(d.Types, ty)
		return nil
	}); err != nil {
		return nil, err
	}

	if err := c.countRows(ctx, d, estimates, empty, opts.ExactRowsBelow); err != nil {
		return nil, err
	}
	d.Queries = c.queries
	return d, nil
}

// countRows fills Rows: 0 for an empty table (empty: no block in its main
// fork), exact for the other tables (not partitioned parents, views or
// foreign tables) estimated below the threshold, countBatch to a
// statement; the estimate, marked, for the others.
func (c *dictCollector) countRows(ctx context.Context, d *dictmodel.Dictionary, estimates []float64, empty map[int]bool, below int64) error {
	var exact []int
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.Kind != dictmodel.KindTable && t.Kind != dictmodel.KindMaterializedView {
			continue
		}
		if empty[i] {
			t.Rows = new(int64)
			continue
		}
		// reltuples is -1 for a table never vacuumed or analysed (PostgreSQL
		// 14 and later): unknown, so counted when exact counts are wanted.
		if est := estimates[i]; below > 0 && est < float64(below) {
			exact = append(exact, i)
			continue
		}
		n := int64(max(estimates[i], 0))
		t.Rows, t.RowsEstimated = &n, true
	}
	for start := 0; start < len(exact); start += countBatch {
		batch := exact[start:min(start+countBatch, len(exact))]
		parts := make([]string, len(batch))
		for k, i := range batch {
			t := d.Tables[i]
			parts[k] = fmt.Sprintf("SELECT %d, count(*) FROM ONLY %s", i, pgx.Identifier{t.Schema, t.Name}.Sanitize())
		}
		if err := c.query(ctx, "the row counts", strings.Join(parts, " UNION ALL "), func(r pgx.Rows) error {
			var (
				i int
				n int64
			)
			if err := r.Scan(&i, &n); err != nil {
				return err
			}
			d.Tables[i].Rows = &n
			return nil
		}); err != nil {
			return err
		}
	}
	// A partitioned table holds no rows itself: its partitions' sum.
	at := map[dictmodel.Ref]int{}
	for i := range d.Tables {
		at[d.Tables[i].Ref()] = i
	}
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.Kind != dictmodel.KindPartitionedTable {
			continue
		}
		var n, data, idx int64
		est := false
		for _, p := range t.Partitions {
			pt := d.Tables[at[p]]
			if pt.Rows != nil {
				n += *pt.Rows
				est = est || pt.RowsEstimated
			}
			data += value(pt.DataBytes)
			idx += value(pt.IndexBytes)
		}
		t.Rows, t.RowsEstimated, t.DataBytes, t.IndexBytes = &n, est, &data, &idx
		sort.Slice(t.Partitions, func(a, b int) bool { return t.Partitions[a].String() < t.Partitions[b].String() })
	}
	return nil
}

func relKind(k string) string {
	switch k {
	case "v":
		return dictmodel.KindView
	case "m":
		return dictmodel.KindMaterializedView
	case "p":
		return dictmodel.KindPartitionedTable
	case "f":
		return dictmodel.KindForeignTable
	}
	return dictmodel.KindTable
}

func fkAction(a string) string {
	switch a {
	case "r":
		return "RESTRICT"
	case "c":
		return "CASCADE"
	case "n":
		return "SET NULL"
	case "d":
		return "SET DEFAULT"
	}
	return "NO ACTION"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func value(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
