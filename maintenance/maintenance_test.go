package maintenance_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	_ "github.com/dbopsd/dbopsd/engines/all"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/when"
)

func TestMain(m *testing.M) { harness.Main(m) }

var dbSeq struct {
	sync.Mutex
	n int
}

// pgTarget creates a fresh database on the shared PostgreSQL server.
func pgTarget(t *testing.T) (maintenance.Target, *harness.Postgres, string) {
	t.Helper()
	pg := harness.SourcePostgres(t)
	dbSeq.Lock()
	dbSeq.n++
	name := fmt.Sprintf("maint_%d_%d", time.Now().UnixNano()%1e6, dbSeq.n)
	dbSeq.Unlock()
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	return target(t, "postgres", name, pg.DSN(name)), pg, name
}

func target(t *testing.T, engine, name, dsn string) maintenance.Target {
	t.Helper()
	eng, err := maintenance.For(engine)
	if err != nil {
		t.Fatal(err)
	}
	return maintenance.Target{Database: &config.Database{Name: name, Engine: engine, DSN: dsn, Policy: "p"},
		Conn: engines.Conn{DSN: dsn}, Engine: eng, DatabaseName: name}
}

// bloatPG makes public.tickets with 60,000 rows of which 50,000 are then
// deleted (autovacuum off for it, so the dead rows stay), and waits until
// the statistics count them.
func bloatPG(t *testing.T, pg *harness.Postgres, db string) {
	t.Helper()
	pg.Exec(t, db, `CREATE TABLE public.tickets (id bigint PRIMARY KEY, note text) WITH (autovacuum_enabled = false);
		INSERT INTO public.tickets SELECT g, repeat('x', 200) FROM generate_series(1, 60000) g;
		DELETE FROM public.tickets WHERE id > 10000;`)
	deadline := time.Now().Add(20 * time.Second)
	for pg.QueryString(t, db, "SELECT n_dead_tup >= 50000 FROM pg_stat_user_tables WHERE relname = 'tickets'") != "t" {
		if time.Now().After(deadline) {
			t.Fatal("the statistics never counted the dead rows")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func policy(w when.Window) *config.Policy {
	return &config.Policy{Name: "p", MaintenanceWindow: w, MaintenanceLockTimeout: time.Second}
}

// TestPostgresProposeRunShrinks: a bloated table gets a VACUUM FULL
// proposal stating its cost; running it shrinks the table, and the job
// log and Month keep the before and after.
func TestPostgresProposeRunShrinks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg, pg, db := pgTarget(t)
	bloatPG(t, pg, db)

	props, err := maintenance.StatsProposer{}.Propose(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	var p *maintenance.Proposal
	for i := range props {
		if props[i].Object == "public.tickets" {
			p = &props[i]
		}
	}
	if p == nil {
		t.Fatalf("no proposal for public.tickets: %+v", props)
	}
	if p.Operation.Op != maintmodel.VacuumFull || p.Statement != `VACUUM (FULL, ANALYZE) "public"."tickets"` ||
		p.Online || !strings.Contains(p.Lock, "ACCESS EXCLUSIVE") || p.GainBytes <= 0 || p.Bytes <= 0 || p.LockFor <= 0 ||
		!strings.Contains(p.Reason, "dead rows") {
		t.Fatalf("proposal: %+v", p)
	}

	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	var progress []string
	res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: p.Operation, Policy: policy(when.Window{}),
		Location: time.UTC, Catalog: cat, Trigger: "request", Request: "R1",
		Progress: func(s string) { progress = append(progress, s) }, ProgressEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != maintenance.Succeeded || res.Before == nil || res.After == nil {
		t.Fatalf("result: %+v", res)
	}
	if res.After.TotalBytes >= res.Before.TotalBytes/2 {
		t.Fatalf("the table did not shrink: before %d bytes, after %d", res.Before.TotalBytes, res.After.TotalBytes)
	}
	if !strings.Contains(res.Space, "free in") {
		t.Errorf("disk space on a local server was not measured: %q", res.Space)
	}
	if got := pg.QueryString(t, db, "SELECT count(*) FROM public.tickets"); got != "10000" {
		t.Fatalf("rows after VACUUM FULL: %s", got)
	}
	t.Logf("%s; progress lines: %d", res.Summary(), len(progress))

	month, err := maintenance.Month(ctx, cat, db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(month) != 1 || month[0].Outcome != maintenance.Succeeded || month[0].Before.TotalBytes != res.Before.TotalBytes ||
		month[0].After.TotalBytes != res.After.TotalBytes || month[0].Request != "R1" {
		t.Fatalf("Month: %+v", month)
	}
	if prev, _ := maintenance.Month(ctx, cat, db, time.Now().AddDate(0, -1, 0)); len(prev) != 0 {
		t.Fatalf("last month lists this month's run: %+v", prev)
	}
}

// TestPostgresLockTimeout: a VACUUM FULL blocked by another session gives
// up after the policy's lock timeout, says so, and changes nothing. Behind
// a long reader (ACCESS SHARE) the statement itself waits, and the progress
// shows it waiting; behind ACCESS EXCLUSIVE even measuring the table waits,
// and the run gives up before the statement.
func TestPostgresLockTimeout(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"ACCESS SHARE", "VACUUM (FULL, ANALYZE)"},
		{"ACCESS EXCLUSIVE", "before the statement"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			tg, pg, db := pgTarget(t)
			pg.Exec(t, db, "CREATE TABLE public.t (id int); INSERT INTO public.t SELECT generate_series(1, 1000)")
			holder, err := pgx.Connect(ctx, pg.DSN(db))
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close(ctx)
			if _, err := holder.Exec(ctx, "BEGIN; LOCK TABLE public.t IN "+tc.mode+" MODE"); err != nil {
				t.Fatal(err)
			}
			p := policy(when.Window{})
			p.MaintenanceLockTimeout = 2 * time.Second
			var mu sync.Mutex
			var progress []string
			start := time.Now()
			res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.VacuumFull,
				Table: engines.TableRef{Schema: "public", Name: "t"}}, Policy: p, Location: time.UTC, ProgressEvery: 300 * time.Millisecond,
				Progress: func(s string) { mu.Lock(); progress = append(progress, s); mu.Unlock() }})
			took := time.Since(start)
			if !errors.Is(err, maintmodel.ErrLockTimeout) || res.Outcome != maintenance.LockTimeout {
				t.Fatalf("Run = %v, outcome %q; want a lock timeout", err, res.Outcome)
			}
			for _, w := range []string{"lock timeout of 2s", "another session holds a conflicting lock", tc.want} {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("the error does not say %q: %v", w, err)
				}
			}
			if took < 2*time.Second || took > 15*time.Second {
				t.Fatalf("gave up after %s, the lock timeout is 2s", took)
			}
			mu.Lock()
			waiting := strings.Contains(strings.Join(progress, "\n"), "waiting for a lock")
			mu.Unlock()
			if tc.mode == "ACCESS SHARE" && !waiting {
				t.Errorf("the progress never showed the statement waiting for its lock: %q", progress)
			}
			if _, err := holder.Exec(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
			if got := pg.QueryString(t, db, "SELECT count(*) FROM public.t"); got != "1000" {
				t.Fatalf("rows: %s", got)
			}
		})
	}
}

// TestWindowViolationRunsNothing: outside maintenance_window Run refuses
// before it touches the server or the job log.
func TestWindowViolationRunsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg, pg, db := pgTarget(t)
	bloatPG(t, pg, db)
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.VacuumFull,
		Table: engines.TableRef{Schema: "public", Name: "tickets"}}, Policy: policy(when.Window{Start: 1 * time.Hour, End: 5 * time.Hour}),
		Location: time.UTC, Catalog: cat, Now: func() time.Time { return now }})
	if !errors.Is(err, maintenance.ErrOutsideWindow) || res.Outcome != maintenance.NotRun {
		t.Fatalf("Run = %v, %q; want outside the window", err, res.Outcome)
	}
	if !strings.Contains(err.Error(), "01:00-05:00") || !strings.Contains(err.Error(), "2026-03-03 01:00") {
		t.Fatalf("the error does not say the window and when it opens: %v", err)
	}
	if got := pg.QueryString(t, db, "SELECT n_dead_tup >= 50000 FROM pg_stat_user_tables WHERE relname = 'tickets'"); got != "t" {
		t.Fatal("the table was vacuumed outside the window")
	}
	if jobs, _ := cat.Jobs(ctx, catalog.JobFilter{Kind: maintenance.JobKind}); len(jobs) != 0 {
		t.Fatalf("a job was recorded: %+v", jobs)
	}
}

// TestStatementsQuoteIdentifiers: every allowed operation renders one
// statement with quoted identifiers; an operation of the other engine is
// not supported.
func TestStatementsQuoteIdentifiers(t *testing.T) {
	tbl := engines.TableRef{Schema: `we"ird`, Name: "t; DROP TABLE x"}
	for _, tc := range []struct {
		engine string
		op     maintmodel.Operation
		want   string
	}{
		{"postgres", maintmodel.Operation{Op: maintmodel.Vacuum, Table: tbl}, `VACUUM (ANALYZE) "we""ird"."t; DROP TABLE x"`},
		{"postgres", maintmodel.Operation{Op: maintmodel.Reindex, Table: tbl}, `REINDEX TABLE CONCURRENTLY "we""ird"."t; DROP TABLE x"`},
		{"postgres", maintmodel.Operation{Op: maintmodel.Reindex, Table: tbl, Index: "i"}, `REINDEX INDEX CONCURRENTLY "we""ird"."i"`},
		{"postgres", maintmodel.Operation{Op: maintmodel.DropIndex, Table: tbl, Index: "i"}, `DROP INDEX CONCURRENTLY "we""ird"."i"`},
		{"postgres", maintmodel.Operation{Op: maintmodel.Analyze, Table: tbl}, `ANALYZE "we""ird"."t; DROP TABLE x"`},
		{"mysql", maintmodel.Operation{Op: maintmodel.Optimize, Table: engines.TableRef{Name: "a`b"}}, "OPTIMIZE TABLE `a``b`"},
		{"mysql", maintmodel.Operation{Op: maintmodel.Rebuild, Table: engines.TableRef{Name: "t"}}, "ALTER TABLE `t` FORCE"},
		{"mysql", maintmodel.Operation{Op: maintmodel.DropIndex, Table: engines.TableRef{Name: "t"}, Index: "i"}, "DROP INDEX `i` ON `t`"},
		{"mysql", maintmodel.Operation{Op: maintmodel.Vacuum, Table: engines.TableRef{Name: "t"}}, ""},
		{"postgres", maintmodel.Operation{Op: maintmodel.Optimize, Table: tbl}, ""},
		{"postgres", maintmodel.Operation{Op: maintmodel.DropIndex, Table: tbl}, ""},
	} {
		eng, err := maintenance.For(tc.engine)
		if err != nil {
			t.Fatal(err)
		}
		got, err := eng.MaintenanceStatement(tc.op)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%s %s: %q, %v; want %q", tc.engine, tc.op, got, err, tc.want)
		}
	}
	if _, err := maintenance.For("mssql"); !errors.Is(err, maintenance.ErrNotSupported) {
		t.Errorf("mssql: %v, want not supported", err)
	}
}

// TestMariaDB: fragmentation (DATA_FREE after a mass delete) is proposed
// as OPTIMIZE TABLE and running it gives the space back; a table held by
// LOCK TABLES … WRITE makes the run give up after lock_wait_timeout.
func TestMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m := harness.SourceMariaDB(t)
	db := fmt.Sprintf("maint_%d", time.Now().UnixNano()%1e6)
	m.Exec(t, "", "CREATE DATABASE "+db)
	m.Exec(t, db, `CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(1000)) ENGINE=InnoDB;
		INSERT INTO t SELECT seq, REPEAT('x', 900) FROM seq_1_to_40000;
		DELETE FROM t WHERE id > 4000;`)
	// The freed pages count in DATA_FREE once InnoDB's purge has run.
	deadline := time.Now().Add(40 * time.Second)
	for m.QueryString(t, "information_schema", "SELECT DATA_FREE > 16777216 FROM TABLES WHERE TABLE_SCHEMA = '"+db+"' AND TABLE_NAME = 't'") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("DATA_FREE never grew: %s", m.QueryString(t, "information_schema", "SELECT CONCAT(DATA_LENGTH, ' ', DATA_FREE) FROM TABLES WHERE TABLE_SCHEMA = '"+db+"' AND TABLE_NAME = 't'"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	tg := target(t, "mysql", db, m.DSN(db))
	props, err := maintenance.StatsProposer{}.Propose(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) != 1 || props[0].Operation.Op != maintmodel.Optimize || props[0].Statement != "OPTIMIZE TABLE `t`" || props[0].GainBytes < 4<<20 {
		t.Fatalf("proposals: %+v", props)
	}
	res, err := maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: props[0].Operation, Policy: policy(when.Window{}), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.After.DataFree >= res.Before.DataFree || res.After.TotalBytes >= res.Before.TotalBytes/2 {
		t.Fatalf("OPTIMIZE gave nothing back: %s", res.Summary())
	}
	t.Log(res.Summary())

	sqldb, err := sql.Open("mysql", m.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	holder, err := sqldb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "LOCK TABLES t WRITE"); err != nil {
		t.Fatal(err)
	}
	res, err = maintenance.Run(ctx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Rebuild,
		Table: engines.TableRef{Name: "t"}}, Policy: policy(when.Window{}), Location: time.UTC})
	if !errors.Is(err, maintmodel.ErrLockTimeout) || res.Outcome != maintenance.LockTimeout || !strings.Contains(err.Error(), "lock_wait_timeout") {
		t.Fatalf("Run under LOCK TABLES = %v, %q; want a lock timeout", err, res.Outcome)
	}
	if _, err := holder.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	if got := m.QueryString(t, db, "SELECT COUNT(*) FROM t"); got != "4000" {
		t.Fatalf("rows: %s", got)
	}
}

// TestCancelLeavesTableUsable: cancelling a run (SIGTERM cancels the job's
// context) cancels the statement on the server. A REINDEX CONCURRENTLY
// stopped while it waits for an older transaction leaves an invalid
// "_ccnew" index behind, which the run drops; the table keeps its rows
// and its one valid index.
func TestCancelLeavesTableUsable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg, pg, db := pgTarget(t)
	pg.Exec(t, db, "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 1000)")
	holder, err := pgx.Connect(ctx, pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(ctx, "BEGIN; UPDATE public.t SET id = id WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	time.AfterFunc(1500*time.Millisecond, stop)
	// The cleanup's DROP INDEX CONCURRENTLY waits for the holder too.
	time.AfterFunc(4*time.Second, func() { _, _ = holder.Exec(context.Background(), "COMMIT") })
	p := policy(when.Window{})
	p.MaintenanceLockTimeout = time.Minute
	res, err := maintenance.Run(runCtx, maintenance.Spec{Target: tg, Operation: maintmodel.Operation{Op: maintmodel.Reindex,
		Table: engines.TableRef{Schema: "public", Name: "t"}}, Policy: p, Location: time.UTC})
	if err == nil || res.Outcome != maintenance.Failed {
		t.Fatalf("cancelled run: %v, %q", err, res.Outcome)
	}
	for q, want := range map[string]string{
		"SELECT count(*) FROM public.t": "1000",
		"SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = 't'":                      "1",
		"SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = 't' AND NOT i.indisvalid": "0",
	} {
		if got := pg.QueryString(t, db, q); got != want {
			t.Errorf("%s = %s, want %s", q, got, want)
		}
	}
	pg.Exec(t, db, "INSERT INTO public.t VALUES (1001)")
}
