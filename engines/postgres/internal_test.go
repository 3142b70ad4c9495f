package postgres

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

func TestStripDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, db, want string }{
		{"postgres://u:secret@h:5432/a?sslmode=disable", "b", "postgres://u@h:5432/b?sslmode=disable"},
		{"postgresql://u@h/a?password=secret&sslmode=require", "取号", "postgresql://u@h/%E5%8F%96%E5%8F%B7?sslmode=require"},
		{"host=h port=5432 user=u password='se cret' dbname=a sslmode=disable", "b c",
			"host='h' port='5432' user='u' sslmode='disable' dbname='b c'"},
		{`host=h password=se\'cret dbname='x'`, "it's", `host='h' dbname='it\'s'`},
	} {
		got, err := stripDSN(tc.dsn, tc.db)
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if got != tc.want {
			t.Errorf("stripDSN(%q, %q) = %q, want %q", tc.dsn, tc.db, got, tc.want)
		}
		if strings.Contains(got, "cret") {
			t.Errorf("stripDSN(%q) kept the password: %q", tc.dsn, got)
		}
	}
}

func TestParseTOC(t *testing.T) {
	list := `;
; Archive created at 2026-01-01 00:00:00 UTC
;
; Selected TOC Entries:
;
6; 2615 16386 SCHEMA - hall postgres
216; 1259 16388 TABLE hall 取号记录 postgres
;	depends on: 6
3404; 0 0 COMMENT hall TABLE "取号记录" postgres
;	depends on: 216
3393; 0 16422 TABLE DATA hall events 2024 postgres
;	depends on: 222
3241; 2606 16439 FK CONSTRAINT hall ratings ratings_ticket_fkey hall_owner
;	depends on: 3235 224 216
3387; 0 16388 ROW SECURITY hall 取号记录 postgres
`
	toc, err := parseTOC(list)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id   int
		desc string
		oid  uint32
		deps int
	}{{6, "SCHEMA", 16386, 0}, {216, "TABLE", 16388, 1}, {3404, "COMMENT", 0, 1}, {3393, "TABLE DATA", 16422, 1},
		{3241, "FK CONSTRAINT", 16439, 3}, {3387, "ROW SECURITY", 16388, 0}}
	if len(toc) != len(want) {
		t.Fatalf("%d entries, want %d", len(toc), len(want))
	}
	for i, w := range want {
		e := toc[i]
		if e.ID != w.id || e.Desc != w.desc || e.OID != w.oid || len(e.Deps) != w.deps {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
}

// TestRowDigesterSplitWrites: rows split across writes digest as whole
// rows.
func TestRowDigesterSplitWrites(t *testing.T) {
	stream := []byte("1\t张伟\n2\t\\N\n3\ta\\tb\\nc\n")
	var whole engines.RowDigest
	for _, row := range bytes.Split(bytes.TrimSuffix(stream, []byte("\n")), []byte("\n")) {
		whole.Add(row)
	}
	for step := 1; step <= len(stream); step++ {
		var out bytes.Buffer
		rd := &rowDigester{w: &out}
		for i := 0; i < len(stream); i += step {
			rd.Write(stream[i:min(i+step, len(stream))])
		}
		st, err := rd.stats(engines.TableRef{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Rows != 3 || st.Checksum != whole.Sum() || st.Bytes != int64(len(stream)) || !bytes.Equal(out.Bytes(), stream) {
			t.Errorf("step %d: %+v, want 3 rows, checksum %s", step, st, whole.Sum())
		}
	}
	rd := &rowDigester{}
	rd.Write([]byte("1\tno newline"))
	if _, err := rd.stats(engines.TableRef{Name: "t"}); err == nil {
		t.Error("a stream ending inside a row passed")
	}
}

// TestFindToolTooOld: when only older client programs exist, the error
// says what was found and what to install.
func TestFindToolTooOld(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e := New()
	_, err := e.findTool(t.Context(), dir, "pg_dump", 99)
	if err == nil {
		t.Fatal("found a pg_dump 99")
	}
	for _, want := range []string{"PostgreSQL 99 or newer not found", "is version 9.6", "postgresql-client-99"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, fault.ErrPermanent) {
		t.Errorf("not permanent: %v", err)
	}
	// The configured directory comes first when it is new enough.
	tl, err := e.findTool(t.Context(), dir, "pg_dump", 9)
	if err != nil || tl.Path != filepath.Join(dir, "pg_dump") || tl.Version != "9.6" {
		t.Errorf("findTool with BinDir = %+v, %v", tl, err)
	}
}

// TestSplitBlocks: ranges start at multiples of the step from block 0, the
// last is open above, and a heap of at most one step is not split.
func TestSplitBlocks(t *testing.T) {
	for _, tc := range []struct {
		n, step int64
		want    string
	}{
		{0, 16, ""},
		{16, 16, ""},
		{17, 16, "ctid < '(16,0)'::tid|ctid >= '(16,0)'::tid"},
		{32, 16, "ctid < '(16,0)'::tid|ctid >= '(16,0)'::tid"},
		{33, 16, "ctid < '(16,0)'::tid|ctid >= '(16,0)'::tid AND ctid < '(32,0)'::tid|ctid >= '(32,0)'::tid"},
	} {
		var got []string
		for _, r := range splitBlocks(tc.n, tc.step) {
			got = append(got, r.where())
		}
		if s := strings.Join(got, "|"); s != tc.want {
			t.Errorf("splitBlocks(%d, %d) = %q, want %q", tc.n, tc.step, s, tc.want)
		}
	}
}

func TestSettingValue(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"search_path", `"$user", public, "Schema 2"`, `'$user', 'public', 'Schema 2'`},
		{"search_path", `"a""b", "it's", "模式"`, `'a"b', 'it''s', '模式'`},
		{"Search_Path", `""`, `''`},
		{"temp_tablespaces", `fast,slow`, `'fast', 'slow'`},
		{"search_path", `"unterminated`, `'"unterminated'`}, // not a list: one literal, as pg_dump does
		{"search_path", `a,`, `'a,'`},
		{"DateStyle", `ISO, MDY`, `'ISO, MDY'`}, // a list, but not of quoted identifiers
		{"application_name", `办事大厅 'app'`, `'办事大厅 ''app'''`},
		{"work_mem", `64MB`, `'64MB'`},
	} {
		if got := settingValue(tc.name, tc.value); got != tc.want {
			t.Errorf("settingValue(%q, %q) = %s, want %s", tc.name, tc.value, got, tc.want)
		}
	}
}
