// Package mirror owns the off-site copies of the repository (远程镜像): it
// copies what a mirror storage lacks from the primary repository, verifies
// every copy, and records what it did in the mirror itself and in the
// catalog. Restore, verify, list, check and catalog rebuild read a mirror
// with --storage NAME when the primary is down; they need nothing from this
// package.
//
// # Order
//
// A mirror must never list a backup whose chunks it lacks, so objects go in
// the order the repository itself is written: the key files, then the
// config (a repository exists once its config does), then the chunks, and
// each manifest last, only once every chunk it names is on the mirror with
// the right size. A run that stops half way leaves a mirror that lists
// fewer backups, never a broken one; the next run carries on.
//
// # What is copied
//
// Every chunk some readable manifest names, and every manifest. Chunks no
// manifest names (a running backup's, or a crashed one's) are not copied:
// the running one's go with its manifest in the next run, and the crashed
// one's would be garbage the mirror could never tell apart. Locks are the
// primary's business and stay there. Key files the primary no longer has
// (after `repo rekey`) are removed from the mirror once the primary's
// current keys are there, so an old passphrase opens neither copy.
// Nothing else is ever deleted from a mirror by a mirror run: a primary that
// lost its backups (or had them deleted) must not take the off-site copy
// with it.
//
// # Pruning
//
// A mirror does not grow forever: `dbopsd prune` and the daemon's daily
// prune (prune.Run) prune each mirror after the primary, by the same
// retention applied to the mirror's own manifests: the mirror is a complete
// repository, opened with the same passphrase. Deletions on the primary
// are never replayed: a backup the primary lost stays on the mirror until
// the mirror's own retention expires it, and the newest generations the
// mirror holds always stay. Verification results apply by backup id.
// Object lock on the mirror is respected: what is retained is kept and
// reported. (A backup the mirror pruned while the primary still holds it,
// when the primary lost newer ones, is copied again by the next run and
// pruned again, until the primary's own retention catches up.)
//
// # Verification and state
//
// Each copy is checked for size; each manifest is re-read from the mirror
// and authenticated through repository.Open on the mirror, which also
// proves the mirror's keys open with the configured passphrase. The outcome
// is written to mirror-state/<repository id> on the mirror (JSON: when,
// what was copied, what is missing and why) and recorded as a "mirror" job
// in the catalog.
//
// # Object lock
//
// With object lock on the mirror, chunks and manifests are written with the
// retain-until dates their backups have on the primary (recorded in the
// manifests), so the off-site copy is as immutable as the primary.
package mirror
