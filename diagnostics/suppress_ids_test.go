package diagnostics_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/diagnostics"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

const suppressPolicy = `storage "primary" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "standard" {
  full         = "monthly"
  differential = "biweekly"
  diagnostics {
    suppress %q {
      reason = "nightly batch"
      until  = "2027-01-01"
    }
  }
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/queue"
  policy = "standard"
}
`

func loadPolicy(t *testing.T, src string) (string, bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := config.Load(path)
	var out bytes.Buffer
	config.PrintDiagnostics(&out, diags)
	return out.String(), diags.HasErrors()
}

// TestSuppressCheckIDs: with the diagnostics catalog linked, the policy
// loader (config validate, the daemon's load and reload) refuses a
// suppression of a check that does not exist, at the label's position
// and with the nearest id; every id of the catalog passes; the sample
// config.hcl still validates.
func TestSuppressCheckIDs(t *testing.T) {
	t.Setenv("DBOPS_TEST_UNSET_PASSPHRASE", "")
	var ids []string
	for _, c := range diagnostics.Checks() {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	if got := diagmodel.CheckIDs(); !slices.Equal(got, ids) {
		t.Fatalf("registered ids %v, catalog %v", got, ids)
	}

	out, bad := loadPolicy(t, strings.Replace(suppressPolicy, "%q", `"long-transacton"`, 1))
	if !bad {
		t.Fatalf("an unknown check id was accepted:\n%s", out)
	}
	for _, want := range []string{"policy.hcl:13:14: error: Unknown check id",
		`suppress "long-transacton": no check has this id`, `Did you mean "long-transaction"?`} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
	// Far from every id: no suggestion, still refused.
	if out, bad := loadPolicy(t, strings.Replace(suppressPolicy, "%q", `"tablespace-full"`, 1)); !bad || strings.Contains(out, "Did you mean") {
		t.Errorf("tablespace-full: refused %v:\n%s", bad, out)
	}

	for _, id := range ids {
		if out, bad := loadPolicy(t, strings.Replace(suppressPolicy, "%q", `"`+id+`"`, 1)); bad {
			t.Errorf("suppress %q refused:\n%s", id, out)
		}
	}

	src, err := os.ReadFile("../config.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`env\("([A-Za-z0-9_]+)"\)`).FindAllSubmatch(src, -1) {
		t.Setenv(string(m[1]), "")
		os.Unsetenv(string(m[1]))
	}
	_, diags := config.Load("../config.hcl")
	if diags.HasErrors() {
		var b bytes.Buffer
		config.PrintDiagnostics(&b, diags)
		t.Errorf("config.hcl does not validate:\n%s", b.String())
	}
}
