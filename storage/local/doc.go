// Package local stores repository objects in a directory: the embedded
// default backend. A key maps to the file at the same '/'-separated path under
// the directory.
//
// # Atomicity
//
// Put writes to a temporary file under .tmp/ in the directory, syncs it,
// renames it into place and syncs the parent directory, so a reader (or a
// crash) sees the whole old object or the whole new one, never a part.
// Leftovers in .tmp/ after a crash are never listed.
//
// # Limits
//
// Because keys are paths, one key cannot also be a "directory" of others
// ("a" and "a/b"), and the first segment ".tmp" is reserved.
//
// # No object lock
//
// A directory has no retention: PutOptions.RetainUntil is ignored, and
// Delete never fails with storage.ErrRetained. Whoever can write the
// directory can delete the backups in it; backups that must outlive a
// compromised host belong in a bucket with object lock (storage/s3).
package local
