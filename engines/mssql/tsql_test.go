package mssql

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// names are the database, schema and table names every builder is tried
// with: plain, a closing bracket, quotes, spaces, Chinese.
var names = []string{"sales", "we]ird]]", "o'brien \"db\"", "with space", "销售库"}

// golden compares got with testdata/name.golden (or writes it, -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from what the builder produced (go test -update rewrites it); got:\n%s", path, got)
	}
}

// cases collects the statements of one golden file.
type cases struct{ b strings.Builder }

func (c *cases) add(title string, s stmt, err error) {
	fmt.Fprintf(&c.b, "-- case: %s\n", title)
	if err != nil {
		fmt.Fprintf(&c.b, "-- error: %v\n\n", err)
		return
	}
	fmt.Fprintf(&c.b, "%s\n\n", s.sent())
}

// TestStatementsGolden: every statement the adapter sends, exactly as sent
// (the SAS included: the logged form, String, replaces it), for every
// option combination and awkward name.
func TestStatementsGolden(t *testing.T) {
	urls := func(n int) []string {
		var u []string
		for i := range n {
			u = append(u, fmt.Sprintf("https://dbopsd.example:9443/dbopsd-backup-0123456789abcdef/sales_%d.bak", i+1))
		}
		return u
	}
	t.Run("backup", func(t *testing.T) {
		var c cases
		for _, db := range names {
			for _, o := range []backupOptions{{}, {NoCompression: true}, {CopyOnly: true}, {Differential: true}, {Differential: true, NoCompression: true}, {Differential: true, CopyOnly: true}} {
				s, err := backupToURL(db, urls(3), o)
				c.add(fmt.Sprintf("backup to URL %q %+v", db, o), s, err)
			}
		}
		s, err := backupToURL("sales", urls(1), backupOptions{})
		c.add("one stripe", s, err)
		s, err = backupToURL("sales", nil, backupOptions{})
		c.add("no stripe", s, err)
		s, err = backupToURL("sales", []string{"http://plain.example/c/b"}, backupOptions{})
		c.add("a URL without TLS", s, err)
		s, err = backupToURL(strings.Repeat("长", 129), urls(1), backupOptions{})
		c.add("a name longer than sysname", s, err)
		for _, db := range names[:2] {
			for _, o := range []backupOptions{{}, {CopyOnly: true, NoCompression: true}, {Differential: true}} {
				s, err := backupToDisk(db, []string{`\\share\dbopsd\sales_1.bak`, `\\share\dbopsd\o'brien_2.bak`}, o)
				c.add(fmt.Sprintf("backup_dir fallback %q %+v", db, o), s, err)
			}
		}
		s, err = backupToDisk("sales", nil, backupOptions{})
		c.add("backup_dir fallback, no file", s, err)
		s, err = backupToDisk("sales", []string{"/var/opt/mssql/dbops/a.bak", "/var/opt/mssql/dbops/b\x00.bak"}, backupOptions{})
		c.add("backup_dir fallback, a path with NUL", s, err)
		// What each kind of job sends (nativeOptions): the schedule's
		// full, a full by hand (COPY_ONLY), a differential by hand (never
		// COPY_ONLY), compression = false.
		for _, j := range []struct {
			title string
			opts  engines.BackupOptions
		}{
			{"scheduled full", engines.BackupOptions{Type: "full"}},
			{"full by hand", engines.BackupOptions{Type: "full", CopyOnly: true}},
			{"scheduled differential", engines.BackupOptions{Type: "differential"}},
			{"differential by hand", engines.BackupOptions{Type: "differential", CopyOnly: true}},
			{"full by hand, compression = false", engines.BackupOptions{Type: "full", CopyOnly: true, NoCompression: true}},
			{"scheduled differential, compression = false", engines.BackupOptions{Type: "differential", NoCompression: true}},
		} {
			s, err := backupToURL("sales", urls(2), nativeOptions(j.opts))
			c.add("job: "+j.title, s, err)
		}
		golden(t, "backup", c.b.String())
	})
	t.Run("credential", func(t *testing.T) {
		var c cases
		sas := secret.New("sv=2021-12-02&spr=https&se=2026-12-08T00%3A00%3A00Z&sr=c&sp=cwdl&sig=abc'd%2Bef")
		for _, u := range []string{"https://dbopsd.example:9443/dbopsd-backup-0123456789abcdef", "https://x.example/we]ird"} {
			s, err := createCredential(u, sas)
			c.add("create "+u, s, err)
			if err == nil && !strings.Contains(s.sql, "SECRET = N'sv=2021-12-02&spr=https&se=2026-12-08T00%3A00%3A00Z&sr=c&sp=cwdl&sig=abc''d%2Bef'") {
				t.Errorf("the batch does not hold the SAS as a literal:\n%s", s.sql)
			}
			if strings.Contains(s.String(), "sig=") {
				t.Errorf("the logged form shows the SAS:\n%s", s)
			}
			s, err = dropCredential(u)
			c.add("drop "+u, s, err)
		}
		s, err := createCredential("https://x.example/c", secret.New("?sv=1"))
		c.add("a SAS with its '?'", s, err)
		golden(t, "credential", c.b.String())
	})
	t.Run("restore", func(t *testing.T) {
		var c cases
		for _, what := range []string{"HEADERONLY", "FILELISTONLY", "VERIFYONLY", "LABELONLY"} {
			s, err := restoreOnly(what, "URL", urls(2))
			c.add("RESTORE "+what, s, err)
		}
		for _, db := range names {
			moves := []move{{db, `D:\data\` + db + ".mdf"}, {db + "_log", `L:\log\` + db + "_log.ldf"}}
			for _, o := range []restoreOptions{{}, {Recovery: true}, {Recovery: true, Replace: true}} {
				s, err := restoreDatabase(db, "URL", urls(2), moves, o)
				c.add(fmt.Sprintf("restore %q %+v", db, o), s, err)
			}
		}
		s, err := restoreDatabase("销售库", "URL", urls(2), nil, restoreOptions{Recovery: true})
		c.add("a differential after its full", s, err)
		disks := []string{`\\share\dbopsd\dbopsd-0123_sales_1_of_2.bak`, `\\share\dbopsd\dbopsd-0123_sales_2_of_2.bak`}
		s, err = restoreOnly("FILELISTONLY", "DISK", disks)
		c.add("backup_dir fallback: RESTORE FILELISTONLY", s, err)
		for _, db := range names[:2] {
			s, err = restoreDatabase(db, "DISK", disks, []move{{db, `D:\data\` + db + ".mdf"}}, restoreOptions{Recovery: true, Replace: true})
			c.add(fmt.Sprintf("backup_dir fallback: restore %q", db), s, err)
		}
		s, err = restoreDatabase("sales", "DISK", nil, nil, restoreOptions{})
		c.add("backup_dir fallback: no file", s, err)
		s, err = restoreDatabase("sales", "URL", urls(1), []move{{"sales", ""}}, restoreOptions{})
		c.add("a move without a path", s, err)
		for _, db := range names {
			s, err := createDatabase(db)
			c.add("create "+db, s, err)
			s, err = createSchema(db, names[1])
			c.add("schema of "+db, s, err)
			tb := engines.TableRef{Schema: names[3], Name: names[2]}
			s, err = dropTable(db, tb)
			c.add("drop table of "+db, s, err)
			s, err = copyTable("dbopsd_tbl_0123", db, tb)
			c.add("copy table into "+db, s, err)
		}
		// The bulk copy across servers: the columns read from the scratch
		// copy, the table declared from them, the rows selected.
		cols := []column{
			{Name: "id", Type: "bigint"},
			{Name: names[1], Type: "nvarchar", MaxLength: 100, Nullable: true, Collation: "Chinese_PRC_CI_AS"},
			{Name: names[2], Type: "varbinary", MaxLength: -1, Nullable: true},
			{Name: names[4], Type: "decimal", Precision: 18, Scale: 2},
			{Name: "at", Type: "datetime2", Precision: 27, Scale: 7, Nullable: true},
			{Name: "ver", Type: "timestamp", MaxLength: 8},
			{Name: "ratio", Type: "float", Precision: 53, Nullable: true},
			{Name: "code", Type: "char", MaxLength: 4, Collation: "Latin1_General_BIN2"},
		}
		for _, db := range names {
			tb := engines.TableRef{Schema: names[3], Name: names[2]}
			s, err := tableColumns(db, tb)
			c.add("columns of a table of "+db, s, err)
			s, err = createTable(db, tb, cols)
			c.add("bulk copy: create table in "+db, s, err)
			s, err = selectColumns("dbopsd_tbl_0123", tb, cols)
			c.add("bulk copy: rows of the scratch copy, for "+db, s, err)
		}
		s, err = createTable("sales", engines.TableRef{Schema: "dbo", Name: "t"}, []column{{Name: "p", Type: "my_clr_type"}})
		c.add("bulk copy: a type it does not declare", s, err)
		s, err = createTable("sales", engines.TableRef{Schema: "dbo", Name: "t"}, []column{{Name: "n", Type: "nchar", MaxLength: 2, Collation: "x'; DROP TABLE y--"}})
		c.add("bulk copy: a collation that is no name", s, err)
		s, err = createTable("sales", engines.TableRef{Schema: "dbo", Name: "t"}, nil)
		c.add("bulk copy: no columns", s, err)
		golden(t, "restore", c.b.String())
	})
	t.Run("verify", func(t *testing.T) {
		var c cases
		for _, db := range names {
			s, err := checkDB(db)
			c.add("DBCC CHECKDB "+db, s, err)
			s, err = dropDatabase(db)
			c.add("drop "+db, s, err)
			c.add("exists "+db, databaseExists(db), nil)
		}
		c.add("server", serverInfo(), nil)
		golden(t, "verify", c.b.String())
	})
	t.Run("stats", func(t *testing.T) {
		var c cases
		for _, db := range names {
			s, err := listTables(db)
			c.add("tables of "+db, s, err)
			for _, tb := range []engines.TableRef{{Name: "orders"}, {Schema: names[1], Name: names[4]}, {Schema: names[3], Name: names[2]}} {
				s, err := tableStats(db, tb)
				c.add(fmt.Sprintf("stats of %q %q", db, tb), s, err)
			}
			s, err = createSnapshot("dbopsd_snap_"+db, db, []move{{db, `D:\data\` + db + ".ss"}, {"o'second", `D:\data\o'second.ss`}})
			c.add("snapshot of "+db, s, err)
			c.add("backup set of "+db, backupSet(db, urls(1)[0]), nil)
			c.add("files of "+db, databaseFiles(db), nil)
			c.add("differential base of "+db, differentialBase(db), nil)
		}
		golden(t, "stats", c.b.String())
	})
}

// TestQuoteName: QUOTENAME's rules, and what it refuses.
func TestQuoteName(t *testing.T) {
	for in, want := range map[string]string{"a": "[a]", "a]b": "[a]]b]", "]]": "[]]]]]", "[x": "[[x]", "o'b": "[o'b]", "销售": "[销售]", strings.Repeat("长", 128): "[" + strings.Repeat("长", 128) + "]"} {
		if got, err := quoteName(in); got != want || err != nil {
			t.Errorf("quoteName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", strings.Repeat("x", 129), "a\x00b"} {
		if _, err := quoteName(in); err == nil {
			t.Errorf("quoteName(%q) accepted", in)
		}
	}
	if got := literal("o'b'"); got != "N'o''b'''" {
		t.Errorf("literal: %s", got)
	}
}
