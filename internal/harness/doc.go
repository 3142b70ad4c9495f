// Package harness starts the real servers that dbopsd's tests talk to —
// PostgreSQL, MariaDB and MinIO — on free loopback ports in temporary
// directories, and stops them afterwards. Tests never mock a server that can
// run here; they get one from this package.
//
// # Use
//
//	func TestMain(m *testing.M) { harness.Main(m) }
//
//	func TestX(t *testing.T) {
//		src := harness.SourcePostgres(t)   // shared by the package, started on first use
//		dst := harness.TargetPostgres(t)   // a second, independent server
//		src.Exec(t, "postgres", "CREATE DATABASE x")
//		conn := src.DSN("x")               // postgres://postgres@127.0.0.1:PORT/x?sslmode=disable
//	}
//
// Shared servers (SourcePostgres, TargetPostgres, SourceMariaDB,
// TargetMariaDB, SharedMinIO) are started once per test binary on first use
// and stopped by Main after the tests. NewPostgres, NewMariaDB and NewMinIO
// start a private server stopped at t.Cleanup, for tests that stop or break
// it (server down, storage unreachable).
//
// When a server cannot start (binary missing, ...) the test fails with what
// is missing and how to install it (`make deps`); it never skips silently.
//
// Every server has Stop(t) and Start(t) (same port, same data) for
// server-down tests, and its temporary directory in Dir, with the server's
// log. PostgreSQL and MariaDB have Exec(t, db, sql) for scripts of several
// statements and QueryString(t, db, sql) for the first value of a query;
// MinIO has Bucket(t), BucketWithLock(t) and Client(t). NewMariaDB takes
// WithoutBinlog(), NewMinIO takes WithTLS().
//
// If the test binary dies (panic, -timeout), the servers get SIGKILL from
// the kernel (parent-death signal) rather than outliving it.
//
// # Servers
//
// PostgreSQL: initdb and postgres from /usr/lib/postgresql/<newest>/bin (or
// DBOPS_PG_BIN), run as the "postgres" OS user when the tests run as root
// (initdb refuses root). Superuser "postgres" with trust auth on 127.0.0.1;
// other roles authenticate with scram-sha-256, so a test can exercise real
// password handling by creating a role with a password.
//
// MariaDB: mariadb-install-db and mariadbd, root with an empty password on
// 127.0.0.1 (unix socket in the temp dir); MySQL-style DSN from DSN(db).
//
// MariaDB binary logging is on (ROW format, server id 1, binlog in Dir)
// unless started WithoutBinlog, since backups record binlog/GTID positions.
//
// MinIO: the minio binary from $DBOPS_MINIO, PATH or $(go env GOPATH)/bin,
// installed by `make deps` at the pinned version; a fresh bucket per call
// of Bucket(t). The secret key is random per server. WithTLS serves HTTPS
// with a certificate from a throwaway CA (MinIO.CAFile).
package harness
