// Package restore turns a backup back into a database: full, single-table
// and redirected restores (restore.go), and verification (verify.go), which
// restores into a scratch database, compares per-table statistics with those
// recorded at backup time, runs the engine's integrity checks and drops the
// scratch copy (DESIGN.md decision 4). Every attempt is recorded in the
// catalog.
package restore
