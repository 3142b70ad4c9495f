//go:build unix

package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// TestSpecialFiles: file(), tls_cert and the policy file itself read only
// regular files. A FIFO used to block `config validate` forever (deaf to
// SIGTERM); now it is refused at once, as are devices and directories.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"fifo", fifo, "is a named pipe (FIFO), not a regular file"},
		{"device", "/dev/zero", "is a device, not a regular file"},
		{"directory", dir, "is a directory, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(minimalPolicy, `env("DBOPS_TEST_UNSET_PASSPHRASE")`, fmt.Sprintf("file(%q)", tc.path), 1)
			_, diags, out := parseBounded(t, []byte(src), filepath.Join(dir, "p.hcl"), 10*time.Second)
			if errs := errorsOf(diags); len(errs) != 1 || !strings.Contains(out, "cannot read secret file: "+tc.path+" "+tc.want) {
				t.Errorf("file(): %s", out)
			}
			tls := minimalPolicy + fmt.Sprintf("daemon {\n  request_listen = \"0.0.0.0:9443\"\n  tls_cert = %q\n  tls_key = %q\n}\n", tc.path, tc.path)
			_, diags, out = parseBounded(t, []byte(tls), filepath.Join(dir, "p.hcl"), 10*time.Second)
			if errs := errorsOf(diags); len(errs) != 1 || !strings.Contains(out, "tls_cert: "+tc.path+" is ") || !strings.Contains(out, "not a PEM file") {
				t.Errorf("tls_cert: %s", out)
			}
			done := make(chan hcl.Diagnostics, 1)
			go func() { _, d := Load(tc.path); done <- d }()
			select {
			case d := <-done:
				if !strings.Contains(d.Error(), tc.path+" "+tc.want) {
					t.Errorf("Load: %v", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Load still waiting")
			}
		})
	}
}
