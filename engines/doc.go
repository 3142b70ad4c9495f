// Package engines defines the contract between dbopsd and a database engine.
//
// An engine adapter (engines/postgres, engines/mysql, engines/mssql) turns a
// live database into a set of named parts plus metadata taken from one
// consistent snapshot, and turns those parts back into a database. It knows
// nothing about repositories, chunks, encryption or schedules: backup/ and
// restore/ feed it a PartSink or a PartSource.
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
// DESIGN.md decision 4.
//
// Every adapter runs the shared conformance suite in engines/enginetest
// against a real server.
package engines
