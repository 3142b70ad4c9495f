// Package mssql is the SQL Server adapter. In this build it is a
// registration only: a policy may name engine = "mssql" (or "sqlserver"),
// its DSNs validate and its databases count towards max_per_server, but
// New answers that this build cannot back up or restore SQL Server yet.
// The adapter itself is added as the README's "Adding an engine" says.
package mssql
