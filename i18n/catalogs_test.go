package i18n_test

import (
	"slices"
	"testing"

	// Every package that registers a catalog, so that TestCatalogs checks
	// them all. A new owner adds itself here.
	_ "github.com/dbopsd/dbopsd/diagnostics"
	_ "github.com/dbopsd/dbopsd/dictionary"
	_ "github.com/dbopsd/dbopsd/drill"
	_ "github.com/dbopsd/dbopsd/engines"
	_ "github.com/dbopsd/dbopsd/engines/mssql"
	_ "github.com/dbopsd/dbopsd/engines/mysql"
	_ "github.com/dbopsd/dbopsd/engines/postgres"
	_ "github.com/dbopsd/dbopsd/maintenance"
	_ "github.com/dbopsd/dbopsd/notify"
	_ "github.com/dbopsd/dbopsd/reconcile"
	_ "github.com/dbopsd/dbopsd/register"
	_ "github.com/dbopsd/dbopsd/report"
	_ "github.com/dbopsd/dbopsd/site"
	_ "github.com/dbopsd/dbopsd/volume"

	"github.com/dbopsd/dbopsd/i18n"
)

// TestCatalogs: every key of every registered catalog has a sentence in
// every language, with the same placeholders.
func TestCatalogs(t *testing.T) {
	owners := i18n.Owners()
	for _, want := range []string{"diagnostics", "drill", "engines", "engines/mssql", "engines/mysql", "engines/postgres", "maintenance", "notify", "reconcile", "register", "report", "dictionary", "volume", "site"} {
		if !slices.Contains(owners, want) {
			t.Errorf("%s has not registered its catalog (registered: %q)", want, owners)
		}
	}
	for _, err := range i18n.Check() {
		t.Error(err)
	}
	for _, lang := range i18n.Langs() {
		if n := len(i18n.Keys(lang, "")); n < 250 {
			t.Errorf("%s: %d keys", lang, n)
		}
	}
}
