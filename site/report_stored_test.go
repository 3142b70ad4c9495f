package site_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/internal/harness"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage/local"
	"github.com/dbopsd/dbopsd/volume"
)

func TestMain(m *testing.M) { harness.Main(m) }

// TestMonthlyReportFromDictionaryAndVolume: dictionary runs and volume
// samples stored before, in and after November, with a schema change in
// November, make the November report's data-volume section (the registered
// table first, under its label), its schema-change rows and its dictionary
// attachment; a database with nothing stored says it cannot be compared
// rather than "no change".
func TestMonthlyReportFromDictionaryAndVolume(t *testing.T) {
	ctx := context.Background()
	pg := harness.SourcePostgres(t)
	var rnd [4]byte
	rand.Read(rnd[:])
	name := "wire_" + hex.EncodeToString(rnd[:])
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, `
CREATE TABLE public.persons (id int PRIMARY KEY, name text);
COMMENT ON TABLE public.persons IS '自然人';
CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric);
INSERT INTO public.persons SELECT g, '张' || g FROM generate_series(1, 100) g;
INSERT INTO public.orders SELECT g, g FROM generate_series(1, 40) g;`)

	dir := t.TempDir()
	state, repoDir := filepath.Join(dir, "state"), filepath.Join(dir, "repo")
	t.Setenv("SITE_REPORT_PASS", "site report test passphrase")
	src := fmt.Sprintf(`daemon {
  state_dir = %q
  timezone  = "Asia/Shanghai"
}
storage "repo" {
  type = "local"
  path = %q
}
repository {
  storage    = "repo"
  passphrase = env("SITE_REPORT_PASS")
}
policy "p" {
  full = "monthly"
}
database "hub" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
database "spare" {
  engine = "postgres"
  dsn    = %q
  policy = "p"
}
volume {
  table "自然人库" {
    database = "hub"
    table    = "public.persons"
  }
}
report "monthly" {
  schedule = "monthly"
  kind     = "monthly"
  site     = "市大数据中心"
}
`, state, repoDir, pg.DSN(name), pg.DSN(name))
	path := filepath.Join(dir, "dbopsd.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatalf("test policy: %v", diags)
	}
	st, err := local.New(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Init(ctx, st, secret.New("site report test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	hs := history.Store{Repo: repo, Catalog: cat}
	hub := cfg.Databases["hub"]
	sh := cfg.Daemon.Location

	// take stores what the daemon's volume job and `dbopsd dict` store, as
	// if taken at day.
	take := func(day time.Time, dict bool) {
		t.Helper()
		if dict {
			d, err := site.Dictionary(ctx, cfg, hub)
			if err != nil {
				t.Fatal(err)
			}
			d.CollectedAt = day
			if _, err := dictionary.Save(ctx, hs, d); err != nil {
				t.Fatal(err)
			}
		}
		s, err := site.VolumeSample(ctx, cfg, cat, hub, day)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := volume.Save(ctx, hs, s); err != nil {
			t.Fatal(err)
		}
	}
	oct20 := time.Date(2026, 10, 20, 2, 0, 0, 0, sh)
	nov3 := time.Date(2026, 11, 3, 2, 0, 0, 0, sh)
	nov30 := time.Date(2026, 11, 30, 23, 0, 0, 0, sh) // still November in Shanghai, December in UTC
	dec2 := time.Date(2026, 12, 2, 2, 0, 0, 0, sh)
	take(oct20, true)
	pg.Exec(t, name, `INSERT INTO public.persons SELECT g, '李' || g FROM generate_series(101, 150) g;`)
	take(nov3, false)
	pg.Exec(t, name, `
ALTER TABLE public.orders ADD COLUMN remark varchar(200);
CREATE TABLE public.invoices (id int PRIMARY KEY);
INSERT INTO public.persons SELECT g, '王' || g FROM generate_series(151, 250) g;`)
	take(nov30, true)
	// After the month: neither its rows nor its change belong in November.
	pg.Exec(t, name, `DROP TABLE public.invoices; INSERT INTO public.persons SELECT g, '赵' || g FROM generate_series(251, 400) g;`)
	take(dec2, true)

	job, err := site.ReportJob(cfg, cfg.Reports["monthly"], "2026-11", "", "", site.Run{Repo: repo, Catalog: cat, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	job.Out, job.PDF, job.Now = out, false, time.Date(2026, 12, 7, 9, 0, 0, 0, sh)
	outcomes, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || len(outcomes[0].Report.Databases) != 2 {
		t.Fatalf("outcomes: %+v", outcomes)
	}
	r := outcomes[0].Report
	d, spare := r.Databases[0], r.Databases[1]
	if d.Name != "hub" || spare.Name != "spare" {
		t.Fatalf("databases %q, %q", d.Name, spare.Name)
	}

	// Volume: one sample a month, the month's last; rows counted exactly
	// (persons + orders + invoices), bytes as the stored sample has them.
	stored, err := volume.Load(ctx, cat, "hub", nov30, nov30.Add(time.Second))
	if err != nil || len(stored["hub"]) != 1 {
		t.Fatalf("the November sample: %v %v", stored, err)
	}
	var novBytes, personsBytes int64
	for _, ts := range stored["hub"][0].Tables {
		novBytes += ts.DataBytes + ts.IndexBytes
		if ts.Name == "persons" {
			personsBytes = ts.DataBytes + ts.IndexBytes
		}
	}
	if novBytes == 0 || personsBytes == 0 {
		t.Fatalf("the November sample holds no bytes: %+v", stored["hub"][0])
	}
	if len(d.Volume) != 2 {
		t.Fatalf("volume: %d months, want October and November: %+v", len(d.Volume), d.Volume)
	}
	oct, nov := d.Volume[0], d.Volume[1]
	if !oct.Month.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, sh)) || oct.Rows != 140 {
		t.Errorf("October: %s, %d rows; want 2026-10-01, 140", oct.Month, oct.Rows)
	}
	if !nov.Month.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, sh)) || nov.Rows != 290 || nov.Bytes != novBytes {
		t.Errorf("November: %s, %d rows, %d bytes; want 2026-11-01, 290, %d", nov.Month, nov.Rows, nov.Bytes, novBytes)
	}
	wantTables := []string{"自然人库 (public.persons)", "public.invoices", "public.orders"}
	var gotTables []string
	for _, tv := range nov.Tables {
		gotTables = append(gotTables, tv.Name)
	}
	if !slices.Equal(gotTables[:1], wantTables[:1]) || len(gotTables) != 3 || !slices.Contains(gotTables, "public.invoices") || !slices.Contains(gotTables, "public.orders") {
		t.Errorf("November tables %q, want the registered one first, then the others once: %q", gotTables, wantTables)
	} else if p := nov.Tables[0]; !p.Registered || p.Rows != 250 || p.Bytes != personsBytes || nov.Tables[1].Registered {
		t.Errorf("registered table: %+v (then %+v), want 250 rows, %d bytes", p, nov.Tables[1], personsBytes)
	}
	if spare.Volume == nil || len(spare.Volume) != 0 {
		t.Errorf("spare: volume %+v, want known and empty", spare.Volume)
	}

	// Schema changes: October's last run against November's last, dated
	// when November's was taken; December's drop is not November's.
	if !d.SchemaKnown {
		t.Error("schema changes not known")
	}
	var changes []string
	for _, c := range d.SchemaChanges {
		changes = append(changes, c.Object+": "+c.Change)
		if !c.At.Equal(nov30) {
			t.Errorf("change %q dated %s, want %s", c.Object, c.At, nov30)
		}
	}
	if len(changes) != 2 || !strings.HasPrefix(changes[0], "public.invoices: ") || !strings.HasPrefix(changes[1], "public.orders.remark: ") ||
		!strings.Contains(changes[1], "character varying(200)") {
		t.Errorf("schema changes %q, want public.invoices added and public.orders.remark added", changes)
	}
	if len(spare.SchemaChanges) != 1 || spare.SchemaChanges[0].Object != "" || !strings.Contains(spare.SchemaChanges[0].Change, "尚未保存过数据字典") {
		t.Errorf("spare: schema changes %+v, want the one note that nothing can be compared", spare.SchemaChanges)
	}

	// The dictionary of the changed database is attached, as it was at the
	// end of November (invoices there, remark marked), and the spare's,
	// never stored, is not.
	if len(r.Dictionaries) != 1 || r.Dictionaries["hub"] == nil {
		t.Fatalf("dictionaries attached: %d, want hub's alone", len(r.Dictionaries))
	}
	attached, err := os.ReadFile(filepath.Join(out, "数据字典_hub_2026-11.xlsx"))
	if err != nil || !bytes.Equal(attached, r.Dictionaries["hub"]) {
		t.Fatalf("the dictionary attachment under --out: %v", err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(attached))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if !slices.Contains(sheets, "invoices") || !slices.Contains(sheets, "orders") {
		t.Errorf("dictionary sheets %q: want November's tables, invoices among them", sheets)
	}
	rows, err := x.GetRows("orders")
	if err != nil || !strings.Contains(fmt.Sprint(rows), "remark") {
		t.Errorf("the orders sheet lacks remark: %q %v", rows, err)
	}

	// The volume register attachment carries November's total as a number.
	vx, err := excelize.OpenFile(filepath.Join(out, "数据量登记_2026-11.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer vx.Close()
	vrows, err := vx.GetRows("数据量")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, row := range vrows {
		if len(row) >= 3 && row[0] == "hub" && row[1] == "2026-11" {
			cell, _ := excelize.CoordinatesToCellName(3, i+1)
			typ, err := vx.GetCellType("数据量", cell)
			found = row[2] == "290" && err == nil && typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString
		}
	}
	if !found {
		t.Errorf("volume register: no number cell of 290 rows for hub in 2026-11: %q", vrows)
	}

	// And the mail's HTML shows them, the registered table first.
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"hub.自然人库 (public.persons)", "public.orders.remark", "尚未保存过数据字典"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
