// Package policytest builds policy files for tests and benchmarks that need
// many databases.
package policytest

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Synthetic is a policy for n databases on n/10 servers, a third each on an
// important (monthly, weekly, verify after each; critical), a standard
// (monthly, biweekly, window, verify after full) and an archive (quarterly,
// biweekly, weekly verification) policy, with its state, socket and local
// repository under dir. The daemon's and the scheduler's benchmarks use it.
func Synthetic(n int, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `daemon {
  state_dir      = %q
  socket         = %q
  http_listen    = "127.0.0.1:0"
  max_parallel   = 4
  max_per_server = 1
  timezone       = "Asia/Shanghai"
}
storage "primary" {
  type = "local"
  path = %q
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_BENCH_PASSPHRASE")
}
restore_target "scratch" {
  engine  = "postgres"
  dsn     = "postgres://dbops@10.9.255.1:5432/postgres"
  scratch = true
}
policy "important" {
  full          = "monthly"
  differential  = "weekly"
  verify        = "after_each"
  verify_target = "scratch"
}
policy "standard" {
  full          = "monthly"
  differential  = "biweekly"
  window        = "01:00-05:00"
  verify        = "after_full"
  verify_target = "scratch"
}
policy "archive" {
  full          = "quarterly"
  differential  = "biweekly"
  verify        = "0 6 * * 6"
  verify_target = "scratch"
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "dbopsd.sock"), filepath.Join(dir, "repo"))
	policies := []string{"important", "standard", "archive"}
	for i := range n {
		fmt.Fprintf(&b, "database \"db%03d\" {\n  engine   = \"postgres\"\n  dsn      = \"postgres://dbops@10.9.%d.%d:5432/db%03d\"\n  password = env(\"DB%03d_PASSWORD\")\n  policy   = %q\n  critical = %v\n  description = \"业务库 %d\"\n}\n",
			i, i/100, i%100/10+1, i, i, policies[i%3], i%3 == 0, i)
	}
	return b.String()
}
