// Package restore turns a backup back into a database: full, single-table
// and redirected restores (restore.go), and verification (verify.go), which
// restores into a scratch database, compares per-table statistics with those
// recorded at backup time, runs the engine's integrity checks and drops the
// scratch copy (ARCHITECTURE.md, "Verification"). Every attempt is recorded in the
// catalog.
//
// # Scratch databases
//
// dbopsd drops only scratch databases it created (scratch.go). Every one is
// recorded in the catalog's scratch ledger before it is created
// (ClaimScratch) and marked when it is dropped or kept; an existing database
// of a scratch name is replaced only when the ledger says dbopsd created it.
// CleanupStale, run by the daemon at start, drops what the ledger says a
// crashed job left behind, and nothing else. Drills (package drill) use the
// same ledger.
package restore
