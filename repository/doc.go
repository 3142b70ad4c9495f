// Package repository owns the on-storage format of dbopsd backups: keys,
// chunks, manifests and where each lives. It implements the format of
// ARCHITECTURE.md ("Repository format") on top of any storage.Storage.
//
// # Layout
//
//	config                                     repository id and format version (plain JSON)
//	keys/<key-id>                              the data keys, wrapped by a passphrase-derived key
//	data/<database>/<generation>/<xx>/<chunk>  one chunk: zstd, then AES-256-GCM
//	manifests/<database>/<generation>/<backup> one backup's manifest (encrypted), written last
//	locks/<database>                           the lock of a running backup (plain JSON; lock.go)
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
// # Atomicity
//
// A backup exists when, and only when, its manifest exists. Manifests are
// written after every chunk they name, and are never rewritten: the
// repository is append-only until prune deletes whole generations.
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
