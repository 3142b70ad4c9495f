package restore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/repotest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

func TestMain(m *testing.M) { harness.Main(m) }

var dbSeq atomic.Int64

// fixture is a source database with one full backup in a fresh repository,
// a fresh catalog, and a scratch target on the other server.
type fixture struct {
	dst     *harness.Postgres
	eng     engines.Engine
	repo    *repository.Repo
	repoDir string
	cat     *catalog.Catalog
	full    *repository.Manifest
	target  restore.Target
	src     engines.Conn // the source database, for a later backup
}

const hall = `
CREATE SCHEMA hall;
CREATE TABLE hall.tickets (id bigint PRIMARY KEY, window_no text NOT NULL, citizen text, issued_at timestamptz NOT NULL);
INSERT INTO hall.tickets SELECT g, 'A' || (g % 12), '市民' || g, '2026-03-01 08:00+08'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 20000) g;
CREATE TABLE hall.ratings (id serial PRIMARY KEY, ticket_id bigint REFERENCES hall.tickets(id), score int);
INSERT INTO hall.ratings (ticket_id, score) SELECT g, 1 + g % 5 FROM generate_series(1, 2000) g;
`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	src, dst := harness.SourcePostgres(t), harness.TargetPostgres(t)
	db := fmt.Sprintf("scratch_src_%d", dbSeq.Add(1))
	src.Exec(t, "postgres", "CREATE DATABASE "+db)
	t.Cleanup(func() { src.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	src.Exec(t, db, hall)
	f := &fixture{dst: dst, eng: postgres.New(), repoDir: t.TempDir(),
		target: restore.Target{Name: "scratch", Conn: engines.Conn{DSN: dst.DSN("postgres")}, Scratch: true}}
	st, err := local.New(f.repoDir)
	if err != nil {
		t.Fatal(err)
	}
	if f.repo, err = repository.Init(t.Context(), st, secret.New("scratch test passphrase")); err != nil {
		t.Fatal(err)
	}
	if f.cat, err = catalog.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cat.Close() })
	res, err := backup.Run(t.Context(), backup.Job{Database: "hall", Engine: f.eng, Conn: engines.Conn{DSN: src.DSN(db)},
		Type: repository.Full, Parallel: 2, Repo: f.repo, Catalog: f.cat, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.full = res.Manifest
	f.src = engines.Conn{DSN: src.DSN(db)}
	return f
}

func (f *fixture) request() restore.Request {
	return restore.Request{Database: "hall", Engine: f.eng, Repo: f.repo, Catalog: f.cat, Target: f.target, Parallel: 2, Trigger: "test"}
}

func (f *fixture) exists(t *testing.T, name string) bool {
	t.Helper()
	ok, err := f.eng.DatabaseExists(t.Context(), f.target.Conn, name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (f *fixture) ledger(t *testing.T, name string) []catalog.Scratch {
	t.Helper()
	rows, err := f.cat.ScratchDatabases(t.Context(), catalog.ScratchFilter{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// createForeign creates name on the target with a marker row, as somebody
// other than dbopsd would, and drops it at the end of the test.
func (f *fixture) createForeign(t *testing.T, name string) {
	t.Helper()
	f.dst.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %q", name))
	t.Cleanup(func() { f.dst.Exec(t, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", name)) })
	f.dst.Exec(t, name, "CREATE TABLE keep_me (note text); INSERT INTO keep_me VALUES ('not dbopsd''s')")
}

func TestVerifyRecordsScratchDatabase(t *testing.T) {
	f := newFixture(t)
	v, err := restore.Verify(t.Context(), f.request())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	rows := f.ledger(t, v.Scratch)
	if len(rows) != 1 {
		t.Fatalf("ledger rows for %s: %+v", v.Scratch, rows)
	}
	r := rows[0]
	if r.State != catalog.ScratchDropped || r.Purpose != restore.PurposeVerify || r.JobID != v.JobID || r.Target != "scratch" ||
		r.Server != fmt.Sprintf("127.0.0.1:%d", f.dst.Port) || r.Engine != "postgres" || r.BackupID != f.full.ID ||
		r.DroppedAt.Before(r.CreatedAt) || r.CreatedAt.IsZero() {
		t.Errorf("ledger row: %+v", r)
	}
	if f.exists(t, v.Scratch) {
		t.Errorf("verify left %s", v.Scratch)
	}
}

// A database with the scratch name that the ledger does not know is never
// replaced or dropped: the verification fails and says why.
func TestVerifyLeavesDatabaseNotInLedger(t *testing.T) {
	f := newFixture(t)
	name := restore.ScratchName("hall", f.full.ID)
	f.createForeign(t, name)
	v, err := restore.Verify(t.Context(), f.request())
	var verr *restore.VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("verify over a foreign database: %v", err)
	}
	if v.Verified || !strings.Contains(strings.Join(v.Problems, " "), "scratch ledger has no record") {
		t.Errorf("problems: %q", v.Problems)
	}
	if got := f.dst.QueryString(t, name, "SELECT note FROM keep_me"); got != "not dbopsd's" {
		t.Errorf("the foreign database was changed: %q", got)
	}
	if rows := f.ledger(t, name); len(rows) != 1 || rows[0].State != catalog.ScratchNotCreated {
		t.Errorf("ledger: %+v", rows)
	}
	// Nor does a cleanup touch it.
	rep, err := restore.CleanupStale(t.Context(), restore.Cleanup{Catalog: f.cat, Before: time.Now().Add(time.Hour), Kept: true,
		Targets: []restore.CleanupTarget{{Target: f.target, Engine: f.eng}}})
	if err != nil || len(rep.Dropped) != 0 || !f.exists(t, name) {
		t.Errorf("cleanup: %+v %v", rep, err)
	}
}

// A leftover of dbopsd's own crash is replaced, and the ledger says so.
func TestVerifyReplacesItsOwnLeftover(t *testing.T) {
	f := newFixture(t)
	name := restore.ScratchName("hall", f.full.ID)
	f.createForeign(t, name) // the half-restored copy of the crashed job
	job, err := f.cat.StartJob(t.Context(), catalog.Job{Kind: "verify", Database: "hall", Target: "scratch", TargetDatabase: name})
	if err != nil {
		t.Fatal(err)
	}
	old, err := f.cat.RecordScratch(t.Context(), catalog.Scratch{Target: "scratch", Server: restore.ServerOf(f.eng, f.target.Conn),
		Engine: "postgres", Name: name, Purpose: restore.PurposeVerify, JobID: job, CreatedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// While that job counts as running, the name is in use.
	if _, err := restore.Verify(t.Context(), f.request()); !errors.Is(err, restore.ErrScratchInUse) {
		t.Fatalf("verify while the job that made %s runs: %v", name, err)
	}
	if _, err := f.cat.AbandonRunning(t.Context(), "test: the process died"); err != nil {
		t.Fatal(err)
	}
	v, err := restore.Verify(t.Context(), f.request())
	if err != nil || !v.Verified {
		t.Fatalf("verify over its own leftover: %+v %v", v, err)
	}
	rows := f.ledger(t, name)
	states := map[int64]catalog.Scratch{}
	for _, r := range rows {
		states[r.ID] = r
	}
	if r := states[old]; r.State != catalog.ScratchDropped || !strings.Contains(r.Note, "replaced by job") {
		t.Errorf("the leftover's row: %+v", r)
	}
	// The refused attempt claimed nothing: the leftover's row and this one.
	if len(rows) != 2 || rows[1].State != catalog.ScratchDropped || rows[1].JobID != v.JobID {
		t.Errorf("ledger: %+v", rows)
	}
	if f.exists(t, name) {
		t.Errorf("%s still exists", name)
	}
}

func TestClaimScratchRefusesNonScratchTarget(t *testing.T) {
	f := newFixture(t)
	tg := f.target
	tg.Scratch, tg.AllowRestore = false, true
	if _, err := restore.ClaimScratch(t.Context(), restore.ScratchSpec{Catalog: f.cat, Engine: f.eng, Target: tg, Name: "dbopsd_verify_x"}); err == nil {
		t.Fatal("claimed a scratch database on a non-scratch target")
	}
	tg = f.target
	tg.Scratch = false
	if _, err := restore.Verify(t.Context(), restore.Request{Database: "hall", Engine: f.eng, Repo: f.repo, Catalog: f.cat, Target: tg}); err == nil {
		t.Fatal("verified onto a non-scratch target")
	}
}

// wrongStats is the PostgreSQL engine with one table's checksum misread,
// so that a verification fails after a complete restore.
type wrongStats struct{ engines.Engine }

func (w wrongStats) TableStats(ctx context.Context, target engines.Conn, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	got, err := w.Engine.TableStats(ctx, target, database, tables)
	if err == nil && len(got) > 0 {
		got[0].Checksum = "00000000000000000000000000000000"
	}
	return got, err
}

// keep_on_failure keeps a failed verification's copy as "kept"; a cleanup
// drops it only when asked to. A copy the engine already removed (the
// restore itself failed) is not kept.
func TestVerifyKeepOnFailure(t *testing.T) {
	f := newFixture(t)
	req := f.request()
	req.Engine = wrongStats{f.eng}
	req.Target.KeepOnFailure = true
	v, err := restore.Verify(t.Context(), req)
	var verr *restore.VerifyError
	if !errors.As(err, &verr) || !v.Kept || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("verify with wrong statistics: %+v %v", v, err)
	}
	t.Cleanup(func() { f.dst.Exec(t, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", v.Scratch)) })
	if rows := f.ledger(t, v.Scratch); len(rows) != 1 || rows[0].State != catalog.ScratchKept {
		t.Fatalf("ledger: %+v", rows)
	}
	if !f.exists(t, v.Scratch) {
		t.Fatalf("the kept copy %s is gone", v.Scratch)
	}
	c := restore.Cleanup{Catalog: f.cat, Before: time.Now().Add(time.Minute), Targets: []restore.CleanupTarget{{Target: f.target, Engine: f.eng}}}
	if rep, err := restore.CleanupStale(t.Context(), c); err != nil || len(rep.Dropped) != 0 || !f.exists(t, v.Scratch) {
		t.Fatalf("cleanup without Kept: %+v %v", rep, err)
	}
	c.Kept = true
	if rep, err := restore.CleanupStale(t.Context(), c); err != nil || len(rep.Dropped) != 1 || f.exists(t, v.Scratch) {
		t.Fatalf("cleanup with Kept: %+v %v", rep, err)
	}

	// A damaged backup: the restore fails, the engine removes its half
	// copy, and there is nothing to keep.
	repotest.DamageLargestChunk(t, f.repoDir)
	req.Engine = f.eng
	v, err = restore.Verify(t.Context(), req)
	if !errors.As(err, &verr) || v.Kept || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("verify of a damaged backup: %+v %v", v, err)
	}
	if rows := f.ledger(t, v.Scratch); len(rows) != 2 || rows[1].State != catalog.ScratchDropped || f.exists(t, v.Scratch) {
		t.Fatalf("after a failed restore: ledger %+v", rows)
	}
}

// CleanupStale drops what the ledger says dbopsd created before the cut-off
// and never dropped, and only that.
func TestCleanupStale(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	suffix := randHex(t)
	server := restore.ServerOf(f.eng, f.target.Conn)
	now := time.Now()
	type row struct {
		name     string
		create   bool // the database exists on the target
		record   bool // the ledger has it
		target   string
		server   string
		created  time.Time
		state    string
		dropped  bool   // CleanupStale drops it
		leftWhy  string // CleanupStale reports it as left, with this in the reason
		survives bool
	}
	rows := []row{
		{name: "crashed", create: true, record: true, created: now.Add(-time.Hour), dropped: true},
		{name: "never_created", record: true, created: now.Add(-time.Hour), dropped: true},
		{name: "stranger", create: true, survives: true},
		{name: "running", create: true, record: true, created: now, survives: true},
		{name: "kept", create: true, record: true, created: now.Add(-time.Hour), state: catalog.ScratchKept, survives: true},
		{name: "moved", create: true, record: true, created: now.Add(-time.Hour), server: "10.9.9.9:5432", leftWhy: "now names server", survives: true},
		{name: "gone", create: true, record: true, created: now.Add(-time.Hour), target: "old-target", leftWhy: "no longer in the policy", survives: true},
		{name: "demoted", create: true, record: true, created: now.Add(-time.Hour), target: "not-scratch", leftWhy: "no longer a scratch target", survives: true},
	}
	ids := map[string]int64{}
	for i := range rows {
		r := &rows[i]
		r.name = "dbopsd_verify_" + r.name + "_" + suffix
		if r.create {
			f.createForeign(t, r.name)
		} else {
			t.Cleanup(func() { f.dst.Exec(t, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", r.name)) })
		}
		if !r.record {
			continue
		}
		if r.target == "" {
			r.target = "scratch"
		}
		if r.server == "" {
			r.server = server
		}
		id, err := f.cat.RecordScratch(ctx, catalog.Scratch{Target: r.target, Server: r.server, Engine: "postgres", Name: r.name,
			Purpose: restore.PurposeVerify, CreatedAt: r.created})
		if err != nil {
			t.Fatal(err)
		}
		if r.state != "" {
			if err := f.cat.SetScratchState(ctx, id, r.state, "test"); err != nil {
				t.Fatal(err)
			}
		}
		ids[r.name] = id
	}
	rep, err := restore.CleanupStale(ctx, restore.Cleanup{Catalog: f.cat, Before: now.Add(-time.Minute),
		Targets: []restore.CleanupTarget{{Target: f.target, Engine: f.eng}, {Target: restore.Target{Name: "not-scratch", Conn: f.target.Conn}, Engine: f.eng}}})
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	var dropped []string
	for _, d := range rep.Dropped {
		dropped = append(dropped, d.Name)
	}
	left := map[string]string{}
	for _, l := range rep.Left {
		left[l.Name] = l.Reason
	}
	for _, r := range rows {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(r.name, "dbopsd_verify_"), "_"+suffix), func(t *testing.T) {
			if got := slices.Contains(dropped, r.name); got != r.dropped {
				t.Errorf("dropped = %v, want %v (report %+v)", got, r.dropped, rep)
			}
			if r.leftWhy != "" && !strings.Contains(left[r.name], r.leftWhy) {
				t.Errorf("left with reason %q, want %q", left[r.name], r.leftWhy)
			}
			if r.create && f.exists(t, r.name) != r.survives {
				t.Errorf("exists = %v, want %v", !r.survives, r.survives)
			}
			if r.record {
				got := f.ledger(t, r.name)
				want := catalog.ScratchCreated
				switch {
				case r.dropped:
					want = catalog.ScratchDropped
				case r.state != "":
					want = r.state
				}
				if len(got) != 1 || got[0].State != want {
					t.Errorf("ledger: %+v, want state %s", got, want)
				}
			}
			if r.name == rows[2].name {
				// The stranger is still exactly as it was.
				if got := f.dst.QueryString(t, r.name, "SELECT note FROM keep_me"); got != "not dbopsd's" {
					t.Errorf("stranger changed: %q", got)
				}
			}
		})
	}
	if _, err := restore.CleanupStale(ctx, restore.Cleanup{Catalog: f.cat}); err == nil {
		t.Error("cleanup without a cut-off time ran")
	}
}

func randHex(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// TestRestoreRecordsNotes: what the engine says about a restore reaches
// the result and the catalog job in both forms, English and Notes. A table
// restore of hall.ratings alone cannot create its foreign key to
// hall.tickets.
func TestRestoreRecordsNotes(t *testing.T) {
	f := newFixture(t)
	as := fmt.Sprintf("restore_notes_%d", dbSeq.Add(1))
	t.Cleanup(func() { f.eng.DropDatabase(context.Background(), f.target.Conn, as) })
	req := f.request()
	req.As, req.Tables = as, []engines.TableRef{{Schema: "hall", Name: "ratings"}}
	res, err := restore.Restore(t.Context(), req)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	fk := engines.Note{Key: postgres.NoteForeignKeyNotCreated, Params: engines.Params{
		"constraint": "ratings_ticket_id_fkey", "table": "hall.ratings", "references": "hall.tickets", "database": as}}
	if i := slices.IndexFunc(res.Report.SkippedMessages, func(n engines.Note) bool { return reflect.DeepEqual(n, fk) }); i < 0 ||
		len(res.Report.Skipped) != len(res.Report.SkippedMessages) || res.Report.Skipped[i] != fk.English() {
		t.Fatalf("restore report: %+v, want %+v", res.Report, fk)
	}
	jobs, err := f.cat.Jobs(t.Context(), catalog.JobFilter{Kind: "restore"})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(jobs, func(j catalog.Job) bool { return j.ID == res.JobID })
	if i < 0 {
		t.Fatalf("no catalog job %d: %+v", res.JobID, jobs)
	}
	details, _ := json.Marshal(jobs[i].Details)
	for _, want := range []string{`"skipped":[`, fk.English(), `"skipped_messages":[`, `"key":"` + postgres.NoteForeignKeyNotCreated + `"`} {
		if !strings.Contains(string(details), want) {
			t.Errorf("catalog job details lack %q: %s", want, details)
		}
	}
}
