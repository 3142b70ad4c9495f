// Package repository owns the on-storage format of dbopsd backups: keys,
// chunks, manifests and where each lives. It implements the format of
// ARCHITECTURE.md ("Repository format") on top of any storage.Storage.
//
// # Layout
//
//	config                                     repository id and format version (plain JSON, with a MAC)
//	keys/<key-id>                              the data keys, wrapped by a passphrase-derived key
//	data/<database>/<generation>/<xx>/<chunk>  one chunk: zstd, then AES-256-GCM
//	manifests/<database>/<generation>/<backup> one backup's manifest (encrypted), written last
//	heads/<database>                           the newest backup of the database (sealed; chain.go)
//	pruned/<database>/<generation>             a generation prune deleted (sealed; chain.go)
//	locks/<database>                           the lock of a running backup (plain JSON; lock.go)
//
// # Keys and config
//
// A key file is read before anything can be authenticated, so what it asks
// for is bounded: scrypt parameters outside a sane range (kdfMax* in
// repo.go) are refused as a damaged key, naming the file, before any key is
// derived. A checksum in the key file tells damage from a wrong passphrase;
// Open returns distinct errors for an empty passphrase, a passphrase no key
// opens, and damaged or missing key files. The config object carries an
// HMAC under the master MAC key and must be byte for byte as dbopsd writes
// it. Both fields are optional: key files and configs written before them
// are accepted, and the next backup adds the config's MAC.
//
// # Chunks
//
// A part (an engine's byte stream) is cut into content-defined chunks as it
// is written (cdc.go: FastCDC's gear hash with normalized chunking, the gear
// table derived from a repository key; 2 MiB average, 512 KiB to 4 MiB). A
// manifest names its chunking, and a differential only builds on a full cut
// the same way (backups written before fastcdc-gear-v1 used Rabin
// fingerprints; they stay readable, since reading needs no chunker). A chunk's
// id is the keyed BLAKE3 hash of its plaintext under a repository key
// (HMAC-SHA256 in format 1 repositories, which keep it), so the storage
// operator cannot confirm guesses about the content. Each chunk is compressed
// with zstd, then sealed with AES-256-GCM under the repository's data key with
// the chunk id as additional data, so a chunk cannot be swapped for another.
//
// # Generations
//
// A full backup starts a generation, named after the full's backup id. A
// differential writes only the chunks its generation does not hold yet; its
// manifest lists every chunk of every part, so restoring it needs nothing but
// that manifest. Chunks are never shared across generations, so deleting a
// generation deletes exactly its prefix.
//
// # Row-level differentials
//
// A differential may store a table part of rows as the rows changed since
// the full instead of the chunks they fall in (rows.go; ARCHITECTURE.md,
// "Row-level differentials"): format 3.
//
// # Atomicity
//
// A backup exists when, and only when, its manifest exists. Manifests are
// written after every chunk they name, and are never rewritten: the
// repository is append-only until prune deletes whole generations.
//
// # Missing manifests
//
// Since a backup exists exactly when its manifest does, deleting a manifest
// would otherwise delete a backup without a trace. Three things make it
// visible (chain.go):
//
//   - each manifest names its predecessor of the same database (id,
//     generation and the SHA-256 of the sealed object), so a deleted
//     manifest leaves a gap that a later one shows, from storage alone and
//     after a catalog rebuild too;
//   - heads/<database>, sealed, is rewritten after each manifest to name the
//     newest, so deleting the newest (which nothing else names) is seen too;
//     a head that is behind (a crash between the two writes) is no gap,
//     since the newer manifests chain back to it, and a deleted head is
//     itself reported once the database's manifests keep the chain;
//   - prune writes pruned/<database>/<generation> before it deletes a
//     generation, so what prune deleted is not reported.
//
// Check reports a missing manifest as a problem of that backup; FindBackup
// warns when "the newest" it takes is older than the head's. The catalog
// adds its memory of what it listed (catalog/missing.go), which also covers
// manifests written before the chain (they have no predecessor field and are
// accepted). What this cannot see: two consecutive manifests deleted show as
// one gap (the earlier is named only by the later); a head replaced by an
// older copy of itself together with the newest manifest deleted is seen
// only by a catalog that had listed it. The mirror copies heads and prune
// records after the manifests (CopyAnchors).
//
// # Locks, retention and prune
//
// A running backup holds locks/<database> (lock.go): a second backup of the
// same database is refused, and prune spares the generation it writes into.
// Retention (retention.go) decides which generations of a database to keep;
// prune (prune.go) deletes the others, manifests first, then their data, and
// removes chunks no manifest names once they are older than a grace period.
// Under object lock nothing is deleted before its retain-until date, which
// every manifest records.
package repository
