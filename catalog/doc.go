// Package catalog is dbopsd's local index and log, an SQLite file in the
// state directory: every backup known to be in the repository, and every
// backup, restore and verify attempt with its trigger, times, bytes and
// outcome (the backup log, 备份日志, and the start of the restore register).
//
// The repository is the source of truth (ARCHITECTURE.md, "Repository format"): the backups
// table can always be rebuilt from the manifests in storage with Rebuild.
// Nothing secret is ever written here.
//
// It also holds the scratch ledger (scratch.go): every scratch database
// dbopsd creates on a restore target, recorded before it is created, so that
// dbopsd never drops one it did not create. The ledger records what happened
// on the servers and, unlike the backups table, cannot be rebuilt.
//
// A catalog made by an older dbopsd is brought up to date when it is opened
// (migrate.go): the steps only add tables and columns with defaults, so old
// rows read as they were (a job from before attempts were recorded is
// attempt 1).
package catalog
