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
// ("a" and "a/b"), and the first segment ".tmp" is reserved. There is no
// object lock: PutOptions.RetainUntil is ignored.
package local
