package site_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/site"
)

// TestDiagnoseRun: the policy's diagnostics block reaches the run
// (thresholds, capacity, suppressions of that database only); an engine
// this build cannot run yields a run whose every check is "not checked"
// with the reason, not an error.
func TestDiagnoseRun(t *testing.T) {
	dir := t.TempDir()
	src := `
storage "s" {
  type = "local"
  path = "` + filepath.Join(dir, "repo") + `"
}
repository {
  storage    = "s"
  passphrase = "site diagnostics test"
}
policy "p" {
  diagnostics {
    long_transaction = "20m"
    big_table        = "1GiB"
    capacity         = "100GiB"
    horizon_days     = 30
    data_path        = "/var/lib/postgresql"
    checkpoint_age   = "30m"
    slot_retained    = "2GiB"
    suppress "ssl-off" {
      database = "hall"
      reason   = "internal network"
      until    = "2099-01-01"
    }
    suppress "big-table" {
      database = "other"
      reason   = "not this one"
      until    = "2099-01-01"
    }
  }
}
database "hall" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:1/hall?sslmode=disable"
  policy = "p"
}
database "ledger" {
  engine = "mssql"
  dsn    = "sqlserver://dbops@127.0.0.1:1433?database=ledger"
  policy = "p"
}
`
	path := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r := site.DiagnoseRun(cfg, cfg.Databases["hall"], "daily", nil)
	if r.Engine == nil || r.Thresholds.LongTransaction != 20*time.Minute || r.Thresholds.BigTableBytes != 1<<30 ||
		r.Thresholds.Horizon != 30*24*time.Hour || r.Capacity != 100<<30 || r.DataPath != "/var/lib/postgresql" || r.Thresholds.BlockedWait != diagnostics.DefaultThresholds().BlockedWait ||
		r.Thresholds.CheckpointAge != 30*time.Minute || r.Thresholds.SlotRetainedBytes != 2<<30 {
		t.Errorf("run %+v", r)
	}
	if len(r.Suppressions) != 1 || r.Suppressions[0].Check != "ssl-off" || r.Suppressions[0].Database != "hall" {
		t.Errorf("suppressions %+v", r.Suppressions)
	}

	lr := site.DiagnoseRun(cfg, cfg.Databases["ledger"], "monthly", nil)
	rep, err := lr.Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// No SQL Server listens there: only "unreachable" runs, and says so.
	if rep.Ran != 1 || rep.NotChecked == 0 {
		t.Errorf("mssql: ran %d, not checked %d", rep.Ran, rep.NotChecked)
	}
	for _, c := range rep.Checks {
		if c.Status == diagnostics.StatusNotChecked && !strings.HasPrefix(c.ID, "backup-") && !strings.HasPrefix(c.Reason, "unreachable: connecting to 127.0.0.1:1433") {
			t.Errorf("%s: reason %q is not the unreachable server", c.ID, c.Reason)
		}
	}
}
