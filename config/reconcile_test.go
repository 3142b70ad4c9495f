package config

import (
	"github.com/dbopsd/dbopsd/when"

	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/engines"
)

// TestReconcileBlock: a reconcile block decodes with its defaults, and
// every attribute is read.
func TestReconcileBlock(t *testing.T) {
	src := `
repository {
  storage    = "local"
  passphrase = env("DBOPS_GOOD_UNSET")
}
storage "local" {
  type = "local"
  path = "/srv/dbops"
}
policy "standard" {}
database "source" {
  engine = "mariadb"
  dsn    = "dbops@tcp(10.1.1.12:3306)/market"
  policy = "standard"
}
database "local" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/hub"
  policy = "standard"
}
reconcile "defaults" {
  left  = { database = "local", table = "public.persons" }
  right = { database = "source", table = "persons" }
  key   = ["id"]
}
reconcile "all" {
  left              = { database = "local", table = "public.firms" }
  right             = { database = "source", table = "market.firms" }
  key               = ["credit_code", "branch"]
  columns           = ["name", "capital"]
  where             = "deleted = 0"
  schedule          = "0 20 1,15 * *"
  window            = "19:00-07:00"
  rate_limit        = 50000
  statement_timeout = "90s"
  samples           = 5
}
`
	cfg, diags := Parse([]byte(src), "reconcile.hcl")
	if diags.HasErrors() {
		t.Fatalf("Parse: %v", diags)
	}
	for _, r := range cfg.Reconciles {
		r.Range, r.Left.Range, r.Right.Range, r.KeyRange, r.ColumnsRange = hcl.Range{}, hcl.Range{}, hcl.Range{}, hcl.Range{}, hcl.Range{}
	}
	want := map[string]*Reconcile{
		"defaults": {
			Name: "defaults", Key: []string{"id"}, Schedule: Biweekly,
			Left:             ReconcileSide{Database: "local", Table: engines.TableRef{Schema: "public", Name: "persons"}},
			Right:            ReconcileSide{Database: "source", Table: engines.TableRef{Name: "persons"}},
			StatementTimeout: DefaultReconcileTimeout, Samples: DefaultReconcileSamples,
		},
		"all": {
			Name: "all", Key: []string{"credit_code", "branch"}, Columns: []string{"name", "capital"},
			Left:  ReconcileSide{Database: "local", Table: engines.TableRef{Schema: "public", Name: "firms"}},
			Right: ReconcileSide{Database: "source", Table: engines.TableRef{Schema: "market", Name: "firms"}},
			Where: "deleted = 0", Schedule: "0 20 1,15 * *", Window: "19:00-07:00", RateLimit: 50000,
			StatementTimeout: 90 * time.Second, Samples: 5,
		},
	}
	// Schedule and window are parsed once, at load: check, then compare
	// the rest.
	for n, r := range cfg.Reconciles {
		if r.ScheduleSpec == nil || r.ScheduleSpec.String() == "" {
			t.Errorf("%s: schedule not parsed", n)
		}
		if r.Window != "" && r.WindowSpan.String() != r.Window {
			t.Errorf("%s: window parsed as %s", n, r.WindowSpan)
		}
		r.ScheduleSpec, r.WindowSpan = nil, when.Window{}
	}
	if !reflect.DeepEqual(cfg.Reconciles, want) {
		for n, r := range cfg.Reconciles {
			t.Errorf("%s = %+v\nwant %+v", n, *r, *want[n])
		}
	}
	if _, err := cfg.Reconcile("nope"); err == nil {
		t.Error("Reconcile(nope) found something")
	}
}
