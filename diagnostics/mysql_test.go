package diagnostics_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/secret"
)

func myConn(t *testing.T, m *harness.MariaDB, db string) *sql.Conn {
	t.Helper()
	pool, err := sql.Open("mysql", m.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	c, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMariaDBChecks creates each condition on the shared MariaDB and
// asserts its finding, after asserting the clean database raises none.
func TestMariaDBChecks(t *testing.T) {
	m := harness.SourceMariaDB(t)
	m.Exec(t, "", `DROP DATABASE IF EXISTS diag_my; CREATE DATABASE diag_my;
		DROP USER IF EXISTS ''@'diaghost', 'diag_any'@'%', 'diag_mon'@'127.0.0.1';`)
	m.Exec(t, "diag_my", `CREATE TABLE lock_t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
		INSERT INTO lock_t VALUES (1, 0), (2, 0);
		CREATE TABLE big_t (id INT PRIMARY KEY, pad VARCHAR(1000), KEY k1 (pad(10)), KEY k2 (pad(10))) ENGINE=InnoDB;
		CREATE TABLE bloat_t (id INT PRIMARY KEY, pad VARCHAR(2000)) ENGINE=InnoDB;`)
	conn := engines.Conn{DSN: m.DSN("diag_my")}

	clean := collect(t, "mysql", conn, diagmodel.Monthly, nil)
	cleanReport := analyze(clean, nil)
	for _, check := range []string{"long-transaction", "idle-in-transaction", "blocked-sessions", "big-table"} {
		wantNoFinding(t, cleanReport, check, "")
	}
	wantNoFinding(t, cleanReport, "anonymous-account", "diaghost")
	wantNoFinding(t, cleanReport, "wildcard-host", "diag_any")
	if st := status(cleanReport, "unused-index"); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, "performance_schema") {
		t.Errorf("unused-index with performance_schema off: %+v", st)
	}
	if st := status(cleanReport, "error-log"); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, "log_error") {
		t.Errorf("error-log with the log on stderr: %+v", st)
	}
	wantNoFinding(t, cleanReport, "table-bloat", "bloat_t")
	if st := status(cleanReport, "invalid-index"); st.Status != diagnostics.StatusNotApplicable {
		t.Errorf("invalid-index on MariaDB: %+v", st)
	}
	if cleanReport.Facts.Queries > 40 {
		t.Errorf("the monthly collection sent %d queries", cleanReport.Facts.Queries)
	}

	// A deadlock between the clean snapshot and the next.
	ctx := context.Background()
	a, b := myConn(t, m, "diag_my"), myConn(t, m, "diag_my")
	for _, c := range []*sql.Conn{a, b} {
		if _, err := c.ExecContext(ctx, "START TRANSACTION"); err != nil {
			t.Fatal(err)
		}
	}
	a.ExecContext(ctx, "UPDATE lock_t SET v = 1 WHERE id = 1")
	b.ExecContext(ctx, "UPDATE lock_t SET v = 1 WHERE id = 2")
	var wg sync.WaitGroup
	var errA error
	wg.Add(1)
	go func() { defer wg.Done(); _, errA = a.ExecContext(ctx, "UPDATE lock_t SET v = 2 WHERE id = 2") }()
	time.Sleep(300 * time.Millisecond)
	_, errB := b.ExecContext(ctx, "UPDATE lock_t SET v = 2 WHERE id = 1")
	wg.Wait()
	var myErr *mysql.MySQLError
	if !(errors.As(errA, &myErr) || errors.As(errB, &myErr)) || myErr.Number != 1213 {
		t.Fatalf("no deadlock: %v / %v", errA, errB)
	}
	a.ExecContext(ctx, "ROLLBACK")
	b.ExecContext(ctx, "ROLLBACK")

	// A big table; an anonymous and a '%' account.
	m.Exec(t, "diag_my", `INSERT INTO big_t SELECT seq, REPEAT('x', 900) FROM seq_1_to_3000; ANALYZE TABLE big_t;
		CREATE USER ''@'diaghost'; CREATE USER 'diag_any'@'%' IDENTIFIED BY 'any-pw';`)

	// Bloat: most rows of a table deleted leave free extents (DATA_FREE)
	// once purged.
	m.Exec(t, "diag_my", `INSERT INTO bloat_t SELECT seq, REPEAT('b', 1900) FROM seq_1_to_6000;
		DELETE FROM bloat_t WHERE id > 300;`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m.Exec(t, "diag_my", "ANALYZE TABLE bloat_t")
		free := m.QueryString(t, "", "SELECT DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'diag_my' AND TABLE_NAME = 'bloat_t'")
		if n, _ := strconv.ParseInt(free, 10, 64); n >= 4<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DATA_FREE of bloat_t stayed at %s", free)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A long open transaction, idle, blocking another session.
	if _, err := a.ExecContext(ctx, "START TRANSACTION"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, "UPDATE lock_t SET v = 3 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	blockedCtx, cancelBlocked := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); b.ExecContext(blockedCtx, "UPDATE lock_t SET v = 4 WHERE id = 1") }()
	defer func() { cancelBlocked(); wg.Wait() }()
	deadline = time.Now().Add(10 * time.Second)
	for m.QueryString(t, "", "SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS") == "0" {
		if time.Now().After(deadline) {
			t.Fatal("the second session never waited")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond)

	cur := collect(t, "mysql", conn, diagmodel.Monthly, nil)
	r := analyze(cur, clean)
	wantFinding(t, r, "deadlocks", "diag_my")
	wantFinding(t, r, "big-table", "diag_my.big_t")
	wantFinding(t, r, "table-bloat", "diag_my.bloat_t")
	wantFinding(t, r, "anonymous-account", "''@'diaghost'")
	wantFinding(t, r, "wildcard-host", "'diag_any'@'%'")
	if len(found(r, "role-no-password", "diag_any")) > 0 {
		t.Error("diag_any has a password")
	}
	wantFinding(t, r, "role-no-password", "''@'diaghost'")
	wantFinding(t, r, "long-transaction", "pid ")
	wantFinding(t, r, "idle-in-transaction", "pid ")
	if f := wantFinding(t, r, "blocked-sessions", "lock_t"); !strings.Contains(f.Finding, "pid") {
		t.Errorf("blocked: %+v", f)
	}
	for _, x := range cur.Roles {
		if strings.Contains(x.Password, "*") {
			t.Errorf("a password hash leaked into the facts: %+v", x)
		}
	}
	cancelBlocked()
	wg.Wait()
	a.ExecContext(ctx, "ROLLBACK")

	t.Run("least privilege", func(t *testing.T) {
		m.Exec(t, "", `CREATE USER 'diag_mon'@'127.0.0.1' IDENTIFIED BY 'mon-pw'; GRANT USAGE ON *.* TO 'diag_mon'@'127.0.0.1';`)
		mon := engines.Conn{DSN: strings.Replace(m.DSN("diag_my"), "root@", "diag_mon@", 1), Password: secret.New("mon-pw")}
		f := collect(t, "mysql", mon, diagmodel.Monthly, nil)
		wantLeastPrivilege(t, analyze(f, nil), "long-transaction", "blocked-sessions", "anonymous-account", "wildcard-host")
	})
}
