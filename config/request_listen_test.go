package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/api/apitest"
)

// TestRequestListen: daemon.request_listen with tls_cert and tls_key loads
// with the paths resolved against the policy file's directory; a
// certificate past its end, and TLS files without request_listen, are
// warnings at the attribute, not errors. (The errors are fixtures in
// testdata/bad, listed in badConfigs.)
func TestRequestListen(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET_PASSPHRASE", "")
	os.Unsetenv("DBOPS_TEST_UNSET_PASSPHRASE")
	dir := t.TempDir()
	ca := apitest.NewCA(t, dir)
	ca.Issue(t, filepath.Join(dir, "tls", "good.crt"), filepath.Join(dir, "tls", "good.key"))
	ca.IssueUntil(t, filepath.Join(dir, "tls", "old.crt"), filepath.Join(dir, "tls", "old.key"), time.Now().Add(-time.Hour))
	base := `storage "s" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "s"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
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

	for _, tt := range []struct {
		name, daemon   string
		listen         string
		cert, key      string
		warning, where string // the one warning, at line:column
	}{
		{name: "off", daemon: "", listen: "", cert: "", key: ""},
		{name: "relative paths", daemon: "  request_listen = \"127.0.0.1:0\"\n  tls_cert = \"tls/good.crt\"\n  tls_key = \"tls/good.key\"\n",
			listen: "127.0.0.1:0", cert: filepath.Join(dir, "tls/good.crt"), key: filepath.Join(dir, "tls/good.key")},
		{name: "absolute paths", daemon: fmt.Sprintf("  request_listen = \"[::]:9443\"\n  tls_cert = %q\n  tls_key = %q\n", filepath.Join(dir, "tls/good.crt"), filepath.Join(dir, "tls/good.key")),
			listen: "[::]:9443", cert: filepath.Join(dir, "tls/good.crt"), key: filepath.Join(dir, "tls/good.key")},
		{name: "empty is off", daemon: "  request_listen = \"\"\n  tls_cert = \"\"\n  tls_key = \"\"\n"},
		{name: "expired certificate", daemon: "  request_listen = \"0.0.0.0:9443\"\n  tls_cert = \"tls/old.crt\"\n  tls_key = \"tls/old.key\"\n",
			listen: "0.0.0.0:9443", cert: filepath.Join(dir, "tls/old.crt"), key: filepath.Join(dir, "tls/old.key"),
			warning: "the certificate in tls_cert (127.0.0.1) expired at", where: "11:14"},
		{name: "certificate without listener", daemon: "  tls_cert = \"tls/good.crt\"\n", cert: filepath.Join(dir, "tls/good.crt"),
			warning: "tls_cert has no effect without request_listen", where: "10:14"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := load(t, tt.daemon)
			if diags.HasErrors() || cfg == nil {
				t.Fatalf("errors: %v", diags)
			}
			dm := cfg.Daemon
			if dm.RequestListen != tt.listen || dm.TLSCert != tt.cert || dm.TLSKey != tt.key {
				t.Errorf("decoded request_listen %q, tls_cert %q, tls_key %q; want %q, %q, %q", dm.RequestListen, dm.TLSCert, dm.TLSKey, tt.listen, tt.cert, tt.key)
			}
			switch {
			case tt.warning == "" && len(diags) > 0:
				t.Errorf("warnings: %v", diags)
			case tt.warning != "":
				if len(diags) != 1 || !strings.Contains(diags[0].Detail, tt.warning) || diags[0].Subject == nil || posOf(diags[0].Subject) != tt.where {
					t.Errorf("want one warning %q at %s, got %v", tt.warning, tt.where, diags)
				}
			}
		})
	}

	// A key file the daemon's user cannot read refuses the policy (as root
	// can read anything, only when not root).
	if os.Getuid() != 0 {
		if err := os.Chmod(filepath.Join(dir, "tls", "good.key"), 0); err != nil {
			t.Fatal(err)
		}
		_, diags := load(t, "  request_listen = \"127.0.0.1:9443\"\n  tls_cert = \"tls/good.crt\"\n  tls_key = \"tls/good.key\"\n")
		if errs := errorsOf(diags); len(errs) != 1 || !strings.Contains(errs[0].Detail, "permission denied") {
			t.Errorf("an unreadable key: %v", diags)
		}
	}
}
