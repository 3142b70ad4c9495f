package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiagnosticsBackupDuration: backup_duration sets backup-duration-trend's
// limit without a backup window; a value that is no duration is refused
// at its position.
func TestDiagnosticsBackupDuration(t *testing.T) {
	const src = `storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = "x"
}
policy "p" {
  full         = "monthly"
  differential = "weekly"
  diagnostics {
    backup_duration = %s
  }
}
database "d" {
  engine = "postgres"
  dsn    = "postgres://u@h/d"
  policy = "p"
}
`
	load := func(v string) (*Config, string, bool) {
		path := filepath.Join(t.TempDir(), "p.hcl")
		if err := os.WriteFile(path, []byte(strings.Replace(src, "%s", v, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(path)
		var out bytes.Buffer
		PrintDiagnostics(&out, diags)
		return cfg, out.String(), diags.HasErrors()
	}
	cfg, out, bad := load(`"6h"`)
	if bad {
		t.Fatal(out)
	}
	if g := cfg.DiagnosticsFor(cfg.Databases["d"]); g.BackupDuration != 6*time.Hour {
		t.Errorf("backup_duration = %v", g.BackupDuration)
	}
	if _, out, bad := load(`"six hours"`); !bad || !strings.Contains(out, "p.hcl:13:23: error: Invalid backup_duration") {
		t.Errorf("a bad backup_duration: refused %v:\n%s", bad, out)
	}
}
