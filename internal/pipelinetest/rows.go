package pipelinetest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/backup"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/enginetest"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/restore"
)

// Rows is the row-level differential case (repository/rows.go) on a real
// server: a full of src, change, a differential, then the differential
// verified, restored whole onto the target server and, table by table,
// restored alone; every restored copy must have the statistics the
// differential recorded. It returns both manifests, so that the caller can
// check how each table was stored (Method).
func Rows(t *testing.T, s enginetest.Setup, src enginetest.Database, change func(t *testing.T)) (full, diff *repository.Manifest) {
	t.Helper()
	repo := newRepo(t)
	tmp := t.TempDir()
	j := job(s, src, repo, repository.Full)
	j.TempDir = tmp
	res, err := backup.Run(t.Context(), j)
	if err != nil {
		t.Fatalf("full backup: %v", err)
	}
	full = res.Manifest
	change(t)
	j.Type = repository.Differential
	res, err = backup.Run(t.Context(), j)
	if err != nil {
		t.Fatalf("differential backup: %v", err)
	}
	diff = res.Manifest
	if diff.Type != repository.Differential {
		t.Fatalf("took a %s (%s), want a differential", diff.Type, diff.Reason)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*", "*", "*", "*")); len(left) > 0 {
		t.Errorf("temporary files left after the backups: %v", left)
	}
	for _, p := range diff.Parts {
		if p.Method != "" {
			t.Logf("%s: %s (%s)", p.Name, p.Method, p.MethodReason)
		}
	}
	t.Logf("full stored %d bytes, differential %d", full.Stats.StoredBytes, diff.Stats.StoredBytes)
	s.StatsEqual(t, src.Conn, src.Name, diff.Snapshot.Tables)

	target := restore.Target{Name: "rows-target", Conn: s.Target(t), Scratch: true, AllowRestore: true}
	req := restore.Request{Database: database, BackupID: diff.ID, Engine: s.Engine, Repo: repo, Target: target, Parallel: s.Parallel, Logger: s.Logger}
	if v, err := restore.Verify(t.Context(), req); err != nil || !v.Verified {
		t.Fatalf("verify of the differential: %+v, %v", v, err)
	}
	req.As = enginetest.NewName("rows")
	s.DropAtCleanup(t, target.Conn, req.As)
	if _, err := restore.Restore(t.Context(), req); err != nil {
		t.Fatalf("restore of the differential: %v", err)
	}
	s.StatsEqual(t, target.Conn, req.As, diff.Snapshot.Tables)
	for _, ts := range diff.Snapshot.Tables {
		if !storedAsRows(diff, ts.Table) {
			continue
		}
		one := req
		one.As, one.Tables = enginetest.NewName("rowtable"), []engines.TableRef{ts.Table}
		s.DropAtCleanup(t, target.Conn, one.As)
		if _, err := restore.Restore(t.Context(), one); err != nil {
			t.Fatalf("restore of table %s alone: %v", ts.Table, err)
		}
		s.StatsEqual(t, target.Conn, one.As, []engines.TableStats{ts})
	}
	return full, diff
}

func storedAsRows(m *repository.Manifest, t engines.TableRef) bool {
	for _, p := range m.Parts {
		if p.Table != nil && *p.Table == t && p.Method == repository.MethodRows {
			return true
		}
	}
	return false
}

// Stored is how a differential must have stored a table: its method
// (Manifest.TableMethod) and words its parts' reasons contain.
type Stored struct{ Method, Reason string }

// CheckStored fails t for each table of schema that diff did not store as
// want says.
func CheckStored(t *testing.T, diff *repository.Manifest, schema string, want map[string]Stored) {
	t.Helper()
	for name, w := range want {
		table := engines.TableRef{Schema: schema, Name: name}
		method, reasons := diff.TableMethod(table)
		reason := strings.Join(reasons, "; ")
		if method != w.Method || !strings.Contains(reason, w.Reason) {
			t.Errorf("%s stored as %q (%s), want %s (%s)", table, method, reason, w.Method, w.Reason)
		}
	}
}
