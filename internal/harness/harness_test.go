package harness

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) { Main(m) }

func TestSharedPostgres(t *testing.T) {
	src, dst := SourcePostgres(t), TargetPostgres(t)
	if src.Port == dst.Port {
		t.Fatalf("source and target share port %d", src.Port)
	}
	if again := SourcePostgres(t); again != src {
		t.Fatalf("SourcePostgres started a second server")
	}
	src.Exec(t, "postgres", "DROP DATABASE IF EXISTS harness_shared WITH (FORCE)") // repeatable with -count
	src.Exec(t, "postgres", "CREATE DATABASE harness_shared")
	src.Exec(t, "harness_shared", "CREATE TABLE t (v text); INSERT INTO t VALUES ('src');")
	if got := src.QueryString(t, "harness_shared", "SELECT v FROM t"); got != "src" {
		t.Fatalf("got %q from source, want src", got)
	}
	if got := dst.QueryString(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'harness_shared'"); got != "0" {
		t.Fatalf("target sees the source's database (count %s)", got)
	}
	if got := src.QueryString(t, "postgres", "SHOW server_encoding"); got != "UTF8" {
		t.Fatalf("server_encoding %q, want UTF8", got)
	}
}

func TestPostgresPasswordRoles(t *testing.T) {
	pg := SourcePostgres(t)
	pg.Exec(t, "postgres", "CREATE ROLE harness_pw LOGIN PASSWORD 's3cret'")
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP ROLE harness_pw") })
	dsn := strings.Replace(pg.DSN("postgres"), "postgres@", "harness_pw@", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Fatalf("role with a password connected without it")
	}
	withPw := strings.Replace(dsn, "harness_pw@", "harness_pw:s3cret@", 1)
	conn, err := pgx.Connect(ctx, withPw)
	if err != nil {
		t.Fatalf("connecting with the password: %v", err)
	}
	conn.Close(ctx)
}

func TestPostgresStopStart(t *testing.T) {
	pg := NewPostgres(t)
	pg.Exec(t, "postgres", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	pg.Stop(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, pg.DSN("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatalf("connected to a stopped server")
	}
	pg.Start(t)
	if got := pg.QueryString(t, "postgres", "SELECT v FROM kept"); got != "42" {
		t.Fatalf("after restart got %q, want 42", got)
	}
}

func TestSharedMariaDB(t *testing.T) {
	src, dst := SourceMariaDB(t), TargetMariaDB(t)
	if src.Port == dst.Port {
		t.Fatalf("source and target share port %d", src.Port)
	}
	src.Exec(t, "", "DROP DATABASE IF EXISTS harness_shared; CREATE DATABASE harness_shared; CREATE TABLE harness_shared.t (v varchar(10)); INSERT INTO harness_shared.t VALUES ('src')")
	if got := src.QueryString(t, "harness_shared", "SELECT v FROM t"); got != "src" {
		t.Fatalf("got %q from source, want src", got)
	}
	if got := dst.QueryString(t, "", "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'harness_shared'"); got != "0" {
		t.Fatalf("target sees the source's database (count %s)", got)
	}
	if got := src.QueryString(t, "", "SELECT @@log_bin"); got != "1" {
		t.Fatalf("log_bin = %q, want 1", got)
	}
	if got := src.QueryString(t, "", "SELECT @@binlog_format"); got != "ROW" {
		t.Fatalf("binlog_format = %q, want ROW", got)
	}
	// Over TCP root is root@127.0.0.1, which must have every privilege.
	if got := src.QueryString(t, "", "SELECT CURRENT_USER()"); got != "root@127.0.0.1" {
		t.Fatalf("CURRENT_USER() = %q", got)
	}
	src.Exec(t, "", "CREATE USER IF NOT EXISTS harness_grant@'%'; GRANT SELECT ON harness_shared.* TO harness_grant@'%'; DROP USER harness_grant@'%'")
}

func TestMariaDBStopStartWithoutBinlog(t *testing.T) {
	m := NewMariaDB(t, WithoutBinlog())
	if got := m.QueryString(t, "", "SELECT @@log_bin"); got != "0" {
		t.Fatalf("log_bin = %q, want 0", got)
	}
	m.Exec(t, "", "CREATE DATABASE kept; CREATE TABLE kept.t (v int) ENGINE=InnoDB; INSERT INTO kept.t VALUES (42)")
	m.Stop(t)

	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Fatalf("pinged a stopped server")
	}
	m.Start(t)
	if got := m.QueryString(t, "kept", "SELECT v FROM t"); got != "42" {
		t.Fatalf("after restart got %q, want 42", got)
	}
}

func TestMinIOStopStart(t *testing.T) {
	s := NewMinIO(t)
	c := s.Client(t)
	bucket := s.Bucket(t)
	ctx := t.Context()
	body := []byte("hello")
	if _, err := c.PutObject(ctx, bucket, "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	s.Stop(t)
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := c.ListBuckets(short); err == nil {
		t.Fatalf("listed buckets on a stopped server")
	}
	s.Start(t)
	obj, err := c.GetObject(ctx, bucket, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != "hello" {
		t.Fatalf("after restart got %q, %v", got, err)
	}
}

func TestSharedMinIOBuckets(t *testing.T) {
	s := SharedMinIO(t)
	a, b := s.Bucket(t), s.BucketWithLock(t)
	if a == b {
		t.Fatalf("two buckets named %s", a)
	}
	c := s.Client(t)
	if _, _, _, _, err := c.GetObjectLockConfig(t.Context(), b); err != nil {
		t.Fatalf("bucket %s has no object lock: %v", b, err)
	}
	if _, _, _, _, err := c.GetObjectLockConfig(t.Context(), a); err == nil {
		t.Fatalf("plain bucket %s has object lock", a)
	}
}

func TestBucketName(t *testing.T) {
	for _, tc := range []struct{ test, want string }{
		{"TestX", "t-testx-1"},
		{"TestS3/with_prefix/Überlong", "t-tests3-with-prefix-berlong-1"},
		{strings.Repeat("TestLong", 20), ""},
	} {
		got := bucketName(tc.test, 1)
		if tc.want != "" && got != tc.want {
			t.Errorf("bucketName(%q) = %q, want %q", tc.test, got, tc.want)
		}
		if len(got) < 3 || len(got) > 63 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("bucketName(%q) = %q is not a valid bucket name", tc.test, got)
		}
	}
}

func TestMinIOTLS(t *testing.T) {
	s := NewMinIO(t, WithTLS())
	if !s.TLS || s.CAFile == "" {
		t.Fatalf("TLS server without CA file: %+v", s)
	}
	bucket := s.Bucket(t) // through the client that trusts CAFile
	// A client that trusts only the system CAs must refuse the server.
	resp, err := http.Get("https://" + s.Endpoint + "/minio/health/live")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the system trusts the test CA")
	}
	if ok, err := s.Client(t).BucketExists(t.Context(), bucket); err != nil || !ok {
		t.Fatalf("bucket %s over TLS: %v, %v", bucket, ok, err)
	}
}

func TestMissingBinariesFailClearly(t *testing.T) {
	t.Setenv("DBOPS_PG_BIN", "/nonexistent")
	t.Setenv("DBOPS_MINIO", "/nonexistent/minio")
	if _, _, err := startPostgres(); err == nil || !strings.Contains(err.Error(), "DBOPS_PG_BIN=/nonexistent") {
		t.Errorf("startPostgres with a bad DBOPS_PG_BIN = %v", err)
	}
	if _, _, err := startMinIO(nil); err == nil || !strings.Contains(err.Error(), "DBOPS_MINIO=/nonexistent/minio") {
		t.Errorf("startMinIO with a bad DBOPS_MINIO = %v", err)
	}
}
