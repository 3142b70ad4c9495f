package postgres

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// restoreTables restores req.Tables into req.Database, creating it if
// needed: the tables' pre-data from the archive, their rows, then their
// data and post-data entries (indexes, constraints, triggers, comments,
// grants). A failure drops what this restore created (undoTables).
func (r *restorer) restoreTables(ctx context.Context) (err error) {
	started := time.Now()
	admin, err := maintenanceConn(ctx, r.target, r.req.Database)
	if err != nil {
		return err
	}
	defer func() {
		if admin != nil {
			closeConn(admin)
		}
	}()
	if err := r.prepare(ctx, admin); err != nil {
		return err
	}
	defer r.cleanup()

	tables, err := r.tablesAsked()
	if err != nil {
		return err
	}
	exists, err := databaseExists(ctx, admin, r.req.Database)
	if err != nil {
		return err
	}
	created := false
	if !exists {
		note, err := createDatabase(ctx, admin, r.req.Database, r.meta)
		if err != nil {
			return err
		}
		if note != nil {
			r.report.AddNote(*note)
		}
		created = true
	}
	closeConn(admin)
	admin = nil

	conn, err := connect(ctx, r.cfg)
	if err != nil {
		return err
	}
	defer func() { closeConn(conn) }()
	var made []*metaTable // tables this restore created, to drop on failure
	defer func() {
		if err != nil {
			err = r.undoTables(err, created, made)
		}
	}()

	var present []*metaTable
	for _, mt := range tables {
		ok, err := tableExists(ctx, conn, mt.ref())
		if err != nil {
			return err
		}
		if ok {
			present = append(present, mt)
		}
	}
	if len(present) > 0 && !r.req.Replace {
		return fmt.Errorf("table %s %w in database %s", present[0].ref(), engines.ErrExists, r.req.Database)
	}
	if err := r.fetchSchema(ctx); err != nil {
		return err
	}
	for _, mt := range present {
		r.log.Info("dropping the existing table", "table", mt.ref().String())
		// IF EXISTS: dropping a partitioned table drops its partitions.
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+quoteTable(mt.ref())); err != nil {
			return fmt.Errorf("dropping the existing table %s: %w", mt.ref(), classify(err))
		}
	}

	sel, err := r.selectEntries(ctx, conn, tables)
	if err != nil {
		return err
	}
	if err := r.createSupport(ctx, conn, sel, tables); err != nil {
		return err
	}
	list, _, err := writeList(r.dir, "tables.list", r.toc, func(e *tocEntry) bool { return sel.main[e.ID] })
	if err != nil {
		return err
	}
	made = tables
	if err := r.pgRestoreSections(ctx, list, 1, "pre-data"); err != nil {
		return err
	}
	refs := make([]engines.TableRef, len(tables))
	for i, mt := range tables {
		refs[i] = mt.ref()
	}
	if err := r.loadTables(ctx, refs); err != nil {
		return err
	}
	if err := r.skipDanglingForeignKeys(ctx, conn, sel); err != nil {
		return err
	}
	if list, _, err = writeList(r.dir, "tables-post.list", r.toc, func(e *tocEntry) bool { return sel.main[e.ID] }); err != nil {
		return err
	}
	if err := r.pgRestoreSections(ctx, list, 1, "data", "post-data"); err != nil {
		return err
	}
	r.log.Info("tables restored", "tables", len(tables), "duration", time.Since(started).Round(time.Millisecond))
	return nil
}

// tablesAsked are the tables of req.Tables in the backup; a partitioned
// table brings its partitions.
func (r *restorer) tablesAsked() ([]*metaTable, error) {
	var tables []*metaTable
	add := func(mt *metaTable) {
		if !slices.Contains(tables, mt) {
			tables = append(tables, mt)
		}
	}
	for _, t := range r.req.Tables {
		if mt := r.meta.table(t); mt != nil {
			add(mt)
			continue
		}
		pt := r.meta.parent(t)
		if pt == nil {
			return nil, fault.Permanent(fmt.Errorf("table %s is not in the backup", table(t)))
		}
		add(pt)
		for _, oid := range pt.Partitions {
			if mt := r.meta.byOID(oid); mt != nil {
				add(mt)
			}
		}
	}
	return tables, nil
}

// undoTables drops, after a failed table restore (err), the database it
// created or else the tables it made, and returns err with anything that
// could not be dropped.
func (r *restorer) undoTables(err error, created bool, made []*metaTable) error {
	dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if created {
		if dropErr := dropDatabaseVia(dctx, r.target, r.req.Database); dropErr != nil {
			err = fmt.Errorf("%w (and dropping the database this restore created: %v)", err, dropErr)
		}
		return err
	}
	if len(made) == 0 {
		return err
	}
	// A fresh session: the job's may have died with the error.
	dconn, dropErr := connect(dctx, r.cfg)
	if dropErr != nil {
		return fmt.Errorf("%w (and dropping the half-restored tables: %v)", err, dropErr)
	}
	defer closeConn(dconn)
	for _, mt := range made {
		if _, dropErr := dconn.Exec(dctx, "DROP TABLE IF EXISTS "+quoteTable(mt.ref())); dropErr != nil {
			err = fmt.Errorf("%w (and dropping the half-restored table %s: %v)", err, mt.ref(), dropErr)
		}
	}
	return err
}

// selectEntries picks the archive entries of tables, leaving out ownership
// and policies that name roles missing on the target.
func (r *restorer) selectEntries(ctx context.Context, conn *pgx.Conn, tables []*metaTable) (tableSelection, error) {
	var roles []string
	var policies []metaPolicy
	for _, mt := range tables {
		roles = append(roles, mt.Roles...)
		policies = append(policies, r.meta.policiesOf(mt.OID)...)
	}
	slices.Sort(roles)
	missing, err := missingRoles(ctx, conn, slices.Compact(roles))
	if err != nil {
		return tableSelection{}, err
	}
	skip := r.planOwnership(missing, policies)
	sel := selectTables(r.toc, tables, r.meta, skip)
	for _, mt := range sel.detached {
		r.report.AddNote(engines.Note{Key: NotePartitionStandalone, Params: engines.Params{"table": mt.ref().String()}})
	}
	return sel, nil
}

// createSupport creates what the tables need and the database may lack:
// functions of triggers and defaults, types of columns, schemas.
func (r *restorer) createSupport(ctx context.Context, conn *pgx.Conn, sel tableSelection, tables []*metaTable) error {
	for _, e := range sel.support {
		if err := r.restoreIfMissing(ctx, e); err != nil {
			return err
		}
	}
	// The archive has no entry for a schema pg_dump deems built in (public).
	schemas := map[string]bool{}
	for _, mt := range tables {
		if !schemas[mt.Schema] {
			schemas[mt.Schema] = true
			if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(mt.Schema)); err != nil {
				return fmt.Errorf("creating schema %s: %w", mt.Schema, classify(err))
			}
		}
	}
	return nil
}

// skipDanglingForeignKeys takes out of sel the foreign keys to tables that
// are neither restored now nor present in the database, which cannot be
// created, and reports each.
func (r *restorer) skipDanglingForeignKeys(ctx context.Context, conn *pgx.Conn, sel tableSelection) error {
	for _, fk := range sel.foreignKeys {
		ok, err := tableExists(ctx, conn, *fk.con.Ref)
		if err != nil {
			return err
		}
		if !ok {
			delete(sel.main, fk.entry.ID)
			for _, e := range r.toc { // and its comment
				if len(e.Deps) == 1 && e.Deps[0] == fk.entry.ID {
					delete(sel.main, e.ID)
				}
			}
			r.report.AddSkipped(engines.Note{Key: NoteForeignKeyNotCreated, Params: engines.Params{
				"constraint": fk.con.Name, "table": fk.table.ref().String(), "references": table(*fk.con.Ref).String(), "database": r.req.Database}})
		}
	}
	return nil
}

type fkEntry struct {
	entry *tocEntry
	table *metaTable
	con   metaConstraint
}

type tableSelection struct {
	main        map[int]bool // entries restored with pg_restore -L
	support     []*tocEntry  // entries created only where missing, in archive order
	foreignKeys []fkEntry    // foreign keys to other tables, among main
	detached    []*metaTable // partitions restored without their parent
}

// supportDescs are the kinds of objects a table may need that are not
// its own: restored only if the database lacks them.
var supportDescs = map[string]bool{
	"SCHEMA": true, "EXTENSION": true, "TYPE": true, "SHELL TYPE": true, "DOMAIN": true,
	"FUNCTION": true, "PROCEDURE": true, "AGGREGATE": true, "COLLATION": true, "SEQUENCE": true,
	"OPERATOR": true, "OPERATOR CLASS": true, "OPERATOR FAMILY": true, "CONVERSION": true,
	"TEXT SEARCH CONFIGURATION": true, "TEXT SEARCH DICTIONARY": true, "TEXT SEARCH PARSER": true,
	"TEXT SEARCH TEMPLATE": true, "PROCEDURAL LANGUAGE": true, "ACCESS METHOD": true,
}

// dependentDescs are entries without a catalog OID that belong to the
// objects they depend on.
var dependentDescs = map[string]bool{
	"COMMENT": true, "ACL": true, "SECURITY LABEL": true, "SEQUENCE OWNED BY": true, "SEQUENCE SET": true,
	"TABLE ATTACH": true, "INDEX ATTACH": true,
}

func selectTables(toc []*tocEntry, tables []*metaTable, m *meta, skip map[int]bool) tableSelection {
	type key struct{ cat, oid uint32 }
	owned := map[key]bool{}
	fkByOID := map[uint32]fkEntry{}
	for _, mt := range tables {
		owned[key{pgClassOID, mt.OID}] = true
		owned[key{0, mt.OID}] = true // ROW SECURITY
		for _, o := range mt.Sequences {
			owned[key{pgClassOID, o.OID}] = true
		}
		for _, o := range mt.Indexes {
			owned[key{pgClassOID, o.OID}] = true
		}
		for _, oid := range mt.Defaults {
			owned[key{pgAttrdefOID, oid}] = true
		}
		for _, c := range mt.Constraints {
			owned[key{pgConstraintOID, c.OID}] = true
			if c.Type == "f" && c.Ref != nil {
				fkByOID[c.OID] = fkEntry{table: mt, con: c}
			}
		}
		for _, o := range mt.Triggers {
			owned[key{pgTriggerOID, o.OID}] = true
		}
		for _, o := range mt.Rules {
			owned[key{pgRewriteOID, o.OID}] = true
		}
		for _, p := range m.policiesOf(mt.OID) {
			owned[key{pgPolicyOID, p.OID}] = true
		}
	}
	sel := tableSelection{main: map[int]bool{}}
	byID := map[int]*tocEntry{}
	for _, e := range toc {
		byID[e.ID] = e
		if skip[e.ID] || e.Desc == "TABLE DATA" || !owned[key{e.TableOID, e.OID}] {
			continue
		}
		sel.main[e.ID] = true
		if fk, ok := fkByOID[e.OID]; ok && e.TableOID == pgConstraintOID {
			fk.entry = e
			sel.foreignKeys = append(sel.foreignKeys, fk)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range toc {
			if sel.main[e.ID] || skip[e.ID] || e.OID != 0 || !dependentDescs[e.Desc] || len(e.Deps) == 0 {
				continue
			}
			all := true
			for _, d := range e.Deps {
				all = all && sel.main[d]
			}
			if all {
				sel.main[e.ID] = true
				changed = true
			}
		}
	}
	// A partition restored without its partitioned table stands alone.
	for _, e := range toc {
		if e.Desc != "TABLE ATTACH" || sel.main[e.ID] {
			continue
		}
		for _, d := range e.Deps {
			if de := byID[d]; de != nil && sel.main[d] && de.Desc == "TABLE" {
				for _, mt := range tables {
					if mt.OID == de.OID {
						sel.detached = append(sel.detached, mt)
					}
				}
			}
		}
	}
	support := map[int]bool{}
	var visit func(e *tocEntry)
	visit = func(e *tocEntry) {
		for _, d := range e.Deps {
			de := byID[d]
			if de == nil || sel.main[d] || support[d] || !supportDescs[de.Desc] {
				continue
			}
			support[d] = true
			visit(de)
		}
	}
	for _, e := range toc {
		if sel.main[e.ID] {
			visit(e)
		}
	}
	for _, e := range toc {
		if support[e.ID] {
			sel.support = append(sel.support, e)
		}
	}
	return sel
}

// restoreIfMissing creates one archive entry unless its object exists:
// pg_restore writes it as SQL, run in one implicit transaction, and an
// "already exists" error leaves the existing object alone.
func (r *restorer) restoreIfMissing(ctx context.Context, e *tocEntry) error {
	list, _, err := writeList(r.dir, fmt.Sprintf("entry-%d.list", e.ID), r.toc, func(x *tocEntry) bool { return x == e })
	if err != nil {
		return err
	}
	var script bytes.Buffer
	args := append([]string{"--file=-", "--use-list=" + list}, r.ownerArgs()...)
	args = append(args, r.archive)
	if _, err := run(ctx, r.pgRestore, args, r.cc, &script); err != nil {
		return fmt.Errorf("extracting %s %s from the schema archive: %w", e.Desc, e.Rest, err)
	}
	conn, err := connect(ctx, r.cfg)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	sql := psqlMeta.ReplaceAllString(script.String(), "")
	if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
		for _, code := range []string{"42710", "42723", "42P06", "42P07"} { // duplicate object, function, schema, relation
			if isCode(err, code) {
				r.log.Debug("needed object exists", "object", e.Desc+" "+e.Rest)
				return nil
			}
		}
		return fmt.Errorf("creating %s %s: %w", e.Desc, e.Rest, classify(err))
	}
	r.log.Debug("needed object created", "object", e.Desc+" "+e.Rest)
	return nil
}

// psqlMeta matches the psql meta-commands pg_restore writes into scripts
// (\restrict and \unrestrict, since the 2025 minor releases); the server
// does not understand them.
var psqlMeta = regexp.MustCompile(`(?m)^\\(un)?restrict [A-Za-z0-9]+\s*$`)

func tableExists(ctx context.Context, conn *pgx.Conn, t engines.TableRef) (bool, error) {
	t = table(t)
	var ok bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'f', 'v', 'm'))`, t.Schema, t.Name).Scan(&ok)
	if err != nil {
		return false, classify(fmt.Errorf("looking for table %s: %w", t, err))
	}
	return ok, nil
}
