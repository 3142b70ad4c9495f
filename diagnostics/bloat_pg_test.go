package diagnostics_test

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/secret"
)

func collectGated(t *testing.T, c engines.Conn, minBytes int64) *diagmodel.Facts {
	t.Helper()
	return collectOpts(t, "postgres", c, diagmodel.Options{Level: diagmodel.Monthly, MeasureBloatMinBytes: minBytes})
}

// tableOf returns the collected table name; a table missing from the
// facts fails the test rather than pass as "not measured".
func tableOf(t *testing.T, f *diagmodel.Facts, name string) diagmodel.Table {
	t.Helper()
	for _, x := range f.Tables {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("table %s not collected; areas %v", name, f.Areas)
	return diagmodel.Table{}
}

// TestPostgresBloatMeasured: without pgstattuple the table-bloat finding
// comes from the dead-tuple estimate and says so; with the extension the
// largest suspects above the size gate are measured with
// pgstattuple_approx, the finding says so, and a table VACUUM emptied
// (no dead tuples left for the estimate, its pages free) is found only by
// the measurement. A table below the gate is not measured.
func TestPostgresBloatMeasured(t *testing.T) {
	pg := harness.SourcePostgres(t)
	pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS diag_bloat")
	pg.Exec(t, "postgres", "CREATE DATABASE diag_bloat")
	pg.Exec(t, "diag_bloat", `
		CREATE TABLE upd_t (id int, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO upd_t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;
		UPDATE upd_t SET pad = repeat('y', 100); UPDATE upd_t SET pad = repeat('z', 100);
		CREATE TABLE purged_t (id int, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO purged_t SELECT g, repeat('x', 100) FROM generate_series(1, 30000) g;
		DELETE FROM purged_t WHERE id % 10 <> 0;
		CREATE TABLE small_t (id int, pad text) WITH (autovacuum_enabled = false);
		INSERT INTO small_t SELECT g, repeat('x', 100) FROM generate_series(1, 200) g;
		DELETE FROM small_t WHERE id > 20;`)
	pg.Exec(t, "diag_bloat", "VACUUM purged_t")
	pollPG(t, pg, "diag_bloat", "SELECT n_dead_tup > 0 FROM pg_stat_user_tables WHERE relname = 'upd_t'", "upd_t's dead tuples")
	pollPG(t, pg, "diag_bloat", "SELECT n_dead_tup = 0 AND vacuum_count > 0 FROM pg_stat_user_tables WHERE relname = 'purged_t'", "purged_t's vacuum")
	conn := engines.Conn{DSN: pg.DSN("diag_bloat")}
	const gate = 256 << 10
	an := func(f *diagmodel.Facts) *diagnostics.Report {
		return diagnostics.Analyze(diagnostics.Input{Facts: f, Thresholds: testThresholds(), Lang: i18n.EN})
	}

	// Without the extension: the estimate, named.
	f := collectGated(t, conn, gate)
	if f.Has(diagmodel.AreaBloatMeasured) || !strings.Contains(f.Why(diagmodel.AreaBloatMeasured), "pgstattuple extension is not installed") {
		t.Errorf("without pgstattuple: areas %v, why %q", f.Areas, f.Why(diagmodel.AreaBloatMeasured))
	}
	r := an(f)
	if fd := wantFinding(t, r, "table-bloat", "upd_t"); !strings.Contains(fd.Finding, "estimated from n_dead_tup") {
		t.Errorf("estimate finding: %q", fd.Finding)
	}
	if fs := found(r, "table-bloat", "purged_t"); len(fs) > 0 {
		t.Errorf("the estimate saw purged_t after its VACUUM: %+v", fs)
	}
	estimateQueries := f.Queries

	// With it: measured, named; purged_t found; small_t below the gate.
	pg.Exec(t, "diag_bloat", "CREATE EXTENSION pgstattuple")
	f = collectGated(t, conn, gate)
	if !f.Has(diagmodel.AreaBloatMeasured) {
		t.Fatalf("with pgstattuple: not measured: %q", f.Why(diagmodel.AreaBloatMeasured))
	}
	for _, name := range []string{"upd_t", "purged_t"} {
		m := tableOf(t, f, name).Measured
		if m == nil || m.Method != diagmodel.MethodPgstattupleApprox || m.TableBytes == 0 || m.DeadPct+m.FreePct < 30 {
			t.Errorf("%s measured %+v", name, m)
			continue
		}
		t.Logf("%s: estimate %d bytes; pgstattuple_approx: table %d bytes, dead %.1f %%, free %.1f %%, scanned %.0f %%",
			name, tableOf(t, f, name).BloatBytes, m.TableBytes, m.DeadPct, m.FreePct, m.ScannedPct)
	}
	if m := tableOf(t, f, "small_t").Measured; m != nil {
		t.Errorf("small_t, below the gate, was measured: %+v", m)
	}
	if n := f.Queries - estimateQueries; n != 2 { // one per table above the gate (the extension lookup is sent either way)
		t.Errorf("the measurement sent %d more queries, want 2", n)
	}
	r = an(f)
	for _, name := range []string{"upd_t", "purged_t"} {
		fd := wantFinding(t, r, "table-bloat", name)
		if !strings.Contains(fd.Finding, "measured by pgstattuple_approx") || !strings.Contains(fd.Details, "Dead tuples") {
			t.Errorf("%s: %q / %q", name, fd.Finding, fd.Details)
		}
	}
	zh := diagnostics.Analyze(diagnostics.Input{Facts: f, Thresholds: testThresholds(), Lang: i18n.ZH})
	if fs := found(zh, "table-bloat", "upd_t"); len(fs) == 0 || !strings.Contains(fs[0].Finding, "pgstattuple_approx 实测") {
		t.Errorf("zh finding: %+v", fs)
	}

	// A monitoring role without pg_stat_scan_tables (pg_monitor) may not
	// run pgstattuple_approx: the measurement says why, table-bloat runs
	// on the estimate, nothing aborts.
	t.Run("least privilege", func(t *testing.T) {
		pg.Exec(t, "postgres", `DROP ROLE IF EXISTS diag_bloat_mon; CREATE ROLE diag_bloat_mon LOGIN PASSWORD 'mon-pw';`)
		mon := engines.Conn{DSN: strings.Replace(pg.DSN("diag_bloat"), "postgres@", "diag_bloat_mon@", 1), Password: secret.New("mon-pw")}
		f := collectGated(t, mon, gate)
		if f.Has(diagmodel.AreaBloatMeasured) || !strings.Contains(f.Why(diagmodel.AreaBloatMeasured), "permission denied") {
			t.Errorf("as diag_bloat_mon: areas %v, why %q", f.Areas, f.Why(diagmodel.AreaBloatMeasured))
		}
		for _, x := range f.Tables {
			if x.Measured != nil {
				t.Errorf("%s measured without the grant", x.Name)
			}
		}
		if st := status(an(f), "table-bloat"); st.Status != diagnostics.StatusRan {
			t.Errorf("table-bloat as diag_bloat_mon: %+v", st)
		}
	})

	// A gate of one table measures the top suspect of the estimate only.
	f = collectOpts(t, "postgres", conn, diagmodel.Options{Level: diagmodel.Monthly, MeasureBloatMinBytes: gate, MeasureBloatTables: 1})
	if tableOf(t, f, "upd_t").Measured == nil || tableOf(t, f, "purged_t").Measured != nil {
		t.Errorf("gate of one: upd_t %+v, purged_t %+v", tableOf(t, f, "upd_t").Measured, tableOf(t, f, "purged_t").Measured)
	}
}
