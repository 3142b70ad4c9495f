// Package prune applies the policy's retention to the repository and to
// each of its mirrors: `dbopsd prune` and the daemon's daily prune both run
// Run. It is a use case beside mirror/, built on what site wires up (the
// storages and the repository on them) and on repository.Prune, which
// decides per storage what may go.
//
// # Mirrors
//
// A mirror is a complete repository (it opens with the same passphrase), so
// it is pruned as one: the policy's retention applied to the mirror's own
// manifests. Deletions on the primary are never copied to a mirror: a
// primary that lost or deleted its backups must not take the off-site copy
// with it, so a mirror only ever loses what its own retention expires.
//
// # What is recorded
//
// Every storage's attempt (not a dry run) is a "prune" job in the catalog
// whose target is the storage's name. Only the primary's prune touches the
// catalog's backups table, which indexes the primary.
package prune
