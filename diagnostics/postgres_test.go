package diagnostics_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/secret"
)

func pgConn(t *testing.T, pg *harness.Postgres, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pollPG waits until query returns true.
func pollPG(t *testing.T, pg *harness.Postgres, db, query, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for pg.QueryString(t, db, query) != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPostgresChecks creates each condition on the shared PostgreSQL and
// asserts its finding, after asserting the clean database raises none.
func TestPostgresChecks(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS diag_pg")
	pg.Exec(t, "postgres", "CREATE DATABASE diag_pg")
	pg.Exec(t, "diag_pg", `
		CREATE TABLE lock_t (id int PRIMARY KEY, v int);
		INSERT INTO lock_t VALUES (1, 0), (2, 0);
		CREATE TABLE bloat_t (id int, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO bloat_t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;
		CREATE TABLE dup_t (x int);
		INSERT INTO dup_t VALUES (1), (1);
		CREATE TABLE analyzed_t (id int) WITH (autovacuum_enabled = false);
		INSERT INTO analyzed_t SELECT generate_series(1, 5000); ANALYZE analyzed_t;`)
	conn := engines.Conn{DSN: pg.DSN("diag_pg")}

	clean := collect(t, "postgres", conn, diagmodel.Monthly, nil)
	cleanReport := analyze(clean, nil)
	for _, c := range []struct{ check, obj string }{
		{"long-transaction", ""}, {"idle-in-transaction", ""}, {"blocked-sessions", ""},
		{"table-bloat", "bloat_t"}, {"invalid-index", ""}, {"unused-index", ""}, {"duplicate-index", ""},
		{"role-md5", "diag_"}, {"role-no-password", "diag_"}, {"hba-trust", ""}, {"archive-failing", ""},
		{"never-analyzed", "analyzed_t"},
	} {
		if c.check == "hba-trust" {
			// The harness trusts the superuser on loopback: those lines
			// are findings; no line for diag_trust is.
			for _, f := range found(cleanReport, c.check, "") {
				if strings.Contains(f.Details, "diag_trust") {
					t.Errorf("clean server: %+v", f)
				}
			}
			continue
		}
		wantNoFinding(t, cleanReport, c.check, c.obj)
	}
	if cleanReport.Facts.Queries > 40 {
		t.Errorf("the monthly collection sent %d queries", cleanReport.Facts.Queries)
	}

	// A deadlock between the clean snapshot and the next.
	a, b := pgConn(t, pg, "diag_pg"), pgConn(t, pg, "diag_pg")
	ctx := context.Background()
	for _, c := range []*pgx.Conn{a, b} {
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
	}
	a.Exec(ctx, "UPDATE lock_t SET v = 1 WHERE id = 1")
	b.Exec(ctx, "UPDATE lock_t SET v = 1 WHERE id = 2")
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(1)
	go func() { defer wg.Done(); _, errA = a.Exec(ctx, "UPDATE lock_t SET v = 2 WHERE id = 2") }()
	time.Sleep(300 * time.Millisecond)
	_, errB = b.Exec(ctx, "UPDATE lock_t SET v = 2 WHERE id = 1")
	wg.Wait()
	var pgErr *pgconn.PgError
	if !errors.As(errA, &pgErr) && !errors.As(errB, &pgErr) || pgErr.Code != "40P01" {
		t.Fatalf("no deadlock: %v / %v", errA, errB)
	}
	a.Exec(ctx, "ROLLBACK")
	b.Exec(ctx, "ROLLBACK")
	pollPG(t, pg, "diag_pg", "SELECT deadlocks > 0 FROM pg_stat_database WHERE datname = 'diag_pg'", "the deadlock counter")

	// Bloat from a mass update; an invalid index from a failed
	// CREATE INDEX CONCURRENTLY; a used, an unused and a duplicate index.
	pg.Exec(t, "diag_pg", `UPDATE bloat_t SET pad = repeat('y', 100); UPDATE bloat_t SET pad = repeat('z', 100);
		CREATE INDEX used_i ON bloat_t (id); CREATE INDEX unused_i ON bloat_t (pad);`)
	if _, err := a.Exec(ctx, "CREATE UNIQUE INDEX CONCURRENTLY invalid_i ON dup_t (x)"); err == nil {
		t.Fatal("the unique index on duplicates was built")
	}
	pg.Exec(t, "diag_pg", `SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT * FROM bloat_t WHERE id = 5;
		SELECT * FROM bloat_t WHERE id = 6;`)
	pollPG(t, pg, "diag_pg", "SELECT sum(i.idx_scan) > 0 AND max(s.n_dead_tup) > 0 FROM pg_stat_user_indexes i JOIN pg_stat_user_tables s USING (relid) WHERE s.relname = 'bloat_t'", "index statistics")
	pg.Exec(t, "diag_pg", "CREATE INDEX dup_i ON bloat_t (id)")

	// Roles: no password, MD5; a trust line in pg_hba.conf.
	pg.Exec(t, "postgres", `DROP ROLE IF EXISTS diag_nopw; DROP ROLE IF EXISTS diag_md5;
		CREATE ROLE diag_nopw LOGIN; SET password_encryption = 'md5'; CREATE ROLE diag_md5 LOGIN PASSWORD 'secret-md5';`)
	hba := filepath.Join(pg.Dir, "data", "pg_hba.conf")
	orig, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(hba, orig, 0o600)
		pg.Exec(t, "postgres", "SELECT pg_reload_conf()")
	})
	if err := os.WriteFile(hba, append(append([]byte(nil), orig...), "host all diag_trust 10.9.9.0/24 trust\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	pg.Exec(t, "postgres", "SELECT pg_reload_conf()")

	// A long open transaction, idle in transaction, blocking another.
	if _, err := a.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "UPDATE lock_t SET v = 3 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	blockedCtx, cancelBlocked := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); b.Exec(blockedCtx, "UPDATE lock_t SET v = 4 WHERE id = 1") }()
	defer func() { cancelBlocked(); wg.Wait() }()
	pollPG(t, pg, "diag_pg", "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'", "the blocked session")
	time.Sleep(1200 * time.Millisecond)

	cur := collect(t, "postgres", conn, diagmodel.Monthly, nil)
	r := analyze(cur, clean)
	wantFinding(t, r, "deadlocks", "diag_pg")
	f := wantFinding(t, r, "table-bloat", "public.bloat_t")
	if !strings.Contains(f.Details, "bloat") && f.Details == "" {
		t.Errorf("bloat details %q", f.Details)
	}
	wantFinding(t, r, "big-table", "public.bloat_t")
	wantFinding(t, r, "never-analyzed", "public.bloat_t")
	if fs := found(r, "never-analyzed", "analyzed_t"); len(fs) > 0 {
		t.Errorf("an analysed table reported: %+v", fs)
	}
	wantFinding(t, r, "invalid-index", "public.invalid_i")
	wantFinding(t, r, "unused-index", "public.unused_i")
	for _, f := range found(r, "unused-index", "") {
		if f.Object == "public.used_i" {
			t.Errorf("the scanned index reported unused: %+v", f)
		}
	}
	if f := wantFinding(t, r, "duplicate-index", "public.dup_i"); !strings.Contains(f.Finding, "public.used_i") {
		t.Errorf("duplicate-index: %q", f.Finding)
	}
	wantFinding(t, r, "role-no-password", "diag_nopw")
	wantFinding(t, r, "role-md5", "diag_md5")
	if len(found(r, "role-md5", "diag_nopw")) > 0 {
		t.Error("diag_nopw reported as MD5")
	}
	trust := false
	for _, f := range found(r, "hba-trust", "pg_hba.conf:") {
		trust = trust || strings.Contains(f.Details, "diag_trust")
	}
	if !trust {
		t.Errorf("no hba-trust finding for the diag_trust line:\n%s", listFindings(r))
	}
	wantFinding(t, r, "long-transaction", "pid ")
	wantFinding(t, r, "idle-in-transaction", "pid ")
	blocked := wantFinding(t, r, "blocked-sessions", "lock_t")
	if !strings.Contains(blocked.Finding, "pid") && !strings.Contains(blocked.Finding, "postgres") {
		t.Errorf("blocked finding names no blocker: %q", blocked.Finding)
	}
	for _, raw := range []string{"secret-md5", "md5"} {
		for _, x := range cur.Roles {
			if strings.Contains(x.Password, raw) && x.Password != "md5" {
				t.Errorf("a password hash leaked into the facts: %+v", x)
			}
		}
	}
	cancelBlocked()
	wg.Wait()
	a.Exec(ctx, "ROLLBACK")

	t.Run("least privilege", func(t *testing.T) {
		pg.Exec(t, "postgres", `DROP ROLE IF EXISTS diag_mon; CREATE ROLE diag_mon LOGIN PASSWORD 'mon-pw';`)
		mon := engines.Conn{DSN: strings.Replace(pg.DSN("diag_pg"), "postgres@", "diag_mon@", 1), Password: secret.New("mon-pw")}
		f := collect(t, "postgres", mon, diagmodel.Monthly, nil)
		r := analyze(f, nil)
		wantLeastPrivilege(t, r, "long-transaction", "blocked-sessions", "role-no-password", "hba-trust")
		// The reason a check did not run is the adapter's sentence, in
		// the report's language.
		for _, fd := range r.Findings {
			if fd.Check == "long-transaction" && fd.NotChecked && !strings.Contains(fd.Details, "pg_monitor") || strings.Contains(fd.Details, "monitoring role") {
				t.Errorf("not-checked details in %s: %q", r.Lang, fd.Details)
			}
		}
	})
}

// TestPostgresRestartArchiveLog: on a private server, a restart between
// two snapshots, a failing archive_command and an error in the server log.
func TestPostgresRestartArchiveLog(t *testing.T) {
	pg := harness.NewPostgres(t)
	conn := engines.Conn{DSN: pg.DSN("postgres")}
	before := collect(t, "postgres", conn, diagmodel.Daily, nil)
	r0 := analyze(before, nil)
	if st := status(r0, "error-log"); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, "logging_collector") {
		t.Errorf("error-log with the log on stderr: %+v", st)
	}
	wantNoFinding(t, r0, "archive-failing", "")

	for _, s := range []string{"logging_collector = on", "archive_mode = on", "archive_command = '/bin/false'"} {
		pg.Exec(t, "postgres", "ALTER SYSTEM SET "+s)
	}
	pg.Stop(t)
	pg.Start(t)
	afterRestart := collect(t, "postgres", conn, diagmodel.Daily, nil)
	r1 := analyze(afterRestart, before)
	wantFinding(t, r1, "restart", "")
	if r1.Deltas == nil || !r1.Deltas.Restarted || r1.Deltas.Counters != nil {
		t.Errorf("deltas across a restart: %+v", r1.Deltas)
	}
	wantNoFinding(t, r1, "error-log", "")

	ctx := context.Background()
	c := pgConn(t, pg, "postgres")
	if _, err := c.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("1/0 succeeded")
	}
	pg.Exec(t, "postgres", "CREATE TABLE wal_t AS SELECT g FROM generate_series(1, 1000) g; SELECT pg_switch_wal();")
	pollPG(t, pg, "postgres", "SELECT failed_count > 0 FROM pg_stat_archiver", "a failed archive_command")

	cur := collect(t, "postgres", conn, diagmodel.Daily, afterRestart.Log)
	r2 := analyze(cur, afterRestart)
	wantNoFinding(t, r2, "restart", "")
	f := wantFinding(t, r2, "error-log", "ERROR")
	if !strings.Contains(f.Details, "division by zero") {
		t.Errorf("error-log details: %q", f.Details)
	}
	wantFinding(t, r2, "archive-failing", "")
	if r2.Deltas == nil || r2.Deltas.Restarted || r2.Deltas.Counters[diagmodel.CounterArchiveFail] == 0 {
		t.Errorf("deltas: %+v", r2.Deltas)
	}

	// The next run reads on from where this one stopped: the old error is
	// not reported twice.
	next := collect(t, "postgres", conn, diagmodel.Daily, cur.Log)
	if n := next.Log.Counts["ERROR"]; n != 0 {
		t.Errorf("the next run counted %d errors again", n)
	}
}
