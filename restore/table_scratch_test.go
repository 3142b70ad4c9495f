package restore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/restore"
)

// crashingScratchEngine is the real PostgreSQL adapter acting, for a table
// restore, as SQL Server's does: it records a scratch database through
// RestoreRequest.Scratch before creating it, and then "crashes" before
// dropping it (done(false)), as a killed dbopsd would leave it.
type crashingScratchEngine struct {
	engines.Engine
	name string
}

func (e *crashingScratchEngine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, src engines.PartSource) (*engines.RestoreReport, error) {
	if req.Scratch != nil {
		done, err := req.Scratch(ctx, e.name)
		if err != nil {
			return nil, err
		}
		done(ctx, false)
	}
	return e.Engine.Restore(ctx, target, req, src)
}

// TestTableRestoreScratchInLedger: the scratch database an engine creates
// for a table restore is in the scratch ledger before it exists, on the
// target the restore writes to (allow_restore, not a scratch target), and
// the stale cleanup drops what a crash left there; a whole restore records
// none.
func TestTableRestoreScratchInLedger(t *testing.T) {
	f := newFixture(t)
	name := "dbopsd_tbl_" + randHex(t)
	eng := &crashingScratchEngine{Engine: f.eng, name: name}
	target := restore.Target{Name: "standby", Conn: f.target.Conn, AllowRestore: true}
	as := "tblscratch_" + randHex(t)
	t.Cleanup(func() { f.eng.DropDatabase(context.Background(), target.Conn, as) })
	req := f.request()
	req.Engine, req.Target, req.As, req.Tables = eng, target, as, []engines.TableRef{{Schema: "hall", Name: "ratings"}}
	res, err := restore.Restore(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	rows := f.ledger(t, name)
	if len(rows) != 1 || rows[0].Purpose != restore.PurposeTableRestore || rows[0].Target != "standby" || rows[0].State != catalog.ScratchCreated ||
		rows[0].JobID != res.JobID || rows[0].BackupID != f.full.ID || rows[0].Server != restore.ServerOf(f.eng, target.Conn) {
		t.Fatalf("ledger: %+v (job %d)", rows, res.JobID)
	}

	// The crash left it: a database of that name, which the cleanup drops
	// although the target is no scratch target.
	f.dst.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { f.dst.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	rep, err := restore.CleanupStale(t.Context(), restore.Cleanup{Catalog: f.cat, Before: time.Now().Add(time.Minute),
		Targets: []restore.CleanupTarget{{Target: target, Engine: f.eng}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Dropped, func(s catalog.Scratch) bool { return s.Name == name }) || f.exists(t, name) {
		t.Errorf("cleanup dropped %+v, left %+v; %s exists: %v", rep.Dropped, rep.Left, name, f.exists(t, name))
	}
	if rows := f.ledger(t, name); len(rows) != 1 || rows[0].State != catalog.ScratchDropped {
		t.Errorf("ledger after the cleanup: %+v", rows)
	}

	// A whole restore: no hook, nothing recorded.
	whole := "dbopsd_tbl_" + randHex(t)
	eng.name = whole
	req.Tables, req.As = nil, "tblscratch_"+randHex(t)
	t.Cleanup(func() { f.eng.DropDatabase(context.Background(), target.Conn, req.As) })
	if _, err := restore.Restore(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if rows := f.ledger(t, whole); len(rows) != 0 {
		t.Errorf("a whole restore recorded %+v", rows)
	}
}
