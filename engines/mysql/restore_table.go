package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Which tables a restore takes, and what a restore of some tables into an
// existing database must respect: the tables already there and foreign
// keys to tables that are in neither.

// selectTables decides which tables to restore and finds their parts.
func (r *restoreRun) selectTables() error {
	r.parts = map[string][]engines.PartInfo{}
	for _, p := range r.source.Parts() {
		if p.Kind != engines.KindTable || p.Table == nil {
			continue
		}
		if p.Format != formatTSV {
			return fault.Permanent(fmt.Errorf("part %s has format %q: this version reads %s", p.Name, p.Format, formatTSV))
		}
		r.parts[p.Table.Name] = append(r.parts[p.Table.Name], p)
	}
	for _, ps := range r.parts {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	}
	r.restored = map[string]bool{}
	if len(r.req.Tables) == 0 {
		r.tables = r.doc.Tables
	} else {
		for _, ref := range r.req.Tables {
			if ref.Schema != "" && ref.Schema != r.doc.Database {
				return fault.Permanent(fmt.Errorf("table %s: the backup is of database %s", ref, r.doc.Database))
			}
			t := r.doc.table(ref.Name)
			if t == nil {
				return fault.Permanent(fmt.Errorf("table %s is not in the backup", ref.Name))
			}
			if !r.restored[t.Name] {
				r.tables = append(r.tables, t)
			}
			r.restored[t.Name] = true
		}
	}
	for _, t := range r.tables {
		r.restored[t.Name] = true
		if t.hasData() && len(r.parts[t.Name]) == 0 {
			return fault.Permanent(fmt.Errorf("the backup holds no data part for table %s", t.Name))
		}
	}
	return nil
}

// existingTables lists the tables of the existing database a table restore
// goes into; a restored table among them needs Replace.
func (r *restoreRun) existingTables(ctx context.Context, admin *sql.Conn) (map[string]bool, error) {
	names, err := queryStrings(ctx, admin, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, r.req.Database)
	if err != nil {
		return nil, fmt.Errorf("listing existing tables: %w", classify(err))
	}
	existing := map[string]bool{}
	for _, n := range names[0] {
		existing[n] = true
	}
	var clash []string
	for _, t := range r.tables {
		if existing[t.Name] {
			clash = append(clash, t.Name)
		}
	}
	if len(clash) > 0 && !r.req.Replace {
		return nil, fmt.Errorf("table %s in database %s: %w", strings.Join(clash, ", "), r.req.Database, engines.ErrExists)
	}
	return existing, nil
}

// dropMissingForeignKeys takes out of a restored table's CREATE TABLE the
// foreign keys to tables that will be neither restored nor already there,
// and reports each as skipped.
func (r *restoreRun) dropMissingForeignKeys(t *table, create string, existing map[string]bool) string {
	create, dropped := dropForeignKeys(create, func(ref string) bool { return r.restored[ref] || existing[ref] })
	for _, d := range dropped {
		r.skip(NoteForeignKeyNotRecreated, engines.Params{"table": t.Name, "definition": d})
	}
	return create
}
