package requesttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/dbopsd/dbopsd/config"
	_ "github.com/dbopsd/dbopsd/engines/all" // config validates engines through their registrations
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

// The cast. Outsider has a key but is not in the policy.
const (
	DBA       = "zhang.wei" // dba, Ed25519
	DBA2      = "li.na"     // dba, ECDSA P-256
	Approver  = "wang.fang" // approver and auditor, Ed25519
	Approver2 = "zhao.min"  // approver, ECDSA P-256
	Auditor   = "chen.jie"  // auditor only
	Outsider  = "outsider"
)

// Site is a policy and the keys of its signers.
type Site struct {
	Dir        string
	ConfigPath string
	StateDir   string
	Config     *config.Config
	Keys       map[string]sshtest.Key
}

var cast = []struct{ name, typ, roles string }{
	{DBA, "ed25519", `["dba"]`},
	{DBA2, "ecdsa", `["dba"]`},
	{Approver, "ed25519", `["approver", "auditor"]`},
	{Approver2, "ecdsa", `["approver"]`},
	{Auditor, "ed25519", `["auditor"]`},
	{Outsider, "ed25519", ""},
}

// NewSite makes the keys and writes and loads the policy.
func NewSite(t testing.TB) *Site {
	t.Helper()
	dir := t.TempDir()
	s := &Site{Dir: dir, ConfigPath: filepath.Join(dir, "config.hcl"), StateDir: filepath.Join(dir, "state"), Keys: map[string]sshtest.Key{}}
	keyDir := filepath.Join(dir, "keys")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var signers strings.Builder
	for _, c := range cast {
		k := sshtest.NewKey(t, keyDir, c.typ, c.name)
		s.Keys[c.name] = k
		if c.roles != "" {
			fmt.Fprintf(&signers, "signer %q {\n  public_key = %q\n  roles = %s\n}\n\n", c.name, k.Line, c.roles)
		}
	}
	hcl := fmt.Sprintf(`daemon {
  state_dir = %q
}

storage "local" {
  type = "local"
  path = %q
}

repository {
  storage    = "local"
  passphrase = env("DBOPS_REQUESTTEST_UNSET")
}

policy "standard" {}

database "queue" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/queue"
  policy = "standard"
}

database "hall" {
  engine = "mariadb"
  dsn    = "dbops@tcp(127.0.0.1:3306)/hall"
  policy = "standard"
}

restore_target "scratch-pg" {
  engine  = "postgres"
  dsn     = "postgres://dbops@127.0.0.1:5433/postgres"
  scratch = true
}

restore_target "scratch-mysql" {
  engine  = "mariadb"
  dsn     = "dbops@tcp(127.0.0.1:3307)/"
  scratch = true
}

restore_target "standby-pg" {
  engine        = "postgres"
  dsn           = "postgres://dbops@127.0.0.1:5434/postgres"
  allow_restore = true
}

restore_target "prod-pg" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/postgres"
}

%s
approvals {
  drill       = 1
  restore     = 2
  maintenance = 2
}
`, s.StateDir, filepath.Join(dir, "repo"), signers.String())
	if err := os.WriteFile(s.ConfigPath, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(s.ConfigPath)
	if diags.HasErrors() {
		t.Fatalf("test policy does not validate: %s", diags.Error())
	}
	s.Config = cfg
	return s
}

// Signer loads the private key of name.
func (s *Site) Signer(t testing.TB, name string) ssh.Signer {
	t.Helper()
	k, ok := s.Keys[name]
	if !ok {
		t.Fatalf("no key for %q", name)
	}
	signer, err := request.LoadKey(k.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// Sign adds a signature by name's key under name.
func (s *Site) Sign(t testing.TB, r *request.Request, name string) {
	t.Helper()
	if err := r.Sign(s.Signer(t, name), name); err != nil {
		t.Fatal(err)
	}
}
