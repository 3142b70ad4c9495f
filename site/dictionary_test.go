package site_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/site"
)

// TestDictionaryNotSupported: a database whose engine has no dictionary
// (SQL Server, known by name only) yields ErrNotSupported, which the CLI
// and the daemon report as "not supported", never as a failure.
func TestDictionaryNotSupported(t *testing.T) {
	cfg, diags := config.Parse([]byte(enginesPolicy), "engines.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, err := site.Dictionary(context.Background(), cfg, cfg.Databases["hub"])
	if !errors.Is(err, dictionary.ErrNotSupported) {
		t.Errorf("dictionary of an mssql database: %v, want ErrNotSupported", err)
	}
}
