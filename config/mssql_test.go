package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/api/apitest"
)

// TestMSSQLListen: the blob listener's settings load with the daemon's
// certificate (which then needs no request_listen); a SQL Server database
// in a policy without them validates (its backups say what to set). (The
// errors are fixtures in testdata/bad, listed in badConfigs.)
func TestMSSQLListen(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET_PASSPHRASE", "")
	os.Unsetenv("DBOPS_TEST_UNSET_PASSPHRASE")
	dir := t.TempDir()
	ca := apitest.NewCA(t, dir)
	ca.Issue(t, filepath.Join(dir, "tls", "good.crt"), filepath.Join(dir, "tls", "good.key"))
	ca.Issue(t, filepath.Join(dir, "tls", "other.crt"), filepath.Join(dir, "tls", "other.key"))
	base := `storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "standard" {
  full         = "monthly"
  differential = "biweekly"
}
database "hub" {
  engine = "sqlserver"
  dsn    = "sqlserver://dbops@10.1.1.13?database=hub"
  policy = "standard"
}
`
	policy := filepath.Join(dir, "policy.hcl")
	load := func(t *testing.T, daemon string) (*Config, hcl.Diagnostics) {
		t.Helper()
		if err := os.WriteFile(policy, []byte(base+"daemon {\n"+daemon+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(policy)
	}

	cfg, diags := load(t, "  mssql_listen = \"0.0.0.0:9444\"\n  mssql_url = \"https://dbopsd.example.com\"\n  tls_cert = \"tls/good.crt\"\n  tls_key = \"tls/good.key\"\n")
	if diags.HasErrors() || len(diags) != 0 {
		t.Fatalf("with a listener: %v", diags)
	}
	if dm := cfg.Daemon; dm.MSSQLListen != "0.0.0.0:9444" || dm.MSSQLURL != "https://dbopsd.example.com" || dm.TLSCert != filepath.Join(dir, "tls/good.crt") {
		t.Errorf("daemon: %+v", dm)
	}

	_, diags = load(t, "  mssql_listen = \"0.0.0.0:9444\"\n  mssql_url = \"https://dbopsd.example.com\"\n  tls_cert = \"tls/good.crt\"\n  tls_key = \"tls/other.key\"\n")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "do not load as a certificate and its key") {
		t.Errorf("a key of another certificate: %v", diags)
	}

	for _, u := range []string{"https://10.1.1.5", "https://dbopsd.example.com:9444", "http://dbopsd.example.com"} {
		_, diags = load(t, "  mssql_listen = \"0.0.0.0:9444\"\n  mssql_url = \""+u+"\"\n  tls_cert = \"tls/good.crt\"\n  tls_key = \"tls/good.key\"\n")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "not an IP address, on port 443") {
			t.Errorf("mssql_url %s: %v", u, diags)
		}
	}
	cfg, diags = load(t, "")
	if diags.HasErrors() || cfg == nil || cfg.Daemon.MSSQLListen != "" {
		t.Errorf("without a listener: %v", diags)
	}
}

// TestMSSQLNativeSettings: compression (default true), backup_dir and
// backup_dir_local on a SQL Server database and restore target. (The
// errors are fixtures in testdata/bad, listed in badConfigs.)
func TestMSSQLNativeSettings(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET_PASSPHRASE", "")
	os.Unsetenv("DBOPS_TEST_UNSET_PASSPHRASE")
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.hcl")
	load := func(t *testing.T, engine, db, target string) (*Config, hcl.Diagnostics) {
		t.Helper()
		dsn := map[string]string{"sqlserver": "sqlserver://dbops@10.1.1.13?database=hub", "postgres": "postgres://dbops@10.1.1.12/hub"}[engine]
		src := `storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "standard" {
  full         = "monthly"
  differential = "biweekly"
}
database "hub" {
  engine = "` + engine + `"
  dsn    = "` + dsn + `"
  policy = "standard"
` + db + `}
restore_target "scratch" {
  engine = "` + engine + `"
  dsn    = "` + dsn + `"
  scratch = true
` + target + `}
`
		if err := os.WriteFile(policy, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(policy)
	}
	cfg, diags := load(t, "sqlserver", "", "")
	if diags.HasErrors() || cfg.Databases["hub"].NoCompression || cfg.Databases["hub"].BackupDir != "" {
		t.Fatalf("defaults: %v %+v", diags, cfg.Databases["hub"])
	}
	cfg, diags = load(t, "sqlserver", "  compression = false\n  backup_dir = \"\\\\\\\\fs1\\\\dbops\"\n  backup_dir_local = \"/mnt/dbops\"\n",
		"  backup_dir = \"/var/opt/mssql/dbops\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if db := cfg.Databases["hub"]; !db.NoCompression || db.BackupDir != `\\fs1\dbops` || db.BackupDirLocal != "/mnt/dbops" {
		t.Errorf("database: %+v", db)
	}
	if tg := cfg.RestoreTargets["scratch"]; tg.BackupDir != "/var/opt/mssql/dbops" || tg.BackupDirLocal != "" {
		t.Errorf("restore target: %+v", tg)
	}
}
