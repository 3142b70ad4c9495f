// Package reconcile compares a table on one server with its counterpart on
// another — interface data landed locally against its source — and reports
// the rows missing on either side and the rows that differ, with the
// columns that differ (ARCHITECTURE.md, "Reconciliation").
//
// # What it owns
//
//   - the capability an engine adapter offers for it (Reconciler, Session:
//     capability.go), discovered by a type assertion on engines.Engine; an
//     engine without it yields ErrNotSupported, never a crash;
//   - the normalisation rules that make equal data compare equal across
//     engines (normalize.go) and the statements built from an adapter's
//     Dialect (sql.go);
//   - the comparison itself (Run: reconcile.go) and its Result.
//
// It sits beside the engines: it imports the engine contract and leaves only,
// so that the adapters can implement its capability. Who runs it (the CLI,
// the daemon) and where its results are kept (the catalog) sit above.
//
// # How it narrows down
//
// Rows are grouped by the leading hex digits of the MD5 of their normalised
// key, which both engines compute alike whatever the key's type (a key of
// one integer column is grouped by its value modulo 256, 65536, ...,
// which costs the servers less). Each side
// returns, per group, a row count and the sum of a 60-bit hash of every
// normalised row, computed on the server: a group that matches costs one
// result row, not its data. Groups that differ are split 256 ways on the
// next two digits (the next byte), until a group holds few enough rows (LeafRows); only
// those rows are fetched, normalised, and compared column by column.
//
// # Gentle and read-only
//
// Each side reads from one consistent snapshot where its engine offers one
// (a REPEATABLE READ, READ ONLY transaction), with a statement timeout, and
// a rate limit (rows read per second) paces the statements. Bytes that
// cross the network are counted on the client side (Counter).
package reconcile
