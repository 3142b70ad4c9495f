package diagnostics_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/secret"
)

// analyzeIO is analyze with the slot threshold low enough for the WAL a
// test writes in seconds.
func analyzeIO(f, prev *diagmodel.Facts) *diagnostics.Report {
	t := testThresholds()
	t.SlotRetainedBytes = 4 << 20
	return diagnostics.Analyze(diagnostics.Input{Facts: f, Prev: prev, Thresholds: t, Lang: i18n.EN})
}

func wantNotChecked(t *testing.T, r *diagnostics.Report, check, reason string) {
	t.Helper()
	if st := status(r, check); st.Status != diagnostics.StatusNotChecked || !strings.Contains(st.Reason, reason) {
		t.Errorf("%s: %+v, want not checked with %q", check, st, reason)
	}
}

// TestPostgresIO, on a private server: the I/O hot spots between two
// monthly snapshots, the WAL written, an inactive slot holding WAL back,
// exact requested checkpoints, a table neither read nor written, the
// control data (checksums off, then on) and the tablespaces.
func TestPostgresIO(t *testing.T) {
	pg := harness.NewPostgres(t)
	pg.Exec(t, "postgres", "CREATE DATABASE diag_io")
	pg.Exec(t, "diag_io", `CREATE TABLE hot_t (id int, pad text);
		INSERT INTO hot_t SELECT g, repeat('h', 200) FROM generate_series(1, 20000) g;
		CREATE TABLE idle_t (id int); INSERT INTO idle_t SELECT generate_series(1, 100);
		CREATE TABLE log_t (id int); INSERT INTO log_t VALUES (0);`)
	conn := engines.Conn{DSN: pg.DSN("diag_io")}
	// After a restart hot_t is outside the buffer cache: reading it reads
	// from disk.
	pg.Stop(t)
	pg.Start(t)

	clean := collect(t, "postgres", conn, diagmodel.Monthly, nil)
	for _, area := range []string{diagmodel.AreaIO, diagmodel.AreaWAL, diagmodel.AreaControl, diagmodel.AreaStorage} {
		if !clean.Has(area) {
			t.Errorf("area %s not collected: %s", area, clean.Why(area))
		}
	}
	r0 := analyzeIO(clean, nil)
	wantNoFinding(t, r0, "slot-retained-wal", "")
	wantNotChecked(t, r0, "wal-volume", "earlier snapshot")
	wantNotChecked(t, r0, "checkpoints-requested", "earlier snapshot")
	ts := wantFinding(t, r0, "tablespaces", "diag_io")
	if !strings.Contains(ts.Details, "pg_default") || !strings.Contains(ts.Details, "pg_global") {
		t.Errorf("tablespaces: %q", ts.Details)
	}
	wantFinding(t, r0, "control-data", "data_checksums")
	if fs := found(r0, "control-data", "checkpoint"); len(fs) > 0 {
		t.Errorf("a fresh checkpoint reported old: %+v", fs)
	}
	if clean.Queries > 40 {
		t.Errorf("the monthly collection sent %d queries", clean.Queries)
	}

	// Between the two snapshots: hot_t read from disk, log_t written,
	// idle_t left alone, twelve CHECKPOINTs, an inactive slot holding
	// the WAL written after it.
	pg.Exec(t, "diag_io", "SELECT pg_create_physical_replication_slot('diag_slot', true)")
	pg.Exec(t, "diag_io", "SELECT count(*) FROM hot_t")
	for i := 0; i < 12; i++ {
		pg.Exec(t, "diag_io", "INSERT INTO log_t SELECT generate_series(1, 20000); CHECKPOINT")
	}
	pollPG(t, pg, "diag_io", `SELECT heap_blks_read > 0 FROM pg_statio_user_tables WHERE relname = 'hot_t'`, "hot_t's reads")
	pollPG(t, pg, "diag_io", `SELECT n_tup_ins > 1 FROM pg_stat_user_tables WHERE relname = 'log_t'`, "log_t's inserts")
	time.Sleep(1100 * time.Millisecond) // the collection's interval is measured in days: let it be > 0

	cur := collect(t, "postgres", conn, diagmodel.Monthly, nil)
	r := analyzeIO(cur, clean)
	hot := wantFinding(t, r, "io-hotspots", "diag_io")
	// PostgreSQL 15 counts the blocks log_t grew by as read too: hot_t
	// is listed, not necessarily first.
	if !strings.Contains(hot.Details, "public.hot_t") || strings.Contains(hot.Details, "public.idle_t") {
		t.Errorf("io-hotspots: %q / %q", hot.Finding, hot.Details)
	}
	if f := wantFinding(t, r, "wal-volume", "diag_io"); !strings.Contains(f.Details, "1 replication slots") {
		t.Errorf("wal-volume: %q / %q", f.Finding, f.Details)
	} else {
		t.Logf("wal-volume: %s / %s", f.Finding, f.Details)
	}
	slot := wantFinding(t, r, "slot-retained-wal", "diag_slot")
	if !strings.Contains(slot.Finding, "Inactive") {
		t.Errorf("slot-retained-wal: %q", slot.Finding)
	}
	cp := wantFinding(t, r, "checkpoints-requested", "diag_io")
	// Exact: the twelve CHECKPOINTs, not an estimate ("At least ...").
	if !strings.HasPrefix(cp.Finding, "12 of ") || !strings.Contains(cp.Details, "12 requested") {
		t.Errorf("checkpoints-requested: %q / %q", cp.Finding, cp.Details)
	}
	for _, f := range []diagnostics.Finding{hot, slot, cp} {
		t.Logf("%s: %s / %s", f.Check, f.Finding, f.Details)
	}
	idle := wantFinding(t, r, "table-unread", "public.idle_t")
	if !strings.Contains(idle.Finding, "neither read nor written") {
		t.Errorf("table-unread idle_t: %q", idle.Finding)
	}
	logT := wantFinding(t, r, "table-unread", "public.log_t")
	if strings.Contains(logT.Finding, "neither") {
		t.Errorf("table-unread log_t, written to: %q", logT.Finding)
	}
	if fs := found(r, "table-unread", "public.hot_t"); len(fs) > 0 {
		t.Errorf("table-unread: the read table: %+v", fs)
	}
	pg.Exec(t, "diag_io", "SELECT pg_drop_replication_slot('diag_slot')")

	t.Run("least privilege", func(t *testing.T) {
		pg.Exec(t, "postgres", `CREATE ROLE diag_io_mon LOGIN PASSWORD 'mon-pw'`)
		mon := engines.Conn{DSN: strings.Replace(pg.DSN("diag_io"), "postgres@", "diag_io_mon@", 1), Password: secret.New("mon-pw")}
		f := collect(t, "postgres", mon, diagmodel.Monthly, nil)
		r := analyzeIO(f, nil)
		wantLeastPrivilege(t, r)
		// The views these read are public, and pg_control_checkpoint and
		// pg_control_system need no grant (PostgreSQL 15, the harness's).
		for _, id := range []string{"io-hotspots", "slot-retained-wal", "control-data", "tablespaces"} {
			if st := status(r, id); st.Status != diagnostics.StatusRan {
				t.Errorf("least privilege: %s %s %s, want ran", id, st.Status, st.Reason)
			}
		}
		wantNotChecked(t, r, "wal-volume", "earlier snapshot")
	})

	// Checksums turned on (pg_checksums on the stopped server): no
	// finding.
	pg.Stop(t)
	if out, err := exec.Command(filepath.Join(pg.BinDir, "pg_checksums"), "--enable", "-D", filepath.Join(pg.Dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("pg_checksums: %v\n%s", err, out)
	}
	pg.Start(t)
	on := collect(t, "postgres", conn, diagmodel.Monthly, nil)
	if on.Control == nil || on.Control.Checksums == nil || !*on.Control.Checksums {
		t.Fatalf("control after pg_checksums --enable: %+v", on.Control)
	}
	wantNoFinding(t, analyzeIO(on, nil), "control-data", "")
}

// TestMariaDBIO: on the shared MariaDB (binary log on, performance_schema
// off) the binary log written between two snapshots and the InnoDB data
// files; on a private one without a binary log, that it is off.
func TestMariaDBIO(t *testing.T) {
	m := harness.SourceMariaDB(t)
	m.Exec(t, "", `DROP DATABASE IF EXISTS diag_io; CREATE DATABASE diag_io;`)
	m.Exec(t, "diag_io", `CREATE TABLE w_t (id INT PRIMARY KEY, pad VARCHAR(1000)) ENGINE=InnoDB;`)
	conn := engines.Conn{DSN: m.DSN("diag_io")}
	clean := collect(t, "mysql", conn, diagmodel.Monthly, nil)
	r0 := analyzeIO(clean, nil)
	wantNotChecked(t, r0, "io-hotspots", "performance_schema")
	wantNotChecked(t, r0, "wal-volume", "earlier snapshot")
	for _, id := range []string{"slot-retained-wal", "control-data"} {
		if st := status(r0, id); st.Status != diagnostics.StatusNotApplicable {
			t.Errorf("%s on MariaDB: %+v", id, st)
		}
	}
	ts := wantFinding(t, r0, "tablespaces", "diag_io")
	if !strings.Contains(ts.Finding, "ibdata1") || !strings.Contains(ts.Details, "innodb_file_per_table ON") {
		t.Errorf("tablespaces: %q / %q", ts.Finding, ts.Details)
	}
	if clean.Storage == nil || clean.Storage.SystemBytes <= 0 || clean.Storage.RedoBytes <= 0 {
		t.Errorf("storage facts: %+v", clean.Storage)
	}

	m.Exec(t, "diag_io", `INSERT INTO w_t SELECT seq, REPEAT('w', 900) FROM seq_1_to_2000;`)
	time.Sleep(1100 * time.Millisecond)
	cur := collect(t, "mysql", conn, diagmodel.Monthly, nil)
	r := analyzeIO(cur, clean)
	f := wantFinding(t, r, "wal-volume", "diag_io")
	if !strings.Contains(f.Finding, "Binary log written") || !strings.Contains(f.Details, "binary log files") {
		t.Errorf("wal-volume: %q / %q", f.Finding, f.Details)
	}
	t.Logf("wal-volume: %s / %s; tablespaces: %s / %s", f.Finding, f.Details, ts.Finding, ts.Details)
	// Without performance_schema MariaDB counts no reads per table.
	wantNotChecked(t, r, "table-unread", "performance_schema")
	if d := r.Deltas; d == nil || d.Counters[diagmodel.CounterBinlogBytes] < 2000*900 {
		t.Errorf("binlog bytes delta: %+v", r.Deltas)
	}
	if w := cur.WAL; w == nil || w.BinlogFiles < 1 || w.BinlogBytes < 2000*900 {
		t.Errorf("binary log files (SHOW BINARY LOGS): %+v", w)
	}
	if !cur.Has(diagmodel.AreaReplication) || len(cur.Replicas) != 0 {
		t.Errorf("replication on a server that replicates from none: %q %+v", cur.Why(diagmodel.AreaReplication), cur.Replicas)
	}

	t.Run("least privilege", func(t *testing.T) {
		m.Exec(t, "", `DROP USER IF EXISTS 'diag_io_mon'@'127.0.0.1';
			CREATE USER 'diag_io_mon'@'127.0.0.1' IDENTIFIED BY 'mon-pw'; GRANT USAGE ON *.* TO 'diag_io_mon'@'127.0.0.1';`)
		mon := engines.Conn{DSN: strings.Replace(m.DSN("diag_io"), "root@", "diag_io_mon@", 1), Password: secret.New("mon-pw")}
		f := collect(t, "mysql", mon, diagmodel.Monthly, nil)
		r := analyzeIO(f, nil)
		wantLeastPrivilege(t, r)
		wantNotChecked(t, r, "io-hotspots", "performance_schema")
		wantNotChecked(t, r, "wal-volume", "BINLOG MONITOR")
		wantNotChecked(t, r, "tablespaces", "PROCESS")
	})

	// A private server without a binary log, with performance_schema on:
	// the file a table's rows were written to between two snapshots.
	// MyISAM writes its data file as each statement ends; InnoDB's page
	// writes come later, from its own threads.
	t.Run("binlog off, performance_schema on", func(t *testing.T) {
		p := harness.NewMariaDB(t, harness.WithoutBinlog(), harness.WithPerformanceSchema())
		p.Exec(t, "", `CREATE DATABASE diag_pfs;
			CREATE TABLE diag_pfs.hot_t (id INT PRIMARY KEY, pad VARCHAR(1000)) ENGINE=MyISAM;
			CREATE TABLE diag_pfs.idle_t (id INT PRIMARY KEY) ENGINE=InnoDB;
			CREATE TABLE diag_pfs.read_t (id INT PRIMARY KEY) ENGINE=InnoDB;
			INSERT INTO diag_pfs.idle_t VALUES (1), (2); INSERT INTO diag_pfs.read_t VALUES (1), (2);`)
		pconn := engines.Conn{DSN: p.DSN("diag_pfs")}
		before := collect(t, "mysql", pconn, diagmodel.Monthly, nil)
		if !before.Has(diagmodel.AreaIO) {
			t.Fatalf("io with performance_schema on: %s", before.Why(diagmodel.AreaIO))
		}
		p.Exec(t, "diag_pfs", `INSERT INTO hot_t SELECT seq, REPEAT('p', 900) FROM seq_1_to_20000; SELECT * FROM read_t`)
		time.Sleep(1100 * time.Millisecond)
		f := collect(t, "mysql", pconn, diagmodel.Monthly, nil)
		r := analyzeIO(f, before)
		if fd := wantFinding(t, r, "wal-volume", ""); !strings.Contains(fd.Finding, "binary log is off") {
			t.Errorf("wal-volume: %q", fd.Finding)
		}
		hot := wantFinding(t, r, "io-hotspots", "diag_pfs")
		if !strings.Contains(hot.Finding, "diag_pfs/hot_t.MYD") {
			t.Errorf("io-hotspots: %q / %q", hot.Finding, hot.Details)
		}
		t.Logf("io-hotspots: %s / %s", hot.Finding, hot.Details)
		// table-unread on the rows performance_schema counts: idle_t
		// neither read nor written, hot_t only written, read_t read.
		if f := wantFinding(t, r, "table-unread", "diag_pfs.idle_t"); !strings.Contains(f.Finding, "neither read nor written") {
			t.Errorf("table-unread idle_t: %q", f.Finding)
		}
		if f := wantFinding(t, r, "table-unread", "diag_pfs.hot_t"); strings.Contains(f.Finding, "neither") {
			t.Errorf("table-unread hot_t, written to: %q", f.Finding)
		}
		if fs := found(r, "table-unread", "diag_pfs.read_t"); len(fs) > 0 {
			t.Errorf("table-unread: the read table: %+v", fs)
		}
	})
}

// TestVersion1Snapshots: two monthly snapshots of model version 1 (before
// the io, wal, control and storage areas, the split checkpoint counters
// and the table writes) re-analysed by this build: the new checks say
// "not checked" because the collector of that version did not collect
// their facts, checkpoints-requested falls back to its estimate and
// table-unread to "not read".
func TestVersion1Snapshots(t *testing.T) {
	read := func(name string) *diagmodel.Facts {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := diagnostics.DecodeReport(body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Facts.Version != 1 || diagmodel.Version <= 1 {
			t.Fatalf("%s: version %d, build %d", name, r.Facts.Version, diagmodel.Version)
		}
		return r.Facts
	}
	prev, cur := read("v1-monthly-before.json"), read("v1-monthly.json")
	r := diagnostics.Analyze(diagnostics.Input{Facts: cur, Prev: prev, Lang: i18n.EN})
	for _, id := range []string{"io-hotspots", "wal-volume", "slot-retained-wal", "control-data", "tablespaces"} {
		wantNotChecked(t, r, id, "not collected by the postgres collector of the version that took this snapshot")
	}
	cp := wantFinding(t, r, "checkpoints-requested", "hall")
	if !strings.HasPrefix(cp.Finding, "At least 3360 of 12000 checkpoints") {
		t.Errorf("checkpoints-requested from version 1 counters: %q", cp.Finding)
	}
	audit := wantFinding(t, r, "table-unread", "public.audit")
	if !strings.Contains(audit.Finding, "was not read") || strings.Contains(audit.Finding, "neither") {
		t.Errorf("table-unread without write counters: %q", audit.Finding)
	}
	if fs := found(r, "table-unread", "public.seats"); len(fs) > 0 {
		t.Errorf("table-unread: the read table: %+v", fs)
	}
	// And the same snapshot with this build's areas added reads back with
	// them.
	cur.Version = diagmodel.Version
	cur.Areas = append(cur.Areas, diagmodel.AreaWAL)
	cur.WAL = &diagmodel.WAL{Position: 5 << 30, Slots: []diagmodel.Slot{{Name: "s", Type: "physical", RetainedBytes: 1}}}
	body, err := json.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	back, err := diagnostics.DecodeReport(body)
	if err != nil || back.Facts.WAL == nil || back.Facts.WAL.Position != 5<<30 || len(back.Facts.WAL.Slots) != 1 {
		t.Errorf("version %d facts read back: %v %+v", diagmodel.Version, err, back)
	}
}

// ioFacts is a monthly snapshot with the I/O, WAL and control facts given.
func ioFacts(engine string, at, started time.Time, set func(f *diagmodel.Facts)) *diagmodel.Facts {
	f := &diagmodel.Facts{Version: diagmodel.Version, Engine: engine, Database: "hall", Level: diagmodel.Monthly, CollectedAt: at,
		Areas:  []string{diagmodel.AreaServer, diagmodel.AreaTables},
		Server: &diagmodel.Server{Version: "15.20", StartedAt: started}}
	set(f)
	return f
}

// TestIOHotspotsDeltas: files (MariaDB) rank by their I/O over the
// interval, unchanged ones are left out; across a restart the counts since
// the start are taken; a table that entered the list (cut at IOTopTables)
// during the interval is counted from zero.
func TestIOHotspotsDeltas(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	started := at.AddDate(0, -2, 0)
	files := func(ff ...diagmodel.FileIO) func(f *diagmodel.Facts) {
		return func(f *diagmodel.Facts) {
			f.Areas = append(f.Areas, diagmodel.AreaIO)
			f.IO = &diagmodel.IO{Source: "file_summary_by_instance", Files: ff}
		}
	}
	prev := ioFacts("mysql", at.AddDate(0, -1, 0), started, files(
		diagmodel.FileIO{File: "hall/seats.ibd", ReadBytes: 100 << 20, WriteBytes: 1 << 20, WaitMS: 1000},
		diagmodel.FileIO{File: "ib_logfile0", WriteBytes: 900 << 20, WaitMS: 500},
		diagmodel.FileIO{File: "hall/old.ibd", ReadBytes: 5000 << 20}))
	cur := ioFacts("mysql", at, started, files(
		diagmodel.FileIO{File: "hall/seats.ibd", ReadBytes: 400 << 20, WriteBytes: 2 << 20, WaitMS: 4000},
		diagmodel.FileIO{File: "ib_logfile0", WriteBytes: 1000 << 20, WaitMS: 600},
		diagmodel.FileIO{File: "hall/old.ibd", ReadBytes: 5000 << 20}))
	r := diagnostics.Analyze(diagnostics.Input{Facts: cur, Prev: prev, Lang: i18n.EN})
	f := wantFinding(t, r, "io-hotspots", "hall")
	if !strings.Contains(f.Finding, "hall/seats.ibd (301.0 MiB)") || !strings.Contains(f.Details, "ib_logfile0 0 B / 100.0 MiB") ||
		strings.Contains(f.Details, "old.ibd") || !strings.Contains(f.Finding, "since 2026-06-01") {
		t.Errorf("io-hotspots over the month: %q / %q", f.Finding, f.Details)
	}
	restarted := *cur
	restarted.Server = &diagmodel.Server{Version: "10.11.19-MariaDB", StartedAt: at.AddDate(0, 0, -3)}
	r = diagnostics.Analyze(diagnostics.Input{Facts: &restarted, Prev: prev, Lang: i18n.EN})
	if f := wantFinding(t, r, "io-hotspots", "hall"); !strings.Contains(f.Finding, "hall/old.ibd") || !strings.Contains(f.Finding, "since 2026-06-28") {
		t.Errorf("io-hotspots since the restart: %q / %q", f.Finding, f.Details)
	}

	tables := func(n int, extra ...diagmodel.TableIO) func(f *diagmodel.Facts) {
		return func(f *diagmodel.Facts) {
			f.Areas = append(f.Areas, diagmodel.AreaIO)
			f.IO = &diagmodel.IO{Source: "pg_statio_user_tables", BlockSize: 8192}
			for i := 0; i < n; i++ {
				f.IO.Tables = append(f.IO.Tables, diagmodel.TableIO{Schema: "s", Name: "t" + strconv.Itoa(i), HeapRead: 1000, HeapHit: 1000})
			}
			f.IO.Tables = append(f.IO.Tables, extra...)
		}
	}
	pgPrev := ioFacts("postgres", at.AddDate(0, -1, 0), started, tables(diagmodel.IOTopTables))
	pgCur := ioFacts("postgres", at, started, tables(diagmodel.IOTopTables-1,
		diagmodel.TableIO{Schema: "s", Name: "t0", HeapRead: 1500, HeapHit: 1500},
		diagmodel.TableIO{Schema: "s", Name: "newcomer", HeapRead: 90000}))
	r = diagnostics.Analyze(diagnostics.Input{Facts: pgCur, Prev: pgPrev, Lang: i18n.EN})
	f = wantFinding(t, r, "io-hotspots", "hall")
	if !strings.Contains(f.Details, "s.t0 500 (3.9 MiB) / 50%") || !strings.Contains(f.Finding, "s.newcomer") {
		t.Errorf("io-hotspots, tables: %q", f.Details)
	}
	// Nothing read over the interval: no finding.
	r = diagnostics.Analyze(diagnostics.Input{Facts: ioFacts("postgres", at, started, tables(3)),
		Prev: ioFacts("postgres", at.AddDate(0, -1, 0), started, tables(3)), Lang: i18n.EN})
	wantNoFinding(t, r, "io-hotspots", "")
}

// TestControlAndSlots: an old checkpoint is a finding only with WAL
// written since it; checksums on are none; an active slot over the
// threshold is worded as active.
func TestControlAndSlots(t *testing.T) {
	at := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	on, off := true, false
	for _, tc := range []struct {
		name      string
		c         diagmodel.Control
		want      []string
		wantPrios []int
	}{
		{"healthy", diagmodel.Control{CheckpointAt: at.Add(-4 * time.Minute), WALSinceCheckpoint: 40 << 20, Checksums: &on}, nil, nil},
		{"idle server", diagmodel.Control{CheckpointAt: at.Add(-30 * 24 * time.Hour), WALSinceCheckpoint: 200, Checksums: &on}, nil, nil},
		{"stuck checkpointer", diagmodel.Control{CheckpointAt: at.Add(-3 * time.Hour), WALSinceCheckpoint: 2 << 30, Checksums: &on},
			[]string{"checkpoint"}, []int{50}},
		{"no checksums", diagmodel.Control{CheckpointAt: at.Add(-time.Minute), Checksums: &off, SystemID: "7301", Timeline: 2},
			[]string{"data_checksums"}, []int{100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ioFacts("postgres", at, at.AddDate(0, -1, 0), func(f *diagmodel.Facts) {
				f.Areas = append(f.Areas, diagmodel.AreaControl)
				f.Control = &tc.c
			})
			r := diagnostics.Analyze(diagnostics.Input{Facts: f, Lang: i18n.EN})
			var got []string
			var prios []int
			for _, fd := range found(r, "control-data", "") {
				got, prios = append(got, fd.Object), append(prios, fd.Priority)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || len(prios) != len(tc.wantPrios) ||
				(len(prios) > 0 && prios[0] != tc.wantPrios[0]) {
				t.Errorf("control-data: %v %v, want %v %v\n%s", got, prios, tc.want, tc.wantPrios, listFindings(r))
			}
		})
	}
	f := ioFacts("postgres", at, at.AddDate(0, -1, 0), func(f *diagmodel.Facts) {
		f.Areas = append(f.Areas, diagmodel.AreaWAL)
		f.WAL = &diagmodel.WAL{Slots: []diagmodel.Slot{{Name: "replica1", Type: "physical", Active: true, RetainedBytes: 20 << 30},
			{Name: "small", Type: "logical", RetainedBytes: 1 << 20}}}
	})
	r := diagnostics.Analyze(diagnostics.Input{Facts: f, Lang: i18n.EN})
	if fs := found(r, "slot-retained-wal", ""); len(fs) != 1 || fs[0].Object != "replica1" || strings.Contains(fs[0].Finding, "Inactive") {
		t.Errorf("slot-retained-wal: %s", listFindings(r))
	}
}
