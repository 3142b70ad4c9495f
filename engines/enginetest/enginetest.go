// Package enginetest is the conformance suite every engine adapter runs
// against its real servers: backup, restore (same server, redirected, single
// table, onto an existing database), statistics, integrity checks, damaged
// parts and unreachable servers. The suite checks behaviour through the
// engines.Engine contract only; the fixture and the SQL that builds and
// changes it belong to the adapter's own test, which fills in a Setup.
//
//	func TestConformance(t *testing.T) {
//		enginetest.Run(t, enginetest.Setup{Engine: postgres.New(), Source: ..., ...})
//	}
//
// DirParts, a directory-backed PartSink and PartSource, stands where the
// repository stands in production.
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Database is a database on a server: how to reach the server, and its name.
type Database struct {
	Conn engines.Conn
	Name string
}

// Setup is what an adapter's test supplies to Run. Every function field is
// required.
type Setup struct {
	Engine engines.Engine

	// Source creates a fresh database on the source server, loads the
	// adapter's fixture into it (every table must hold at least one row) and
	// returns it. Its Conn names that database where the engine's DSN names a
	// database.
	Source func(t *testing.T) Database
	// Target returns a connection to a second, independent server, for
	// redirected restores.
	Target func(t *testing.T) engines.Conn
	// Mutate changes the data of src so that the statistics of at least one
	// table change.
	Mutate func(t *testing.T, src Database)
	// Exec runs sql on database of the server of conn, failing t on error;
	// an empty database means the one conn names, or the server's default.
	// The suite uses it only for portable statements (CREATE DATABASE name).
	Exec func(t *testing.T, conn engines.Conn, database, sql string)
	// Tables lists the tables with data in database on the server of conn
	// (what a backup must carry a table part for).
	Tables func(t *testing.T, conn engines.Conn, database string) []engines.TableRef
	// Unreachable returns a Conn to a server that does not answer (a closed
	// port). Its Password, if any, must not appear in the error.
	Unreachable func(t *testing.T) engines.Conn
	// Pipeline runs the Differential case through the repository, backup
	// and restore: pipelinetest.New().
	Pipeline Pipeline

	// TableRestore is the table the single-table cases restore; zero means
	// the first table of the backup, in name order.
	TableRestore engines.TableRef
	// Parallel is the parallelism of backups and restores; 0 means 2.
	Parallel int
	// Logger receives the engine's progress lines; nil discards them.
	Logger hclog.Logger
}

// Backup is one backup taken by the suite: its snapshot and its parts.
type Backup struct {
	Snapshot *engines.Snapshot
	Parts    *DirParts
}

// Run runs the conformance cases, each as a subtest, in order. Cases share
// one source database and one backup of it, so a failing backup stops the
// suite.
//
// The Differential case runs the production path — backup.Run into a real
// repository on local storage, then restore.Verify and restore.Restore —
// through Setup.Pipeline, so every adapter is proven against full and
// cumulative differential backups.
func Run(t *testing.T, s Setup) {
	for name, missing := range map[string]bool{
		"Engine": s.Engine == nil, "Source": s.Source == nil, "Target": s.Target == nil,
		"Mutate": s.Mutate == nil, "Exec": s.Exec == nil, "Tables": s.Tables == nil,
		"Unreachable": s.Unreachable == nil, "Pipeline": s.Pipeline == nil,
	} {
		if missing {
			t.Fatalf("enginetest: Setup.%s is required", name)
		}
	}
	if s.Parallel <= 0 {
		s.Parallel = 2
	}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
	r := &runner{Setup: s}

	src := s.Source(t)
	first := r.backup(t, src)
	s.Pipeline.Full(t, s, src)

	t.Run("FullBackupParts", func(t *testing.T) { r.fullBackupParts(t, src, first) })
	t.Run("SourceStatsMatchSnapshot", func(t *testing.T) {
		r.statsEqual(t, src.Conn, src.Name, first.Snapshot.Tables)
	})
	t.Run("RestoreSameServer", func(t *testing.T) { r.restoreWhole(t, src.Conn, first) })
	t.Run("RestoreRedirected", func(t *testing.T) { r.restoreWhole(t, s.Target(t), first) })
	t.Run("RestoreSingleTable", func(t *testing.T) { r.restoreTable(t, s.Target(t), first) })
	t.Run("RestoreOntoExisting", func(t *testing.T) { r.restoreOntoExisting(t, s.Target(t), first) })
	t.Run("CorruptPart", func(t *testing.T) { r.corruptPart(t, s.Target(t), first) })
	t.Run("DropDatabase", func(t *testing.T) { r.dropDatabase(t, s.Target(t), first) })
	t.Run("UnreachableServer", r.unreachable)
	// Last: it changes the source.
	t.Run("MutateThenBackup", func(t *testing.T) { r.mutate(t, src, first) })
	t.Run("Differential", func(t *testing.T) { s.Pipeline.Differential(t, s, src) })
}

type runner struct {
	Setup
}

// backup takes a full backup of db into a fresh DirParts.
func (r *runner) backup(t *testing.T, db Database) Backup {
	t.Helper()
	parts := NewDirParts(t.TempDir())
	start := time.Now()
	snap, err := r.Engine.Backup(t.Context(), db.Conn, engines.BackupOptions{
		Type: "full", Parallel: r.Parallel, Logger: r.Logger,
	}, parts)
	if err != nil {
		t.Fatalf("backup of %s: %v", db.Name, err)
	}
	if snap == nil {
		t.Fatalf("backup of %s: nil snapshot and nil error", db.Name)
	}
	t.Logf("backup of %s: %d parts, %d tables in %v", db.Name, len(parts.Parts()), len(snap.Tables), time.Since(start).Round(time.Millisecond))
	return Backup{Snapshot: snap, Parts: parts}
}

// newName returns a database name that is a plain identifier in every
// engine, unique across runs on a shared server.
func newName(purpose string) string {
	var b [4]byte
	rand.Read(b[:])
	return "et_" + purpose + "_" + hex.EncodeToString(b[:])
}

// dropAtCleanup drops name on the server of conn when t ends.
func (r *runner) dropAtCleanup(t *testing.T, conn engines.Conn, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Engine.DropDatabase(ctx, conn, name); err != nil {
			t.Logf("cleanup: dropping %s: %v", name, err)
		}
	})
}

func (r *runner) restore(t *testing.T, conn engines.Conn, b Backup, src engines.PartSource, req engines.RestoreRequest) (*engines.RestoreReport, error) {
	t.Helper()
	req.Snapshot = b.Snapshot
	if req.Parallel == 0 {
		req.Parallel = r.Parallel
	}
	req.Logger = r.Logger
	if src == nil {
		src = b.Parts
	}
	start := time.Now()
	rep, err := r.Engine.Restore(t.Context(), conn, req, src)
	t.Logf("restore into %s (tables %v, replace %v): %v", req.Database, req.Tables, req.Replace, time.Since(start).Round(time.Millisecond))
	if err == nil && rep == nil {
		t.Fatalf("restore into %s: nil report and nil error", req.Database)
	}
	if rep != nil {
		CheckNotes(t, rep)
		for _, s := range rep.Skipped {
			t.Logf("restore into %s skipped: %s", req.Database, s)
		}
		for _, n := range rep.Notes {
			t.Logf("restore into %s note: %s", req.Database, n)
		}
	}
	return rep, err
}

func (r *runner) statsEqual(t *testing.T, conn engines.Conn, database string, want []engines.TableStats) {
	t.Helper()
	refs := make([]engines.TableRef, len(want))
	for i, w := range want {
		refs[i] = w.Table
	}
	got, err := r.Engine.TableStats(t.Context(), conn, database, refs)
	if err != nil {
		t.Fatalf("table stats of %s: %v", database, err)
	}
	if diffs := engines.CompareStats(want, got); len(diffs) > 0 {
		t.Fatalf("statistics of %s differ from the backup's:\n  %s", database, strings.Join(diffs, "\n  "))
	}
	if len(got) != len(want) {
		t.Fatalf("table stats of %s: %d tables asked, %d returned", database, len(want), len(got))
	}
}

func (r *runner) fullBackupParts(t *testing.T, src Database, b Backup) {
	snap := b.Snapshot
	if snap.Engine != r.Engine.Name() {
		t.Errorf("snapshot engine %q, want %q", snap.Engine, r.Engine.Name())
	}
	if snap.ServerVersion == "" {
		t.Error("snapshot has no server version")
	}
	if snap.TakenAt.IsZero() {
		t.Error("snapshot has no TakenAt")
	}
	parts := b.Parts.Parts()
	var schema int
	tableParts := map[engines.TableRef]int{}
	for _, p := range parts {
		switch p.Kind {
		case engines.KindSchema:
			schema++
		case engines.KindTable:
			if p.Table == nil {
				t.Errorf("table part %q names no table", p.Name)
				continue
			}
			tableParts[*p.Table]++
		case engines.KindMeta, engines.KindNative:
		default:
			t.Errorf("part %q has unknown kind %q", p.Name, p.Kind)
		}
		if p.Format == "" {
			t.Errorf("part %q has no format", p.Name)
		}
	}
	if schema == 0 {
		t.Errorf("no %q part among %d parts", engines.KindSchema, len(parts))
	}
	fixture := r.Tables(t, src.Conn, src.Name)
	if len(fixture) == 0 {
		t.Fatal("the fixture has no tables")
	}
	for _, tbl := range fixture {
		if tableParts[tbl] == 0 {
			t.Errorf("table %s has no part", tbl)
		}
		st, ok := snap.Table(tbl)
		switch {
		case !ok:
			t.Errorf("table %s has no statistics in the snapshot", tbl)
		case st.Rows <= 0 || st.Checksum == "" || st.Bytes <= 0:
			t.Errorf("table %s: statistics %+v, want rows, checksum and bytes (the fixture fills every table)", tbl, st)
		}
	}
	for tbl := range tableParts {
		if _, ok := snap.Table(tbl); !ok {
			t.Errorf("table part of %s without statistics", tbl)
		}
	}
}

// restoreWhole restores the whole backup under a new name on the server of
// conn, compares statistics and checks integrity.
func (r *runner) restoreWhole(t *testing.T, conn engines.Conn, b Backup) {
	name := newName("copy")
	r.dropAtCleanup(t, conn, name)
	if _, err := r.restore(t, conn, b, nil, engines.RestoreRequest{Database: name}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	r.statsEqual(t, conn, name, b.Snapshot.Tables)
	rep, err := r.Engine.CheckIntegrity(t.Context(), conn, name)
	if err != nil {
		t.Fatalf("integrity check of %s: %v", name, err)
	}
	CheckIntegrityNote(t, rep)
	if rep.Skipped != "" {
		t.Fatalf("integrity check of %s did not run: %s", name, rep.Skipped)
	}
	if !rep.OK() {
		t.Fatalf("integrity check (%s) of %s found:\n  %s", rep.Tool, name, strings.Join(rep.Findings, "\n  "))
	}
	t.Logf("integrity check of %s: %s OK in %v", name, rep.Tool, rep.Duration.Round(time.Millisecond))
}

func (r *runner) tableToRestore(t *testing.T, b Backup) engines.TableStats {
	t.Helper()
	want := r.TableRestore
	if want == (engines.TableRef{}) {
		ts := slices.Clone(b.Snapshot.Tables)
		engines.SortTables(ts)
		if len(ts) == 0 {
			t.Fatal("the backup has no tables")
		}
		return ts[0]
	}
	st, ok := b.Snapshot.Table(want)
	if !ok {
		t.Fatalf("Setup.TableRestore %s is not in the backup", want)
	}
	return st
}

func (r *runner) restoreTable(t *testing.T, conn engines.Conn, b Backup) {
	st := r.tableToRestore(t, b)
	name := newName("table")
	r.dropAtCleanup(t, conn, name)
	req := engines.RestoreRequest{Database: name, Tables: []engines.TableRef{st.Table}}
	if _, err := r.restore(t, conn, b, nil, req); err != nil {
		t.Fatalf("restore of table %s: %v", st.Table, err)
	}
	if got := r.Tables(t, conn, name); !slices.Equal(got, []engines.TableRef{st.Table}) {
		t.Fatalf("after restoring only %s, database %s holds tables %v", st.Table, name, got)
	}
	r.statsEqual(t, conn, name, []engines.TableStats{st})

	// The table exists now: without Replace that is ErrExists, with it the
	// table is restored again.
	_, err := r.restore(t, conn, b, nil, req)
	if !errors.Is(err, engines.ErrExists) {
		t.Fatalf("restoring table %s onto itself without Replace: got %v, want ErrExists", st.Table, err)
	}
	req.Replace = true
	if _, err := r.restore(t, conn, b, nil, req); err != nil {
		t.Fatalf("restoring table %s with Replace: %v", st.Table, err)
	}
	r.statsEqual(t, conn, name, []engines.TableStats{st})
}

func (r *runner) restoreOntoExisting(t *testing.T, conn engines.Conn, b Backup) {
	name := newName("exists")
	r.dropAtCleanup(t, conn, name)
	r.Exec(t, conn, "", "CREATE DATABASE "+name)
	exists, err := r.Engine.DatabaseExists(t.Context(), conn, name)
	if err != nil || !exists {
		t.Fatalf("DatabaseExists(%s) after CREATE DATABASE = %v, %v", name, exists, err)
	}
	_, err = r.restore(t, conn, b, nil, engines.RestoreRequest{Database: name})
	if !errors.Is(err, engines.ErrExists) {
		t.Fatalf("restore onto existing database %s without Replace: got %v, want ErrExists", name, err)
	}
	if _, err := r.restore(t, conn, b, nil, engines.RestoreRequest{Database: name, Replace: true}); err != nil {
		t.Fatalf("restore onto existing database %s with Replace: %v", name, err)
	}
	r.statsEqual(t, conn, name, b.Snapshot.Tables)
}

// corruptPart damages, in turn, the schema part and the biggest table part:
// the restore must fail with the read error, promptly.
func (r *runner) corruptPart(t *testing.T, conn engines.Conn, b Backup) {
	var victims []engines.PartInfo
	var biggest *engines.PartInfo
	for _, p := range b.Parts.Parts() {
		switch p.Kind {
		case engines.KindSchema:
			victims = append(victims, p)
		case engines.KindTable:
			if biggest == nil || b.Parts.Size(p.Name) > b.Parts.Size(biggest.Name) {
				biggest = &p
			}
		}
	}
	if biggest != nil {
		victims = append(victims, *biggest)
	}
	for _, v := range victims {
		t.Run(v.Kind, func(t *testing.T) {
			name := newName("corrupt")
			r.dropAtCleanup(t, conn, name)
			done := make(chan error, 1)
			req := engines.RestoreRequest{Database: name, Parallel: r.Parallel, Snapshot: b.Snapshot, Logger: r.Logger}
			src := Corrupt(b.Parts, v.Name)
			go func() {
				_, err := r.Engine.Restore(t.Context(), conn, req, src)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrInjected) {
					t.Fatalf("restore with part %s failing midway: got %v, want an error wrapping %v", v.Name, err, ErrInjected)
				}
				t.Logf("restore with part %s failing midway: %v", v.Name, err)
			case <-time.After(2 * time.Minute):
				t.Fatalf("restore with part %s failing midway still running after 2 minutes", v.Name)
			}
		})
	}
}

func (r *runner) dropDatabase(t *testing.T, conn engines.Conn, b Backup) {
	name := newName("drop")
	r.dropAtCleanup(t, conn, name)
	st := r.tableToRestore(t, b)
	if _, err := r.restore(t, conn, b, nil, engines.RestoreRequest{Database: name, Tables: []engines.TableRef{st.Table}}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if ok, err := r.Engine.DatabaseExists(t.Context(), conn, name); err != nil || !ok {
		t.Fatalf("DatabaseExists(%s) after restore = %v, %v", name, ok, err)
	}
	if err := r.Engine.DropDatabase(t.Context(), conn, name); err != nil {
		t.Fatalf("DropDatabase(%s): %v", name, err)
	}
	if ok, err := r.Engine.DatabaseExists(t.Context(), conn, name); err != nil || ok {
		t.Fatalf("DatabaseExists(%s) after DropDatabase = %v, %v", name, ok, err)
	}
}

func (r *runner) unreachable(t *testing.T) {
	conn := r.Unreachable(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	snap, err := r.Engine.Backup(ctx, conn, engines.BackupOptions{Type: "full", Parallel: r.Parallel, Logger: r.Logger}, NewDirParts(t.TempDir()))
	took := time.Since(start)
	if err == nil {
		t.Fatalf("backup of an unreachable server succeeded: %+v", snap)
	}
	t.Logf("backup of an unreachable server failed in %v: %v", took.Round(time.Millisecond), err)
	if took > 20*time.Second {
		t.Errorf("backup of an unreachable server took %v to fail", took)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("backup of an unreachable server ran into the test's deadline: %v", err)
	} else if !fault.IsTransient(err) {
		t.Errorf("backup of an unreachable server: the daemon would not retry %v", err)
	}
	if pw := conn.Password.Reveal(); pw != "" && strings.Contains(err.Error(), pw) {
		t.Errorf("the error contains the password")
	}
	if strings.TrimSpace(err.Error()) == "" {
		t.Error("empty error message")
	}
}

func (r *runner) mutate(t *testing.T, src Database, first Backup) {
	r.Mutate(t, src)
	second := r.backup(t, src)
	if diffs := engines.CompareStats(first.Snapshot.Tables, second.Snapshot.Tables); len(diffs) == 0 && len(first.Snapshot.Tables) == len(second.Snapshot.Tables) {
		t.Fatal("after Mutate a new backup has the same statistics as the first")
	} else {
		t.Logf("after Mutate: %s", strings.Join(diffs, "; "))
	}
	r.statsEqual(t, src.Conn, src.Name, second.Snapshot.Tables)

	// The first backup still restores the first data.
	conn := r.Target(t)
	name := newName("before")
	r.dropAtCleanup(t, conn, name)
	if _, err := r.restore(t, conn, first, nil, engines.RestoreRequest{Database: name}); err != nil {
		t.Fatalf("restore of the first backup: %v", err)
	}
	r.statsEqual(t, conn, name, first.Snapshot.Tables)
}

// String helps t.Log a Database without its password (Conn.Password is a
// secret.Value and prints redacted anyway).
func (d Database) String() string { return fmt.Sprintf("database %s", d.Name) }
