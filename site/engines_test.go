package site_test

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

const enginesPolicy = `daemon {
  state_dir  = "/nonexistent"
  pg_bin_dir = "/opt/pg17/bin"
}
storage "repo" {
  type = "local"
  path = "/nonexistent/repo"
}
repository {
  storage    = "repo"
  passphrase = "not used"
}
policy "p" {
  full         = "monthly"
  differential = "weekly"
}
database "pg" {
  engine = "postgresql"
  dsn    = "postgres://dbops@10.1.1.11/pg"
  policy = "p"
}
database "maria" {
  engine = "mariadb"
  dsn    = "dbops@tcp(10.1.1.12:3306)/maria"
  policy = "p"
}
database "hub" {
  engine = "sqlserver"
  dsn    = "sqlserver://dbops@10.1.1.13?database=hub"
  policy = "p"
}
restore_target "scratch-pg" {
  engine  = "postgres"
  dsn     = "host=10.1.1.50 dbname=postgres"
  scratch = true
}
`

// Each engine's client tools come from the daemon setting its registration
// names: pg_bin_dir for PostgreSQL, none for the others.
func TestEngineConns(t *testing.T) {
	cfg, diags := config.Parse([]byte(enginesPolicy), "engines.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for name, want := range map[string]string{"pg": "/opt/pg17/bin", "maria": "", "hub": ""} {
		db := cfg.Databases[name]
		if c := site.SourceConn(cfg, db); c.BinDir != want || c.DSN != db.DSN {
			t.Errorf("SourceConn(%s) = %+v, want BinDir %q", name, c, want)
		}
	}
	if c := site.TargetConn(cfg, cfg.RestoreTargets["scratch-pg"]); c.BinDir != "/opt/pg17/bin" {
		t.Errorf("TargetConn(scratch-pg).BinDir = %q", c.BinDir)
	}
	for name, server := range map[string]string{"pg": "10.1.1.11:5432", "maria": "10.1.1.12:3306", "hub": "10.1.1.13:1433"} {
		if got := cfg.Databases[name].Server(); got != server {
			t.Errorf("%s: Server() = %q, want %q", name, got, server)
		}
	}
}

// The policy normalises aliases to the registered names; site builds the
// adapters of those names, SQL Server ("sqlserver") included.
func TestEngine(t *testing.T) {
	cfg, diags := config.Parse([]byte(enginesPolicy), "engines.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for name, want := range map[string]string{"pg": "postgres", "maria": "mysql", "hub": "mssql"} {
		db := cfg.Databases[name]
		e, err := site.Engine(db.Engine)
		if err != nil || e.Name() != want || db.Engine != want {
			t.Errorf("%s (engine %q): Engine = %v, %v; want %s", name, db.Engine, e, err, want)
		}
	}
}

// SQL Server's own settings reach the adapter: backup_dir and
// backup_dir_local through the source's and the restore target's
// connections, compression = false as the backup job's NoCompression.
func TestMSSQLSettings(t *testing.T) {
	src := strings.Replace(enginesPolicy, `  dsn    = "sqlserver://dbops@10.1.1.13?database=hub"
  policy = "p"`, `  dsn    = "sqlserver://dbops@10.1.1.13?database=hub"
  policy = "p"
  compression      = false
  backup_dir       = "\\\\fs1\\dbops"
  backup_dir_local = "/mnt/dbops"`, 1) + `restore_target "mssql" {
  engine     = "mssql"
  dsn        = "sqlserver://dbops@10.1.1.52?database=master"
  scratch    = true
  backup_dir = "/var/opt/mssql/dbops"
}
`
	cfg, diags := config.Parse([]byte(src), "engines.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if c := site.SourceConn(cfg, cfg.Databases["hub"]); c.BackupDir != `\\fs1\dbops` || c.BackupDirLocal != "/mnt/dbops" {
		t.Errorf("SourceConn(hub) = %+v", c)
	}
	if c := site.SourceConn(cfg, cfg.Databases["pg"]); c.BackupDir != "" {
		t.Errorf("SourceConn(pg) = %+v", c)
	}
	if c := site.TargetConn(cfg, cfg.RestoreTargets["mssql"]); c.BackupDir != "/var/opt/mssql/dbops" || c.BackupDirLocal != "" {
		t.Errorf("TargetConn(mssql) = %+v", c)
	}
	repo := &repository.Repo{}
	for name, want := range map[string]bool{"hub": true, "pg": false} {
		j, err := site.BackupJob(cfg, cfg.Databases[name], repository.Full, site.Run{Repo: repo})
		if err != nil || j.NoCompression != want || j.CopyOnly {
			t.Errorf("BackupJob(%s): NoCompression %v, CopyOnly %v, %v; want NoCompression %v, CopyOnly false (the caller decides)", name, j.NoCompression, j.CopyOnly, err, want)
		}
	}
}
