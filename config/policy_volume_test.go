package config

import "testing"

// TestVolumeBlock: the sample's volume block is read in file order, and a
// policy without one gets the default threshold.
func TestVolumeBlock(t *testing.T) {
	path := "../config.hcl"
	cfg, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v := cfg.Volume
	if v.ExactRows() != 100000 || len(v.Tables) != 2 {
		t.Fatalf("volume: %+v", v)
	}
	if got := v.Tables[0]; got.Label != "自然人库" || got.Database != "queue" || got.Table != "public.persons" {
		t.Errorf("first table %+v", got)
	}
	if got := v.Tables[1]; got.Label != "法人库" || got.Database != "selfservice" || got.Table != "companies" {
		t.Errorf("second table %+v", got)
	}
	cfg, diags = Load("testdata/good/minimal.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Volume.ExactRows() != DefaultExactRowsBelow || len(cfg.Volume.Tables) != 0 {
		t.Errorf("no volume block: %+v", cfg.Volume)
	}
}
