package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The table of contents of a pg_dump archive, as `pg_restore -l -v` prints
// it:
//
//	216; 1259 16388 TABLE hall 取号记录 postgres
//	;	depends on: 6
//
// that is dump ID; catalog table OID, object OID, description, then schema,
// name and owner (which may hold spaces, so they are not parsed: objects are
// matched by OID). A restore selects entries by writing their IDs, in
// archive order, to a list file for `pg_restore -L`.

type tocEntry struct {
	ID       int
	TableOID uint32 // the catalog the object lives in (pg_class, ...); 0 if none
	OID      uint32
	Desc     string // "TABLE", "TABLE DATA", "FK CONSTRAINT", ...
	Rest     string // schema, name, owner as printed
	Deps     []int
}

// Catalog OIDs of the system catalogs, fixed since PostgreSQL 7.x.
const (
	pgClassOID      = 1259
	pgAttrdefOID    = 2604
	pgConstraintOID = 2606
	pgRewriteOID    = 2618
	pgTriggerOID    = 2620
	pgPolicyOID     = 3256
)

// tocDescs are the descriptions pg_dump writes; the longest match wins, so
// "TABLE DATA" is not read as "TABLE".
var tocDescs = []string{
	"ACCESS METHOD", "ACL", "AGGREGATE", "BLOB", "BLOB METADATA", "BLOBS", "CAST", "CHECK CONSTRAINT",
	"COLLATION", "COMMENT", "CONSTRAINT", "CONVERSION", "DATABASE", "DATABASE PROPERTIES", "DEFAULT",
	"DEFAULT ACL", "DOMAIN", "ENCODING", "EVENT TRIGGER", "EXTENSION", "FK CONSTRAINT",
	"FOREIGN DATA WRAPPER", "FOREIGN TABLE", "FUNCTION", "INDEX", "INDEX ATTACH", "LARGE OBJECT",
	"LARGE OBJECTS", "MATERIALIZED VIEW", "MATERIALIZED VIEW DATA", "OPERATOR", "OPERATOR CLASS",
	"OPERATOR FAMILY", "POLICY", "PROCEDURAL LANGUAGE", "PROCEDURE", "PUBLICATION", "PUBLICATION TABLE",
	"PUBLICATION TABLES IN SCHEMA", "ROW SECURITY", "RULE", "SCHEMA", "SEARCHPATH", "SECURITY LABEL",
	"SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "SERVER", "SHELL TYPE", "STATISTICS",
	"STATISTICS DATA", "STDSTRINGS", "SUBSCRIPTION", "SUBSCRIPTION TABLE", "TABLE", "TABLE ATTACH",
	"TABLE DATA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
	"TEXT SEARCH TEMPLATE", "TRANSFORM", "TRIGGER", "TYPE", "USER MAPPING", "VIEW",
}

func init() {
	sort.Slice(tocDescs, func(i, j int) bool { return len(tocDescs[i]) > len(tocDescs[j]) })
}

func parseDesc(s string) (desc, rest string) {
	for _, d := range tocDescs {
		if s == d {
			return d, ""
		}
		if strings.HasPrefix(s, d+" ") {
			return d, s[len(d)+1:]
		}
	}
	d, r, _ := strings.Cut(s, " ")
	return d, r
}

// readTOC lists the archive at path.
func (r *restorer) readTOC(ctx context.Context, path string) ([]*tocEntry, error) {
	var out strings.Builder
	if _, err := run(ctx, r.pgRestore, []string{"--list", "--verbose", path}, r.cc, &out); err != nil {
		return nil, fmt.Errorf("listing the schema archive: %w", err)
	}
	return parseTOC(out.String())
}

func parseTOC(list string) ([]*tocEntry, error) {
	var entries []*tocEntry
	var last *tocEntry
	sc := bufio.NewScanner(strings.NewReader(list))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if dep, ok := strings.CutPrefix(line, ";\tdepends on:"); ok {
			if last == nil {
				continue
			}
			for _, f := range strings.Fields(dep) {
				id, err := strconv.Atoi(f)
				if err != nil {
					return nil, fmt.Errorf("schema archive listing: bad dependency in %q", line)
				}
				last.Deps = append(last.Deps, id)
			}
			continue
		}
		if line == "" || line[0] == ';' {
			continue
		}
		idStr, rest, ok := strings.Cut(line, "; ")
		if !ok {
			return nil, fmt.Errorf("schema archive listing: unexpected line %q", line)
		}
		e := &tocEntry{}
		var err error
		if e.ID, err = strconv.Atoi(idStr); err != nil {
			return nil, fmt.Errorf("schema archive listing: unexpected line %q", line)
		}
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 3 {
			return nil, fmt.Errorf("schema archive listing: unexpected line %q", line)
		}
		tableOID, err1 := strconv.ParseUint(f[0], 10, 32)
		oid, err2 := strconv.ParseUint(f[1], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("schema archive listing: unexpected line %q", line)
		}
		e.TableOID, e.OID = uint32(tableOID), uint32(oid)
		e.Desc, e.Rest = parseDesc(f[2])
		entries = append(entries, e)
		last = e
	}
	return entries, sc.Err()
}

// writeList writes the IDs of the selected entries, in archive order, to a
// list file for pg_restore -L in dir.
func writeList(dir, name string, entries []*tocEntry, selected func(*tocEntry) bool) (string, int, error) {
	var b strings.Builder
	n := 0
	for _, e := range entries {
		if selected(e) {
			fmt.Fprintf(&b, "%d\n", e.ID)
			n++
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", 0, fmt.Errorf("writing the restore list: %w", err)
	}
	return path, n, nil
}
