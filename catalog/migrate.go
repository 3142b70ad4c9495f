package catalog

import (
	"database/sql"
	"fmt"
)

// Schema migrations. A catalog file outlives the binary that made it (it is
// the job log), so every Open brings it up to this binary's schema with the
// steps below, in order. PRAGMA user_version counts the steps a catalog has
// had; a new file starts at 0 and gets them all.
//
// Every step is idempotent (CREATE ... IF NOT EXISTS, a column added unless
// it exists): catalogs made before user_version was kept have some of them
// already, and two processes opening an old catalog at once (the daemon and
// a CLI command) may both run a step. Steps only add (tables, columns with
// defaults), so a catalog migrated by a newer dbopsd still works with an
// older one, which leaves its user_version alone.
//
// To change the schema, append a step; never edit or reorder those already
// released.
var migrations = []struct {
	what  string
	apply func(*sql.DB) error
}{
	{"the backups and jobs tables", func(db *sql.DB) error { _, err := db.Exec(schema); return err }},
	{"the scratch ledger", migrateScratch},
	{"jobs.pid and jobs.host", migrateJobOwner},
	{"jobs.attempt", func(db *sql.DB) error {
		return addColumn(db, "jobs", "attempt INTEGER NOT NULL DEFAULT 1")
	}},
	{"the backups' predecessors and the missing backups (missing.go)", migrateChain},
	{"the documents (documents.go)", migrateDocuments},
	{"the reconciliations (reconcile.go)", migrateReconciliations},
}

// migrate applies the steps db has not had yet.
func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading the catalog's schema version: %w", err)
	}
	for i := v; i < len(migrations); i++ {
		m := migrations[i]
		if err := m.apply(db); err != nil {
			return fmt.Errorf("migrating the catalog to schema version %d (%s): %w", i+1, m.what, err)
		}
		// PRAGMA takes no placeholders; i+1 is a number of ours.
		if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			return fmt.Errorf("recording the catalog's schema version %d: %w", i+1, err)
		}
	}
	return nil
}

// addColumn adds a column (name and definition) to table unless it is there.
func addColumn(db *sql.DB, table, column string) error {
	_, err := db.Exec("ALTER TABLE " + table + " ADD COLUMN " + column)
	if err != nil && !isDuplicateColumn(err) {
		return fmt.Errorf("adding %s.%s: %w", table, column, err)
	}
	return nil
}
