package drill_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/dbopsd/dbopsd/internal/repotest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/html"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/postgres"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage/local"
)

func TestMain(m *testing.M) { harness.Main(m) }

var seq atomic.Int64

const hall = `
CREATE SCHEMA hall;
CREATE TABLE hall.tickets (id bigint PRIMARY KEY, window_no text NOT NULL, citizen text, note text, issued_at timestamptz NOT NULL);
COMMENT ON TABLE hall.tickets IS '取号记录';
INSERT INTO hall.tickets SELECT g, 'A' || (g % 12), '市民' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE E'备注\t' || g END,
  '2026-03-01 08:00+08'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 30000) g;
CREATE TABLE hall.ratings (id serial PRIMARY KEY, ticket_id bigint REFERENCES hall.tickets(id), score int CHECK (score BETWEEN 1 AND 5));
INSERT INTO hall.ratings (ticket_id, score) SELECT g, 1 + g % 5 FROM generate_series(1, 3000) g;
CREATE INDEX ratings_score ON hall.ratings (score);
`

// testSite is a policy (requesttest's, pointed at the test servers), a
// source database with a full and a differential backup in a local
// repository, the catalog in the policy's state directory, and a Gate.
//
// Targets: "scratch-local" is a scratch target on the source's own server
// (full drills), "scratch-pg" one on the other server (redirected drills).
type testSite struct {
	src, dst   *harness.Postgres
	srcDB      string
	rs         *requesttest.Site
	cfg        *config.Config
	eng        engines.Engine
	repo       *repository.Repo
	repoDir    string
	cat        *catalog.Catalog
	gate       *request.Gate
	full, diff *repository.Manifest
}

func newSite(t *testing.T, differential bool) *testSite {
	t.Helper()
	s := &testSite{src: harness.SourcePostgres(t), dst: harness.TargetPostgres(t), srcDB: fmt.Sprintf("drill_src_%d", seq.Add(1)),
		rs: requesttest.NewSite(t), eng: postgres.New(), repoDir: t.TempDir()}
	s.src.Exec(t, "postgres", "CREATE DATABASE "+s.srcDB)
	t.Cleanup(func() { s.src.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+s.srcDB+" WITH (FORCE)") })
	s.src.Exec(t, s.srcDB, hall)

	s.cfg = s.rs.Config
	s.cfg.Databases["queue"].DSN = s.src.DSN(s.srcDB)
	s.cfg.RestoreTargets["scratch-pg"].DSN = s.dst.DSN("postgres")
	s.cfg.RestoreTargets["scratch-local"] = &config.RestoreTarget{Name: "scratch-local", Engine: "postgres", DSN: s.src.DSN("postgres"), Scratch: true}

	st, err := local.New(s.repoDir)
	if err != nil {
		t.Fatal(err)
	}
	if s.repo, err = repository.Init(t.Context(), st, secret.New("drill test passphrase")); err != nil {
		t.Fatal(err)
	}
	if s.cat, err = catalog.Open(s.cfg.Daemon.StateDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cat.Close() })
	job := backup.Job{Database: "queue", Engine: s.eng, Conn: site.SourceConn(s.cfg, s.cfg.Databases["queue"]), Type: repository.Full,
		Parallel: 2, Repo: s.repo, Catalog: s.cat, Trigger: "test"}
	res, err := backup.Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	s.full = res.Manifest
	if differential {
		s.src.Exec(t, s.srcDB, `UPDATE hall.ratings SET score = 5 WHERE id <= 100;
			INSERT INTO hall.tickets SELECT g, 'B1', '新市民' || g, '', now() FROM generate_series(30001, 30500) g`)
		job.Type = repository.Differential
		if res, err = backup.Run(t.Context(), job); err != nil {
			t.Fatal(err)
		}
		s.diff = res.Manifest
	}

	nonces, err := request.OpenNonceStore(s.cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := register.Open(s.cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nonces.Close(); reg.Close() })
	s.gate = &request.Gate{Config: s.cfg, Nonces: nonces, Register: reg,
		Exists: func(ctx context.Context, t *config.RestoreTarget, name string) (bool, error) {
			return s.eng.DatabaseExists(ctx, site.TargetConn(s.cfg, t), name)
		}}
	return s
}

// accept signs a drill request (requester and one approver) and passes it
// through the Gate, as the daemon does.
func (s *testSite) accept(t *testing.T, p request.Parameters) *request.Accepted {
	t.Helper()
	p.Database = "queue"
	r, err := request.New(request.Draft{Action: request.ActionDrill, Parameters: p, Requester: requesttest.DBA,
		Reason: "季度灾难恢复演练 <第一季度>"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.rs.Sign(t, r, requesttest.DBA)
	s.rs.Sign(t, r, requesttest.Approver)
	acc, err := s.gate.Receive(t.Context(), bytes.NewReader(r.Marshal()), "test")
	if err != nil {
		t.Fatalf("the gate refused the drill: %v", err)
	}
	return acc
}

// run is the daemon's part: spec from the request, backup resolved,
// started and finished in the register.
func (s *testSite) run(t *testing.T, acc *request.Accepted, keep bool) (*drill.Report, error) {
	t.Helper()
	spec, err := site.DrillSpec(s.cfg, acc, site.Run{Repo: s.repo, Catalog: s.cat})
	if err != nil {
		t.Fatal(err)
	}
	spec.Keep = keep
	m, err := s.repo.FindBackup(t.Context(), spec.Database, spec.BackupID)
	if err != nil {
		t.Fatal(err)
	}
	spec.BackupID = m.ID
	if err := s.gate.Started(acc, m.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := drill.Run(t.Context(), spec)
	if rep == nil {
		t.Fatalf("drill: no report: %v", err)
	}
	if ferr := s.gate.Finished(acc, rep.BackupID(), rep.Took(), err); ferr != nil {
		t.Fatal(ferr)
	}
	return rep, err
}

func (s *testSite) exists(t *testing.T, target, name string) bool {
	t.Helper()
	ok, err := s.eng.DatabaseExists(t.Context(), site.TargetConn(s.cfg, s.cfg.RestoreTargets[target]), name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (s *testSite) ledger(t *testing.T, name string) []catalog.Scratch {
	t.Helper()
	rows, err := s.cat.ScratchDatabases(t.Context(), catalog.ScratchFilter{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (s *testSite) server(target string) *harness.Postgres {
	if target == "scratch-local" {
		return s.src
	}
	return s.dst
}

func dropAtCleanup(t *testing.T, pg *harness.Postgres, name string) {
	t.Cleanup(func() { pg.Exec(t, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", name)) })
}

func fingerprint(t *testing.T, line string) string {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(pub)
}

// TestScenarios runs the three drill scenarios from signed requests,
// through the Gate, and checks the reports, the catalog, the scratch ledger
// and the register.
func TestScenarios(t *testing.T) {
	s := newSite(t, true)
	suffix := seq.Add(1)
	cases := []struct {
		name     string
		target   string
		tables   []string
		keep     bool
		scenario string
		foreign  bool // the database exists beforehand, made by someone else
		dispo    string
		ledger   string // the ledger row's state; "" = no row survives as dbopsd's
		survives bool
	}{
		{name: "full", target: "scratch-local", scenario: drill.ScenarioFull, dispo: drill.Dropped, ledger: catalog.ScratchDropped},
		{name: "table", target: "scratch-pg", tables: []string{"hall.tickets"}, scenario: drill.ScenarioTable, dispo: drill.Dropped, ledger: catalog.ScratchDropped},
		{name: "redirected", target: "scratch-pg", scenario: drill.ScenarioRedirected, dispo: drill.Dropped, ledger: catalog.ScratchDropped},
		{name: "redirected_keep", target: "scratch-pg", keep: true, scenario: drill.ScenarioRedirected, dispo: drill.Kept, ledger: catalog.ScratchKept, survives: true},
		{name: "table_into_existing", target: "scratch-pg", tables: []string{"hall.ratings"}, foreign: true, scenario: drill.ScenarioTable,
			dispo: drill.Left, ledger: catalog.ScratchNotCreated, survives: true},
	}
	var ids []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := fmt.Sprintf("drill_%s_%d", c.name, suffix)
			pg := s.server(c.target)
			dropAtCleanup(t, pg, as)
			if c.foreign {
				pg.Exec(t, "postgres", "CREATE DATABASE "+as)
				pg.Exec(t, as, "CREATE TABLE keep_me (note text); INSERT INTO keep_me VALUES ('not dbopsd''s')")
			}
			acc := s.accept(t, request.Parameters{Target: c.target, As: as, Tables: c.tables})
			rep, err := s.run(t, acc, c.keep)
			if err != nil {
				t.Fatalf("drill: %v\n%+v", err, rep.Checks)
			}
			ids = append(ids, rep.ID)
			t.Logf("%s: restore %s, statistics %s, integrity %s, total %s", c.name, rep.Timings.Restore, rep.Timings.Compare, rep.Timings.Integrity, rep.Timings.Total)

			if rep.ID != acc.Request.ID || rep.Scenario != c.scenario || rep.Verdict != drill.Pass || !rep.Passed() || len(rep.Problems) > 0 {
				t.Errorf("report: id %s scenario %s verdict %s problems %q", rep.ID, rep.Scenario, rep.Verdict, rep.Problems)
			}
			checkRequest(t, s, acc, rep)
			checkBackup(t, s, rep)
			var names, statuses []string
			for _, ch := range rep.Checks {
				names, statuses = append(names, ch.Name), append(statuses, ch.Status)
			}
			if strings.Join(names, ",") != "backup,restore,statistics,integrity,cleanup" || strings.Join(statuses, ",") != "pass,pass,pass,pass,pass" {
				t.Errorf("checks: %+v", rep.Checks)
			}
			tm := rep.Timings
			if tm.Restore <= 0 || tm.Compare <= 0 || tm.Integrity <= 0 || tm.Checks != tm.Compare+tm.Integrity || tm.Total < tm.Restore+tm.Checks || rep.BytesRead <= 0 {
				t.Errorf("timings: %+v, bytes %d", tm, rep.BytesRead)
			}
			wantTables := c.tables
			if len(wantTables) == 0 {
				wantTables = []string{"hall.ratings", "hall.tickets"}
			}
			var got []string
			for _, tr := range rep.Tables {
				got = append(got, tr.Table)
				if !tr.Equal || tr.BackupRows == 0 || tr.BackupChecksum != tr.RestoredChecksum {
					t.Errorf("table %+v", tr)
				}
			}
			if !slices.Equal(got, wantTables) {
				t.Errorf("tables compared: %v, want %v", got, wantTables)
			}
			if rep.Integrity == nil || !strings.Contains(rep.Integrity.Tool, "pg_amcheck") {
				t.Errorf("integrity: %+v", rep.Integrity)
			}

			// The copy: dropped, kept or left, as the ledger says.
			if rep.Target.Disposition != c.dispo || rep.Target.Database != as || rep.Target.Name != c.target {
				t.Errorf("target: %+v", rep.Target)
			}
			if got := s.exists(t, c.target, as); got != c.survives {
				t.Errorf("%s exists after the drill: %v, want %v", as, got, c.survives)
			}
			if rows := s.ledger(t, as); len(rows) != 1 || rows[0].State != c.ledger || rows[0].Purpose != restore.PurposeDrill ||
				rows[0].JobID != rep.JobID || rows[0].Target != c.target {
				t.Errorf("ledger: %+v", rows)
			}
			if c.foreign {
				if got := pg.QueryString(t, as, "SELECT note FROM keep_me") + "/" + pg.QueryString(t, as, "SELECT count(*) FROM hall.ratings"); got != "not dbopsd's/3000" {
					t.Errorf("the existing database: %s", got)
				}
			}

			// The catalog job, the stored report, the register.
			jobs, err := s.cat.Jobs(t.Context(), catalog.JobFilter{Kind: drill.JobKind})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(jobs, func(j catalog.Job) bool { return j.ID == rep.JobID })
			if i < 0 || jobs[i].Status != catalog.StatusOK || jobs[i].Details["drill"] != rep.ID || jobs[i].BackupID != s.diff.ID ||
				jobs[i].TargetDatabase != as || jobs[i].Trigger != "request" {
				t.Errorf("catalog job %d: %+v", rep.JobID, jobs)
			}
			stored, err := drill.Load(s.cfg.Daemon.StateDir, rep.ID)
			if err != nil || stored.Verdict != drill.Pass || stored.Timings != rep.Timings || stored.Request.Digest != acc.Digest {
				t.Errorf("stored report: %+v %v", stored, err)
			}
			_, htmlPath := drill.Paths(s.cfg.Daemon.StateDir, rep.ID)
			page, err := os.ReadFile(htmlPath)
			if err != nil {
				t.Fatal(err)
			}
			checkHTML(t, page, drill.LangZH, rep)
			checkRegister(t, s, acc)
		})
	}
	list, err := drill.List(s.cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, r := range list {
		listed = append(listed, r.ID)
	}
	if !slices.Equal(listed, ids) {
		t.Errorf("list: %v, want %v", listed, ids)
	}
}

func checkRequest(t *testing.T, s *testSite, acc *request.Accepted, rep *drill.Report) {
	t.Helper()
	q := rep.Request
	if q == nil || q.ID != acc.Request.ID || q.Action != "drill" || q.Requester != requesttest.DBA ||
		!slices.Equal(q.Approvers, []string{requesttest.Approver}) || q.Reason != acc.Request.Reason || q.Digest != acc.Digest ||
		q.RegisterRef != acc.Ref || q.Parameters.As != acc.Request.Parameters.As {
		t.Fatalf("request in the report: %+v", q)
	}
	want := []drill.SignatureInfo{
		{Signer: requesttest.DBA, Role: drill.RoleRequester, KeyType: ssh.KeyAlgoED25519, Fingerprint: fingerprint(t, s.rs.Keys[requesttest.DBA].Line)},
		{Signer: requesttest.Approver, Role: drill.RoleApprover, KeyType: ssh.KeyAlgoED25519, Fingerprint: fingerprint(t, s.rs.Keys[requesttest.Approver].Line)},
	}
	if !slices.Equal(q.Signatures, want) {
		t.Errorf("signatures: %+v, want %+v", q.Signatures, want)
	}
}

func checkBackup(t *testing.T, s *testSite, rep *drill.Report) {
	t.Helper()
	b := rep.Backup
	if b == nil || b.ID != s.diff.ID || b.Type != repository.Differential || b.Base != s.full.ID || b.Rows != 33500 || b.Tables != 2 {
		t.Errorf("backup: %+v", b)
	}
	if len(rep.Chain) != 2 || rep.Chain[0].ID != s.full.ID || rep.Chain[0].Type != repository.Full || rep.Chain[0].Rows != 33000 ||
		rep.Chain[1].ID != s.diff.ID {
		t.Errorf("chain: %+v", rep.Chain)
	}
}

func checkRegister(t *testing.T, s *testSite, acc *request.Accepted) {
	t.Helper()
	es, err := register.ReadFile(s.gate.Register.Path())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		if e.Request == acc.Request.ID {
			kinds = append(kinds, string(e.Kind))
			if e.Kind == register.Finished && (e.Outcome != register.Succeeded || e.Backup != s.diff.ID) {
				t.Errorf("finished entry: %+v", e)
			}
		}
	}
	if strings.Join(kinds, ",") != "received,approved,accepted,started,finished" {
		t.Errorf("register entries of %s: %v", acc.Request.ID, kinds)
	}
}

// TestDamagedBackup: a drill from a backup with a damaged chunk fails, says
// why, and leaves nothing behind.
func TestDamagedBackup(t *testing.T) {
	s := newSite(t, false)
	repotest.DamageLargestChunk(t, s.repoDir)
	as := fmt.Sprintf("drill_damaged_%d", seq.Add(1))
	dropAtCleanup(t, s.dst, as)
	tg := s.cfg.RestoreTargets["scratch-pg"]
	rep, err := drill.Run(t.Context(), drill.Spec{
		Database: "queue", Engine: s.eng, Repo: s.repo, Catalog: s.cat,
		Target: restore.Target{Name: tg.Name, Conn: site.TargetConn(s.cfg, tg), Scratch: true, KeepOnFailure: true},
		As:     as, StateDir: s.cfg.Daemon.StateDir, Language: "en", Trigger: "test", SourceServer: s.cfg.Databases["queue"].Server(),
	})
	var failed *drill.FailedError
	if !errors.As(err, &failed) || rep == nil {
		t.Fatalf("drill from a damaged backup: %v", err)
	}
	t.Logf("problems: %q", rep.Problems)
	if rep.Verdict != drill.Fail || rep.Passed() || len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0], "restore: ") ||
		!strings.Contains(rep.Problems[0], "damaged") || !strings.Contains(err.Error(), "damaged") || failed.ID != rep.ID {
		t.Errorf("report: verdict %s problems %q", rep.Verdict, rep.Problems)
	}
	var statuses []string
	for _, c := range rep.Checks {
		statuses = append(statuses, c.Name+"="+c.Status)
	}
	if got := strings.Join(statuses, ","); got != "backup=pass,restore=fail,statistics=skip,integrity=skip,cleanup=pass" {
		t.Errorf("checks: %s", got)
	}
	if rep.Backup == nil || rep.Backup.ID != s.full.ID || len(rep.Chain) != 1 || rep.Request != nil || rep.Scenario != drill.ScenarioRedirected {
		t.Errorf("report: backup %+v chain %+v request %+v scenario %s", rep.Backup, rep.Chain, rep.Request, rep.Scenario)
	}
	if rep.Timings.Restore <= 0 || rep.Timings.Total < rep.Timings.Restore {
		t.Errorf("timings: %+v", rep.Timings)
	}
	if s.exists(t, "scratch-pg", as) || rep.Target.Disposition != drill.Dropped {
		t.Errorf("the half-restored copy: exists %v, disposition %+v", s.exists(t, "scratch-pg", as), rep.Target)
	}
	if rows := s.ledger(t, as); len(rows) != 1 || rows[0].State != catalog.ScratchDropped {
		t.Errorf("ledger: %+v", rows)
	}
	jobs, err := s.cat.Jobs(t.Context(), catalog.JobFilter{Kind: drill.JobKind})
	if err != nil || len(jobs) != 1 || jobs[0].Status != catalog.StatusFailed || !strings.Contains(jobs[0].Error, "damaged") {
		t.Errorf("catalog: %+v %v", jobs, err)
	}
	stored, err := drill.Load(s.cfg.Daemon.StateDir, rep.ID)
	if err != nil || stored.Verdict != drill.Fail || !slices.Equal(stored.Problems, rep.Problems) {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	_, htmlPath := drill.Paths(s.cfg.Daemon.StateDir, rep.ID)
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	checkHTML(t, page, drill.LangEN, rep)
	var zh bytes.Buffer
	if err := drill.WriteHTML(&zh, stored, drill.HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, zh.Bytes(), drill.LangZH, rep)
}

// TestSpecErrors: what Run and site.DrillSpec refuse before doing anything.
func TestSpecErrors(t *testing.T) {
	s := newSite(t, false)
	tg := s.cfg.RestoreTargets["scratch-pg"]
	good := drill.Spec{Database: "queue", Engine: s.eng, Repo: s.repo, Catalog: s.cat, As: "drill_never",
		Target: restore.Target{Name: tg.Name, Conn: site.TargetConn(s.cfg, tg), Scratch: true}}
	cases := map[string]func(*drill.Spec){
		"no engine":                     func(sp *drill.Spec) { sp.Engine = nil },
		"no repository":                 func(sp *drill.Spec) { sp.Repo = nil },
		"no name":                       func(sp *drill.Spec) { sp.As = "" },
		"protected target":              func(sp *drill.Spec) { sp.Target.Scratch = false },
		"bad id":                        func(sp *drill.Spec) { sp.ID = "../x" },
		"table scenario without tables": func(sp *drill.Spec) { sp.Scenario = drill.ScenarioTable },
		"unknown scenario":              func(sp *drill.Spec) { sp.Scenario = "tabletop" },
		"bad language":                  func(sp *drill.Spec) { sp.Language = "fr" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			sp := good
			mutate(&sp)
			if rep, err := drill.Run(t.Context(), sp); err == nil || rep != nil {
				t.Fatalf("ran: %+v", rep)
			}
		})
	}
	if jobs, _ := s.cat.Jobs(t.Context(), catalog.JobFilter{Kind: drill.JobKind}); len(jobs) != 0 {
		t.Errorf("refused specs left jobs: %+v", jobs)
	}
	acc := s.accept(t, request.Parameters{Target: "scratch-pg", As: "drill_never"})
	acc.Request.Action = request.ActionRestore
	if _, err := site.DrillSpec(s.cfg, acc, site.Run{Repo: s.repo}); err == nil {
		t.Error("site.DrillSpec took a restore request")
	}
	if _, err := drill.Load(s.cfg.Daemon.StateDir, "R-missing"); !errors.Is(err, drill.ErrNotFound) {
		t.Errorf("load of a missing report: %v", err)
	}
}

// spoilingEngine is the real PostgreSQL engine, and the test spoiling the
// restored copy on the real server between the steps of a drill: after the
// restore it deletes a ticket and changes a rating, so the statistics
// differ from the backup's; before the integrity check it closes the copy
// to connections, so the check fails with the server's own words.
type spoilingEngine struct {
	engines.Engine
	pg *harness.Postgres
	t  *testing.T
}

func (e spoilingEngine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	rep, err := e.Engine.Restore(ctx, target, req, source)
	if err == nil {
		e.pg.Exec(e.t, req.Database, "DELETE FROM hall.tickets WHERE id = 30000; UPDATE hall.ratings SET score = 1 WHERE id = 2")
	}
	return rep, err
}

func (e spoilingEngine) CheckIntegrity(ctx context.Context, target engines.Conn, database string) (*engines.IntegrityReport, error) {
	e.pg.Exec(e.t, "postgres", fmt.Sprintf("ALTER DATABASE %q ALLOW_CONNECTIONS false", database))
	return e.Engine.CheckIntegrity(ctx, target, database)
}

// TestFailedChecks: a drill whose restored copy differs from the backup
// and whose integrity check fails says so in structured form, stored in
// the JSON, and its report reads in Chinese, the server's words verbatim
// after a Chinese lead, and in English.
func TestFailedChecks(t *testing.T) {
	s := newSite(t, false)
	as := fmt.Sprintf("drill_spoiled_%d", seq.Add(1))
	dropAtCleanup(t, s.dst, as)
	tg := s.cfg.RestoreTargets["scratch-pg"]
	rep, err := drill.Run(t.Context(), drill.Spec{
		Database: "queue", Engine: spoilingEngine{Engine: s.eng, pg: s.dst, t: t}, Repo: s.repo, Catalog: s.cat,
		Target: restore.Target{Name: tg.Name, Conn: site.TargetConn(s.cfg, tg), Scratch: true},
		As:     as, StateDir: s.cfg.Daemon.StateDir, Trigger: "test", SourceServer: s.cfg.Databases["queue"].Server(),
	})
	var failed *drill.FailedError
	if !errors.As(err, &failed) || rep == nil {
		t.Fatalf("drill of a spoiled copy: %v", err)
	}
	t.Logf("problems: %q", rep.Problems)
	var got []string
	for _, c := range rep.Checks {
		key := ""
		if c.Message != nil {
			key = c.Message.Key
		}
		got = append(got, c.Name+"="+c.Status+":"+key)
	}
	if want := "backup=pass:backup.found,restore=pass:restore.database,statistics=fail:statistics.mismatch," +
		"integrity=fail:integrity.error,cleanup=pass:cleanup.dropped"; strings.Join(got, ",") != want {
		t.Fatalf("checks: %s\nwant    %s", strings.Join(got, ","), want)
	}
	stats, integ := rep.Checks[2].Message, rep.Checks[3].Message
	wantMismatches := []drill.Mismatch{
		{Table: "hall.ratings", Kind: drill.MismatchChecksum, BackupRows: 3000, RestoredRows: 3000,
			BackupChecksum: rep.Tables[0].BackupChecksum, RestoredChecksum: rep.Tables[0].RestoredChecksum},
		{Table: "hall.tickets", Kind: drill.MismatchRows, BackupRows: 30000, RestoredRows: 29999,
			BackupChecksum: rep.Tables[1].BackupChecksum, RestoredChecksum: rep.Tables[1].RestoredChecksum},
	}
	if stats.Tables != 2 || !slices.Equal(stats.Mismatches, wantMismatches) || rep.Tables[0].BackupChecksum == rep.Tables[0].RestoredChecksum {
		t.Errorf("statistics: %+v\nwant %+v", stats, wantMismatches)
	}
	// The detail is what engines.CompareStats says, after a count.
	if want := "2 of 2 table(s) differ from the backup: " + strings.Join(engines.CompareStats(s.full.Snapshot.Tables, restoredStats(rep)), "; "); rep.Checks[2].Detail != want {
		t.Errorf("statistics detail: %q\nwant %q", rep.Checks[2].Detail, want)
	}
	if !strings.Contains(integ.Error, "is not currently accepting connections") || !strings.Contains(integ.Error, as) {
		t.Errorf("integrity: %+v", integ)
	}
	if rep.Target.Disposition != drill.Dropped || rep.Target.DispositionMessage == nil || s.exists(t, "scratch-pg", as) {
		t.Errorf("target: %+v", rep.Target)
	}

	stored, err := drill.Load(s.cfg.Daemon.StateDir, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Checks, rep.Checks) || !reflect.DeepEqual(stored.Target, rep.Target) {
		t.Errorf("stored checks: %+v", stored.Checks)
	}
	pages := map[string]string{}
	for _, lang := range []string{drill.LangZH, drill.LangEN} {
		var b bytes.Buffer
		if err := drill.WriteHTML(&b, stored, drill.HTMLOptions{Language: lang}); err != nil {
			t.Fatal(err)
		}
		checkHTML(t, b.Bytes(), lang, stored)
		doc, err := html.Parse(&b)
		if err != nil {
			t.Fatal(err)
		}
		pages[lang] = textOf(doc)
	}
	zh, en := pages[drill.LangZH], pages[drill.LangEN]
	for _, s := range []string{
		"比对的 2 张表中有 2 张与备份时记录的不一致：表 hall.ratings 的行数相同，但内容校验和不同",
		"表 hall.tickets 恢复了 29999 行，备份时为 30000 行",
		"完整性检查未能完成。错误信息：" + integ.Error,
		"数据比对（行数与校验和）：比对的 2 张表",
		fmt.Sprintf("已将备份 %s 的整个数据库恢复到 scratch-pg，库名为“%s”", s.full.ID, as),
		fmt.Sprintf("已删除 scratch-pg 上的“%s”（已记入临时库登记表）", as),
		"共 2 张表、33000 行",
	} {
		if !strings.Contains(zh, s) {
			t.Errorf("the zh page lacks %q", s)
		}
	}
	for _, s := range []string{"rows restored", "backed up", "differ from the backup", "the integrity check did not complete", "restored the whole database", "recorded in the scratch ledger"} {
		if strings.Contains(zh, s) {
			t.Errorf("the zh page has %q", s)
		}
		if !strings.Contains(en, s) {
			t.Errorf("the en page lacks %q", s)
		}
	}
}

// restoredStats are the statistics of the restored copy, from the report.
func restoredStats(rep *drill.Report) []engines.TableStats {
	var out []engines.TableStats
	for _, tr := range rep.Tables {
		ref, _ := engines.ParseTableRef(tr.Table)
		out = append(out, engines.TableStats{Table: ref, Rows: tr.RestoredRows, Checksum: tr.RestoredChecksum})
	}
	return out
}

// TestEngineNotesInReport: what the engine says about a restore (here: a
// table owner role the target server lacks) travels through restore into
// the stored report as Notes, and the page reads it in Chinese, the names
// verbatim, without the engine's English.
func TestEngineNotesInReport(t *testing.T) {
	s := newSite(t, false)
	role := fmt.Sprintf("drill_owner_%d", seq.Add(1))
	s.src.Exec(t, "postgres", "CREATE ROLE "+role)
	s.src.Exec(t, s.srcDB, "ALTER TABLE hall.ratings OWNER TO "+role)
	// Runs before the source database is dropped: give its objects back.
	t.Cleanup(func() {
		s.src.Exec(t, s.srcDB, "REASSIGN OWNED BY "+role+" TO postgres; DROP OWNED BY "+role)
		s.src.Exec(t, "postgres", "DROP ROLE IF EXISTS "+role)
	})
	res, err := backup.Run(t.Context(), backup.Job{Database: "queue", Engine: s.eng, Conn: site.SourceConn(s.cfg, s.cfg.Databases["queue"]),
		Type: repository.Full, Parallel: 2, Repo: s.repo, Catalog: s.cat, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	as := fmt.Sprintf("drill_notes_%d", seq.Add(1))
	dropAtCleanup(t, s.dst, as)
	tg := s.cfg.RestoreTargets["scratch-pg"]
	rep, err := drill.Run(t.Context(), drill.Spec{
		Database: "queue", BackupID: res.Manifest.ID, Engine: s.eng, Repo: s.repo, Catalog: s.cat,
		Target: restore.Target{Name: tg.Name, Conn: site.TargetConn(s.cfg, tg), Scratch: true},
		As:     as, StateDir: s.cfg.Daemon.StateDir, Trigger: "test", SourceServer: s.cfg.Databases["queue"].Server(),
	})
	if err != nil || !rep.Passed() {
		t.Fatalf("drill: %v\n%+v", err, rep)
	}
	own := engines.Note{Key: postgres.NoteOwnershipNotRestored, Params: engines.Params{"roles": role, "user": "postgres"}}
	if rep.Restore == nil || !slices.ContainsFunc(rep.Restore.SkippedMessages, func(n engines.Note) bool { return reflect.DeepEqual(n, own) }) ||
		!slices.Contains(rep.Restore.Skipped, own.English()) {
		t.Fatalf("the report's restore notes: %+v, want %+v", rep.Restore, own)
	}

	jsonPath, htmlPath := drill.Paths(s.cfg.Daemon.StateDir, rep.ID)
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"skipped_messages"`)) || !bytes.Contains(raw, []byte(`"key": "`+postgres.NoteOwnershipNotRestored+`"`)) {
		t.Errorf("the stored JSON has no structured notes:\n%s", raw)
	}
	stored, err := drill.Load(s.cfg.Daemon.StateDir, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Restore, rep.Restore) {
		t.Errorf("stored restore report: %+v, want %+v", stored.Restore, rep.Restore)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	checkHTML(t, page, drill.LangZH, stored)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	zh := textOf(doc)
	if want := "对象的属主和授权未恢复：目标服务器上缺少角色 " + role + "；对象改归执行恢复的用户 postgres 所有"; !strings.Contains(zh, want) {
		t.Errorf("the zh page lacks %q", want)
	}
	for _, s := range stored.Restore.Skipped {
		if strings.Contains(zh, s) {
			t.Errorf("the zh page has the engine's English %q", s)
		}
	}
	var b bytes.Buffer
	if err := drill.WriteHTML(&b, stored, drill.HTMLOptions{Language: drill.LangEN}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), own.English()) {
		t.Errorf("the en page lacks %q", own.English())
	}
}
