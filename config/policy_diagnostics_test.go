package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDiagnosticsBackupDuration: backup_duration sets backup-duration-trend's
// limit without a backup window; a value that is no duration is refused
// at its position.
func TestDiagnosticsBackupDuration(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET", "")
	os.Unsetenv("DBOPS_TEST_UNSET")
	load := func(v string) (*Config, string, bool) {
		// policySite's policy starts on line 10: backup_duration is on 13.
		cfg, diags := Parse([]byte(policySite(`  full         = "monthly"
  differential = "weekly"
  diagnostics {
    backup_duration = `+v+`
  }
`)), "p.hcl")
		var out bytes.Buffer
		PrintDiagnostics(&out, diags)
		return cfg, out.String(), diags.HasErrors()
	}
	cfg, out, bad := load(`"6h"`)
	if bad {
		t.Fatal(out)
	}
	if g := cfg.DiagnosticsFor(cfg.Databases["db"]); g.BackupDuration != 6*time.Hour {
		t.Errorf("backup_duration = %v", g.BackupDuration)
	}
	if _, out, bad := load(`"six hours"`); !bad || !strings.Contains(out, "p.hcl:13:23: error: Invalid backup_duration") {
		t.Errorf("a bad backup_duration: refused %v:\n%s", bad, out)
	}
}
