// Package restore turns a backup back into a database: full, single-table
// and redirected restores (restore.go), and verification (verify.go), which
// restores into a scratch database, compares per-table statistics with those
// recorded at backup time, runs the engine's integrity checks and drops the
// scratch copy (ARCHITECTURE.md, "Verification"). Every attempt is recorded
// in the catalog.
//
// # A verification that could not run
//
// Verify asks the scratch target before it claims or restores anything,
// and again when a restore fails. A target that does not answer, a full
// disk or a cancellation is no verdict on the backup: Verify returns a
// *NotRunError, the catalog records the job as not run (catalog.ErrNotRun)
// with its cause, and the backup's verification state stays as it was.
// Only a verification that ran passes or fails a backup.
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
