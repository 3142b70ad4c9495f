// Package history keeps what dbopsd learns about a database over time —
// diagnosis snapshots, data-dictionary runs, volume samples, reports — where
// backups are kept: each document is sealed into the repository
// (repository/documents.go, so `catalog rebuild` brings twelve months of
// history back and a mirror holds it too) and indexed, body included, in the
// catalog (catalog/documents.go) for queries. The packages that produce
// documents own their models; history stores bytes of JSON and knows none of
// them.
package history
