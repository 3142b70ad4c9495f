// Package catalog is dbopsd's local index and log, an SQLite file in the
// state directory: every backup known to be in the repository, and every
// backup, restore and verify attempt with its trigger, times, bytes and
// outcome (the backup log, 备份日志, and the start of the restore register).
//
// The repository is the source of truth (DESIGN.md decision 1): the backups
// table can always be rebuilt from the manifests in storage with Rebuild.
// Nothing secret is ever written here.
package catalog
