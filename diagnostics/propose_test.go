package diagnostics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// TestProposeFromDiagnosis: on the harness's PostgreSQL, a bloated table,
// an unused duplicate index, an invalid index and a table never analysed;
// the monthly diagnosis is run and saved, a daily inspection after it;
// the proposer reads the monthly one and proposes VACUUM FULL, DROP INDEX
// CONCURRENTLY, REINDEX INDEX CONCURRENTLY and ANALYZE, each naming its
// finding, and nothing for what is fine.
func TestProposeFromDiagnosis(t *testing.T) {
	ctx := context.Background()
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS diag_propose")
	pg.Exec(t, "postgres", "CREATE DATABASE diag_propose")
	pg.Exec(t, "diag_propose", `
		CREATE TABLE bloat_t (id int, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO bloat_t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;
		UPDATE bloat_t SET pad = repeat('y', 100); UPDATE bloat_t SET pad = repeat('z', 100);
		CREATE INDEX base_i ON bloat_t (id);
		CREATE TABLE fresh_t (id int) WITH (autovacuum_enabled = false);
		INSERT INTO fresh_t SELECT generate_series(1, 5000);
		CREATE TABLE fine_t (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
		INSERT INTO fine_t SELECT generate_series(1, 5000); ANALYZE fine_t;
		CREATE TABLE dup_t (x int); INSERT INTO dup_t VALUES (1), (1);`)
	pg.Exec(t, "diag_propose", `SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT * FROM bloat_t WHERE id = 5;`)
	pollPG(t, pg, "diag_propose", "SELECT sum(i.idx_scan) > 0 AND max(s.n_dead_tup) > 0 FROM pg_stat_user_indexes i JOIN pg_stat_user_tables s USING (relid) WHERE s.relname = 'bloat_t'", "index statistics")
	pg.Exec(t, "diag_propose", "CREATE INDEX dup_i ON bloat_t (id)")
	if _, err := pgConn(t, pg, "diag_propose").Exec(ctx, "CREATE UNIQUE INDEX CONCURRENTLY invalid_i ON dup_t (x)"); err == nil {
		t.Fatal("the unique index on duplicates was built")
	}

	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("propose test"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	eng, err := engines.New("postgres")
	if err != nil {
		t.Fatal(err)
	}
	db := &config.Database{Name: "hall", Engine: "postgres", DSN: pg.DSN("diag_propose")}
	tg, err := maintenance.TargetFor(nil, db, engines.Conn{DSN: db.DSN})
	if err != nil {
		t.Fatal(err)
	}
	proposer := diagnostics.Proposer{Catalog: cat}

	// Without a monthly diagnosis: nothing, and no error.
	if props, err := proposer.Propose(ctx, tg); err != nil || len(props) != 0 {
		t.Fatalf("without a diagnosis: %v, %+v", err, props)
	}

	store := history.Store{Repo: repo, Catalog: cat}
	run := func(level string) (*diagnostics.Report, string) {
		r, err := diagnostics.Run{Engine: eng, EngineName: "postgres", Conn: engines.Conn{DSN: db.DSN}, Database: "hall", Level: level,
			Catalog: cat, Thresholds: testThresholds()}.Do(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, err := store.Save(ctx, history.KindDiagnosis, "hall", r.At, r)
		if err != nil {
			t.Fatal(err)
		}
		return r, id
	}
	monthly, snapshot := run(diagmodel.Monthly)
	wantFinding(t, monthly, "table-bloat", "public.bloat_t")
	wantFinding(t, monthly, "duplicate-index", "public.dup_i")
	wantFinding(t, monthly, "unused-index", "public.dup_i")
	wantFinding(t, monthly, "invalid-index", "public.invalid_i")
	wantFinding(t, monthly, "never-analyzed", "public.fresh_t")
	time.Sleep(10 * time.Millisecond)
	run(diagmodel.Daily) // a later daily inspection does not hide the monthly diagnosis

	props, err := proposer.Propose(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		op        maintmodel.Op
		statement string
		checks    []string
		online    bool
	}
	wants := map[string]want{
		"public.bloat_t":   {maintmodel.VacuumFull, `VACUUM (FULL, ANALYZE) "public"."bloat_t"`, []string{"table-bloat"}, false},
		"public.dup_i":     {maintmodel.DropIndex, `DROP INDEX CONCURRENTLY "public"."dup_i"`, []string{"unused-index", "duplicate-index"}, true},
		"public.invalid_i": {maintmodel.Reindex, `REINDEX INDEX CONCURRENTLY "public"."invalid_i"`, []string{"invalid-index"}, true},
		"public.fresh_t":   {maintmodel.Analyze, `ANALYZE "public"."fresh_t"`, []string{"never-analyzed"}, true},
	}
	got := map[string]maintenance.Proposal{}
	for _, p := range props {
		if _, dup := got[p.Object]; dup {
			t.Errorf("two proposals for %s: %+v", p.Object, props)
		}
		got[p.Object] = p
	}
	for obj, w := range wants {
		p, ok := got[obj]
		if !ok {
			t.Errorf("no proposal for %s; proposals: %+v", obj, props)
			continue
		}
		check := strings.TrimPrefix(p.Finding, snapshot+"/")
		okCheck := false
		for _, c := range w.checks {
			okCheck = okCheck || check == c+"/"+obj
		}
		if p.Operation.Op != w.op || p.Statement != w.statement || p.Online != w.online || !okCheck ||
			p.Source != "diagnosis" || p.Database != "hall" || p.Lock == "" || p.LockFor <= 0 || p.Gain == "" || p.Reason == "" {
			t.Errorf("%s: %+v, want %+v naming a finding of %s", obj, p, w, snapshot)
		}
	}
	if p := got["public.bloat_t"]; p.GainBytes <= 0 || p.Bytes <= 0 {
		t.Errorf("VACUUM FULL without its size or gain: %+v", p)
	}
	for obj := range got {
		if _, ok := wants[obj]; !ok {
			t.Errorf("unexpected proposal for %s: %+v", obj, got[obj])
		}
	}
}
