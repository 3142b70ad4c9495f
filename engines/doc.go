// Package engines defines the contract between dbopsd and a database engine.
//
// An engine adapter (engines/postgres, engines/mysql, engines/mssql) turns a
// live database into a set of named parts plus metadata taken from one
// consistent snapshot, and turns those parts back into a database. It knows
// nothing about repositories, chunks, encryption or schedules: backup/ and
// restore/ feed it a PartSink or a PartSource.
//
// # Registry
//
// An adapter is its own package plus one line in engines/all. The package
// registers itself from an init function in its engine.go (Register):
// its name and aliases, its constructor, its DSN parsing (the server
// identity max_per_server and the scratch ledger use, the database, a
// password written into the DSN) and the daemon setting its client tools
// come from. Everything outside the adapter asks the registry: config
// validates engine = and dsn = through it without importing any adapter,
// site builds adapters with New, restore names a target's server with
// ServerOf.
//
// engines/all blank-imports every adapter, and site imports engines/all:
// the CLI, the daemon and drills reach adapters only through site, so that
// is the one place that decides which engines a build has. Tests that load
// a policy without site import engines/all themselves. A registry filled
// by init functions, as database/sql does with drivers, keeps config below
// the adapters in the import graph; a list in site or config would have
// been a second place to edit for every engine, and config importing the
// adapters would drag pgx and the MySQL driver into every package that
// reads a policy.
//
// # Parts
//
// A part is one byte stream with a name that is unique within a backup, for
// example "schema", "data/public.tickets" or "native/full.bak". Table data
// parts carry the table they belong to, so a single-table restore reads only
// the parts of that table (and whatever schema part the engine needs).
//
// # Statistics
//
// Every backup records, per table, a row count and an order-independent
// content checksum computed from the same snapshot as the data. Verification
// computes the same statistics on a restored copy (TableStats) and compares:
// ARCHITECTURE.md, "Verification".
//
// Every adapter runs the shared conformance suite in engines/enginetest
// against a real server.
//
// # Notes
//
// What a restore did not recreate, what else a DBA should read, and why an
// integrity check did not run are Notes (note.go): a key of the adapter's
// message catalog (its messages/, registered with i18n) and parameters
// (object names, numbers, SQL, the server's own words). Adapters record them with RestoreReport.AddSkipped and AddNote
// and IntegrityReport.Skip, which also store the English sentence, so the
// CLI and older readers see the text they always saw while a drill report
// renders the same note in its own language.
package engines
