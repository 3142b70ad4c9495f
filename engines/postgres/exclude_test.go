package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/internal/harness"
)

func tablesOf(refs ...string) []tableInfo {
	var out []tableInfo
	for i, r := range refs {
		schema, name, _ := strings.Cut(r, "|")
		out = append(out, tableInfo{OID: uint32(16384 + i), Ref: engines.TableRef{Schema: schema, Name: name}})
	}
	return out
}

func TestPlanExclusions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tables  []tableInfo
		carried []string
		want    []string
	}{
		{"schemas fully copied", tablesOf("b|x", "a|y", "a|x", "b|y"), nil,
			[]string{`"a".*`, `"b".*`}},
		{"a schema with an extension configuration table or a sequence",
			tablesOf("public|vals", "hall|t2", "public|scratch", "hall|t1"), []string{"public"},
			[]string{`"hall".*`, `"public"."scratch"`, `"public"."vals"`}},
		{"every schema carried: one pattern per table, as before",
			tablesOf("s|b", "s|a"), []string{"s", "other"},
			[]string{`"s"."a"`, `"s"."b"`}},
		{"quotes, dots, Chinese, wildcards",
			tablesOf(`we"ird.名|a.b"c`, `we"ird.名|取号记录`, `全"部.x|*`, `Mixed|?$x`), []string{`we"ird.名`},
			[]string{`"Mixed".*`, `"全""部.x".*`, `"we""ird.名"."a.b""c"`, `"we""ird.名"."取号记录"`}},
		{"no tables", nil, []string{"s"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			carried := map[string]bool{}
			for _, s := range tc.carried {
				carried[s] = true
			}
			var got []string
			for _, x := range planExclusions(tc.tables, carried) {
				got = append(got, x.pattern())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("patterns\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// readFilterPattern is pg_dump 17's reading of a filter file's pattern
// (read_pattern and read_quoted_string in src/bin/pg_dump/filter.c), for
// one line: what it hands on is what --exclude-table-data would get.
func readFilterPattern(s string) (string, error) {
	isSpace := func(c byte) bool { return strings.IndexByte(" \t\n\v\f\r", c) >= 0 }
	var b strings.Builder
	i := 0
	skipSpace, foundSpace := true, false
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	for i < len(s) && s[i] != '#' {
		for i < len(s) && !isSpace(s[i]) && strings.IndexByte("#,.()\"", s[i]) < 0 {
			if !skipSpace && foundSpace {
				b.WriteByte(' ')
				skipSpace = true
			}
			b.WriteByte(s[i])
			i++
		}
		skipSpace = false
		switch {
		case i < len(s) && s[i] == '"':
			if foundSpace {
				b.WriteByte(' ')
			}
			b.WriteByte('"')
			i++
		quoted:
			for {
				switch {
				case i < len(s) && (s[i] == '\r' || s[i] == '\n'):
					i++
				case i >= len(s):
					return "", errors.New("quoted name not closed on its line")
				case s[i] == '"':
					b.WriteByte('"')
					i++
					if i < len(s) && s[i] == '"' {
						b.WriteByte('"')
						i++
					} else {
						break quoted
					}
				case s[i] == '\\':
					i++
					if i < len(s) && s[i] == 'n' {
						b.WriteByte('\n')
					} else if i < len(s) && s[i] == '\\' {
						b.WriteByte('\\')
					}
					i++
				default:
					b.WriteByte(s[i])
					i++
				}
			}
		case i < len(s) && s[i] == ',':
			b.WriteString(", ")
			skipSpace = true
			i++
		case i < len(s) && strings.IndexByte(".()", s[i]) >= 0:
			b.WriteByte(s[i])
			i++
			skipSpace = true
		}
		foundSpace = false
		for i < len(s) && isSpace(s[i]) {
			foundSpace = true
			i++
		}
	}
	return b.String(), nil
}

// TestFilterLines: pg_dump 17 reads every line of the filter file back as
// the pattern the command line would carry.
func TestFilterLines(t *testing.T) {
	names := []string{"plain", "取号记录", `a"b`, `""`, "a.b", `back\slash`, `\n`, `\\`, "new\nline", "tab\there",
		"#hash", " lead", "trail ", "a b", "*", "?", "$1", "a,b", "(p)", "Upper", "全\"部.x #\\\n"}
	for _, schema := range names {
		for _, x := range []exclusion{{Schema: schema, Whole: true}, {Schema: "s", Name: schema}, {Schema: schema, Name: schema}} {
			line, ok := x.filterLine()
			if !ok {
				t.Errorf("%+v: no filter line", x)
				continue
			}
			body, found := strings.CutPrefix(line, "exclude table_data ")
			if !found || !strings.HasSuffix(body, "\n") || strings.Count(line, "\n") != 1 {
				t.Errorf("%+v: filter line %q is not one exclude table_data line", x, line)
				continue
			}
			got, err := readFilterPattern(body)
			if err != nil || got != x.pattern() {
				t.Errorf("%+v: pg_dump reads %q from %q (%v), want %q", x, got, line, err, x.pattern())
			}
		}
	}
	// A carriage return is dropped by pg_dump's filter reader even
	// escaped: such names stay on the command line.
	for _, x := range []exclusion{{Schema: "a\rb", Whole: true}, {Schema: "s", Name: "cr\r"}} {
		if line, ok := x.filterLine(); ok {
			t.Errorf("%+v: filter line %q, want none", x, line)
		}
	}
}

func TestPlanSchemaDump(t *testing.T) {
	pg15 := tool{Path: "/usr/lib/postgresql/15/bin/pg_dump", Version: "15.4", Major: 15}
	pg17 := tool{Path: "/usr/lib/postgresql/17/bin/pg_dump", Version: "17.2", Major: 17}

	// 40,000 tables with long names: about 5 MiB as one argument each.
	long := strings.Repeat("长", 18) // 54 bytes
	var spread, crowded []tableInfo
	for i := range 40000 {
		ref := engines.TableRef{Schema: fmt.Sprintf("%s_%02d", long, i%40), Name: fmt.Sprintf("%s_%05d", long, i)}
		spread = append(spread, tableInfo{OID: uint32(20000 + i), Ref: ref})
		ref.Schema = "public"
		crowded = append(crowded, tableInfo{OID: uint32(20000 + i), Ref: ref})
	}
	carried := map[string]bool{"public": true}

	t.Run("schemas excluded whole keep the command line short", func(t *testing.T) {
		sd, err := planSchemaDump(pg15, spread, carried, argBudget)
		if err != nil {
			t.Fatal(err)
		}
		if sd.schemas != 40 || sd.tables != 0 || len(sd.args) != 40 || len(sd.filter) != 0 {
			t.Errorf("got %d schemas, %d tables, %d args, %d filter lines; want 40 schemas as 40 args", sd.schemas, sd.tables, len(sd.args), len(sd.filter))
		}
		if n := argvBytes(sd.args); n > 8<<10 {
			t.Errorf("%d bytes of arguments for 40 schemas", n)
		}
	})
	t.Run("too many tables for pg_dump 15", func(t *testing.T) {
		_, err := planSchemaDump(pg15, crowded, carried, argBudget)
		if err == nil {
			t.Fatal("no error")
		}
		if !errors.Is(err, fault.ErrPermanent) {
			t.Errorf("error is not permanent: %v", err)
		}
		for _, want := range []string{"40000 tables", "pg_dump 15.4", "pg_dump 17 or newer", "--filter", "pg_bin_dir"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
		t.Log(err)
	})
	t.Run("just within the budget", func(t *testing.T) {
		few := crowded[:3]
		sd, err := planSchemaDump(pg15, few, carried, argvBytes(patternArgs(few)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sd.args, patternArgs(few)) {
			t.Errorf("args %q", sd.args)
		}
		if _, err := planSchemaDump(pg15, few, carried, argvBytes(patternArgs(few))-1); err == nil {
			t.Error("one byte over the budget: no error")
		}
	})
	t.Run("pg_dump 17 takes them from a file", func(t *testing.T) {
		tables := append(slices.Clone(crowded), tableInfo{OID: 1, Ref: engines.TableRef{Schema: "public", Name: "cr\rname"}})
		sd, err := planSchemaDump(pg17, tables, carried, argBudget)
		if err != nil {
			t.Fatal(err)
		}
		if len(sd.filter) != 40000 || !slices.Equal(sd.args, []string{`--exclude-table-data="public"."cr` + "\r" + `name"`}) {
			t.Errorf("%d filter lines, args %q; want 40000 lines, the name with a carriage return as an argument", len(sd.filter), sd.args)
		}
	})
}

func patternArgs(tables []tableInfo) []string {
	var out []string
	for _, t := range tables {
		out = append(out, "--exclude-table-data="+exclusion{Schema: t.Ref.Schema, Name: t.Ref.Name}.pattern())
	}
	return out
}

type memSink struct {
	mu    sync.Mutex
	parts map[string]*strings.Builder
}

func (m *memSink) CreatePart(ctx context.Context, p engines.PartInfo) (io.WriteCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := &strings.Builder{}
	m.parts[p.Name] = b
	return nopCloser{b}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestDumpSchemaFilterFile runs dumpSchema with a stand-in for pg_dump 17
// that keeps what it was given: the filter file is private, complete, and
// gone afterwards.
func TestDumpSchemaFilterFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "pg_dump")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
for a in "$@"; do
	printf '%s\n' "$a" >> "$FAKE_OUT/args"
	case "$a" in --filter=*)
		f="${a#--filter=}"
		printf '%s' "$f" > "$FAKE_OUT/path"
		stat -c %a "$f" > "$FAKE_OUT/mode"
		cp "$f" "$FAKE_OUT/filter";;
	esac
done
printf 'PGDMP archive'
`), 0o755); err != nil {
		t.Fatal(err)
	}
	tables := tablesOf("hall|取号记录", `hall|a"b`, "public|vals", "only|t1", "only|t2", "public|cr\r")
	sd, err := planSchemaDump(tool{Path: script, Version: "17.2", Major: 17}, tables, map[string]bool{"hall": true, "public": true}, argBudget)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{parts: map[string]*strings.Builder{}}
	cc := childConn{conninfo: "dbname='x'", env: append(os.Environ(), "FAKE_OUT="+out)}
	log := hclog.NewNullLogger()
	if err := dumpSchema(t.Context(), tool{Path: script, Version: "17.2", Major: 17}, cc, "00000003-0000001B-1", sd, sink, log); err != nil {
		t.Fatal(err)
	}
	if got := sink.parts[schemaPart].String(); got != "PGDMP archive" {
		t.Errorf("schema part %q", got)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantArgs := "--format=custom\n--compress=0\n--no-password\n--snapshot=00000003-0000001B-1\n--dbname=dbname='x'\n" +
		"--exclude-table-data=\"public\".\"cr\r\"\n--filter=" + read("path") + "\n"
	if got := read("args"); got != wantArgs {
		t.Errorf("arguments\n%q\nwant\n%q", got, wantArgs)
	}
	if got := strings.TrimSpace(read("mode")); got != "600" {
		t.Errorf("filter file mode %s, want 600", got)
	}
	wantFilter := "# dbopsd: data pg_dump leaves out, copied by dbopsd itself\n" +
		"exclude table_data \"only\".*\n" +
		"exclude table_data \"hall\".\"a\"\"b\"\n" +
		"exclude table_data \"hall\".\"取号记录\"\n" +
		"exclude table_data \"public\".\"vals\"\n"
	if got := read("filter"); got != wantFilter {
		t.Errorf("filter file\n%s\nwant\n%s", got, wantFilter)
	}
	if _, err := os.Stat(read("path")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("filter file left behind: %v", err)
	}
}

// TestCarriedSchemas: the schemas that must not be excluded whole are
// those holding a sequence, a materialized view, an extension's table or an
// extension configuration table; views, partitioned tables and indexes
// have no data of their own and do not count.
func TestCarriedSchemas(t *testing.T) {
	pg := harness.SourcePostgres(t)
	var b [4]byte
	rand.Read(b[:])
	db := "pgcarried_" + hex.EncodeToString(b[:])
	pg.Exec(t, "postgres", "CREATE DATABASE "+db)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	pg.Exec(t, db, `
		CREATE SCHEMA only_ours; CREATE TABLE only_ours.t (k int); CREATE UNLOGGED TABLE only_ours.u (k int);
		CREATE SCHEMA "no data.其他"; CREATE TABLE "no data.其他".t (k int PRIMARY KEY); CREATE VIEW "no data.其他".v AS SELECT 1 AS one;
		CREATE TABLE "no data.其他".p (k int) PARTITION BY RANGE (k);
		CREATE TABLE "no data.其他".p1 PARTITION OF "no data.其他".p FOR VALUES FROM (0) TO (10);
		CREATE SCHEMA with_seq; CREATE TABLE with_seq.t (id int GENERATED ALWAYS AS IDENTITY);
		CREATE SCHEMA with_mv; CREATE TABLE with_mv.t (k int); CREATE MATERIALIZED VIEW with_mv.v AS SELECT * FROM with_mv.t;
		CREATE SCHEMA with_member; CREATE TABLE with_member.t (k int); CREATE TABLE with_member.m (k int);
		ALTER EXTENSION plpgsql ADD TABLE with_member.m;
		-- pg_extension_config_dump works only in an extension's script:
		-- set the catalog directly, on a table that is not the extension's
		-- member, so that only extconfig names it.
		CREATE SCHEMA "with ""extconfig"""; CREATE TABLE "with ""extconfig""".t (k int); CREATE TABLE "with ""extconfig""".cfg (k int);
		UPDATE pg_extension SET extconfig = ARRAY['"with ""extconfig"""."cfg"'::regclass::oid], extcondition = ARRAY['']
			WHERE extname = 'plpgsql';`)
	cfg, err := config(engines.Conn{DSN: pg.DSN(db)}, "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(conn)
	tables, err := listTables(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	carried, err := carriedSchemas(t.Context(), conn, tables)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for s := range carried {
		got = append(got, s)
	}
	slices.Sort(got)
	if want := []string{`with "extconfig"`, "with_member", "with_mv", "with_seq"}; !slices.Equal(got, want) {
		t.Errorf("carried schemas %q, want %q", got, want)
	}
	var patterns []string
	for _, x := range planExclusions(tables, carried) {
		patterns = append(patterns, x.pattern())
	}
	want := []string{`"no data.其他".*`, `"only_ours".*`, `"with ""extconfig"""."cfg"`, `"with ""extconfig"""."t"`,
		`"with_member"."t"`, `"with_mv"."t"`, `"with_seq"."t"`}
	if !slices.Equal(patterns, want) {
		t.Errorf("patterns\n got %q\nwant %q", patterns, want)
	}
}

// TestDumpSchemaTooLong: should a command line still be too long for the
// kernel (a smaller stack limit than planned for), the error says what
// lifts the limit.
func TestDumpSchemaTooLong(t *testing.T) {
	script := filepath.Join(t.TempDir(), "pg_dump")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pgDump := tool{Path: script, Version: "15.4", Major: 15}
	sd := &schemaDump{tables: 40000}
	for i := range 40000 {
		sd.args = append(sd.args, fmt.Sprintf(`--exclude-table-data="public"."%060d"`, i))
	}
	sink := &memSink{parts: map[string]*strings.Builder{}}
	err := dumpSchema(t.Context(), pgDump, childConn{conninfo: "dbname=x", env: os.Environ()}, "1", sd, sink, hclog.NewNullLogger())
	if !errors.Is(err, syscall.E2BIG) || !strings.Contains(err.Error(), "pg_dump 17 or newer") {
		t.Fatalf("got %v, want E2BIG saying pg_dump 17 or newer lifts the limit", err)
	}
	t.Log(err)
}
