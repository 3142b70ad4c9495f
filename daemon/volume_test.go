package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/volume"
)

// TestVolumeJob: with a volume { } block the daemon plans a daily sample,
// which stores one sample per database through history and records a
// site-wide job the plan reads back; without the block nothing is planned.
func TestVolumeJob(t *testing.T) {
	ctx := context.Background()
	pg := harness.SourcePostgres(t)
	name := fmt.Sprintf("volume_job_%d", time.Now().UnixNano())
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, "CREATE TABLE persons (id int PRIMARY KEY); INSERT INTO persons SELECT generate_series(1, 42)")
	dir := t.TempDir()
	policy := fmt.Sprintf(`daemon {
  state_dir = %q
}
storage "local" {
  type = "local"
  path = %q
}
repository {
  storage    = "local"
  passphrase = env("VOLUME_TEST_PASS")
}
policy "p" {
  full         = "monthly"
  differential = "none"
}
database "rating" {
  engine = "postgres"
  dsn    = "postgres://%s@127.0.0.1:%d/%s?sslmode=disable"
  policy = "p"
}
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), pg.User, pg.Port, name)
	t.Setenv("VOLUME_TEST_PASS", "volume job test")
	load := func(extra string) *config.Config {
		path := filepath.Join(dir, "policy.hcl")
		if err := os.WriteFile(path, []byte(policy+extra), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := config.Load(path)
		if diags.HasErrors() {
			t.Fatalf("test policy: %v", diags)
		}
		return cfg
	}
	if es, err := planVolume(load("")); err != nil || len(es) != 0 {
		t.Errorf("without a volume block: %d entries, %v", len(es), err)
	}
	cfg := load("volume {\n  table \"自然人库\" {\n    database = \"rating\"\n    table = \"public.persons\"\n  }\n}\n")
	if _, err := site.InitRepository(ctx, cfg, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	entries, err := planVolume(cfg)
	if err != nil || len(entries) != 1 {
		t.Fatalf("planned %d entries, %v", len(entries), err)
	}
	h := catalogHistory{cat}
	facts, err := h.Facts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := entries[0].Due(facts, time.Now()); !d.Due {
		t.Error("a volume sample that was never taken is not due")
	}

	r := NewRegistry(func() *Env { return &Env{Config: cfg, Catalog: cat, Logger: hclog.NewNullLogger()} }, hclog.NewNullLogger())
	if err := r.Run(ctx, &schedule.Task{Kind: KindVolume, Trigger: schedule.TriggerSchedule}); err != nil {
		t.Fatal(err)
	}
	samples, err := volume.Load(ctx, cat, "rating", time.Time{}, time.Time{})
	if err != nil || len(samples["rating"]) != 1 {
		t.Fatalf("samples %v, %v", samples, err)
	}
	s := samples["rating"][0]
	if len(s.Tables) != 1 || s.Tables[0].Name != "persons" || s.Tables[0].Rows != 42 || s.Tables[0].RowsEstimated {
		t.Errorf("sample %+v", s)
	}
	if docs, err := (history.Store{Catalog: cat}).List(ctx, catalog.DocumentQuery{Kind: history.KindVolume}); err != nil || len(docs) != 1 {
		t.Errorf("history: %d documents, %v", len(docs), err)
	}
	if facts, err = h.Facts(ctx); err != nil {
		t.Fatal(err)
	}
	if facts.Site[KindVolume].IsZero() {
		t.Fatal("the plan does not see the volume job's success")
	}
	if d := entries[0].Due(facts, time.Now()); d.Due {
		t.Errorf("due again right after a sample: %s", d.Why)
	}

	// The job keeps the dictionary when none was stored this month, then
	// only when the schema changed: the monthly report's schema changes
	// need nobody to run `dbopsd dict`.
	dicts := func() int {
		docs, err := (history.Store{Catalog: cat}).List(ctx, catalog.DocumentQuery{Kind: history.KindDictionary, Database: "rating"})
		if err != nil {
			t.Fatal(err)
		}
		return len(docs)
	}
	if n := dicts(); n != 1 {
		t.Fatalf("after the first sample: %d dictionaries stored, want 1", n)
	}
	if err := r.Run(ctx, &schedule.Task{Kind: KindVolume, Trigger: schedule.TriggerSchedule}); err != nil {
		t.Fatal(err)
	}
	if n := dicts(); n != 1 {
		t.Errorf("an unchanged schema stored its dictionary again: %d", n)
	}
	pg.Exec(t, name, "ALTER TABLE persons ADD COLUMN name text")
	if err := r.Run(ctx, &schedule.Task{Kind: KindVolume, Trigger: schedule.TriggerSchedule}); err != nil {
		t.Fatal(err)
	}
	if n := dicts(); n != 2 {
		t.Errorf("after a new column: %d dictionaries stored, want 2", n)
	}
}
