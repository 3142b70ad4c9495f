package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// The schema part leaves out the data of every table dbopsd copies itself.
// pg_dump learns which with one --exclude-table-data pattern per table, and
// tens of thousands of them overflow the kernel's limit on a command line
// (E2BIG: 2 MiB for argv and environment with the default 8 MiB stack). So:
//
//   - pg_dump 17 and newer read the patterns from a file (--filter), one
//     "exclude table_data PATTERN" line each: no limit;
//   - with any pg_dump, a schema whose tables are all copied by dbopsd and
//     that holds nothing else whose data pg_dump carries is left out with
//     one "schema".* pattern (fewer arguments, and fewer of the queries
//     pg_dump runs one per pattern); the other schemas' tables are listed
//     one by one;
//   - with pg_dump older than 17, a list that would still pass argBudget
//     fails the backup before anything is copied, saying what lifts the
//     limit.
//
// A pattern matches relations of every kind pg_dump takes data from, so
// "schema".* would also drop what the schema part must keep: sequence
// values (relkind S), materialized view refreshes (m) and the rows of
// extension configuration tables (pg_extension.extconfig, also tables of
// an extension and so never in dbopsd's own list). A schema holding any of
// these, or any table not in the list, is never excluded whole. Views and
// partitioned tables have no data; foreign tables' data is dumped only
// with --include-foreign-data, which dbopsd does not pass.

// filterMajor is the first pg_dump with --filter.
const filterMajor = 17

// argBudget bounds the bytes dbopsd hands pg_dump on its command line,
// arguments and environment together, counted as the kernel counts them
// (each string, its NUL and its pointer). Half of Linux's default limit (a
// quarter of the 8 MiB default stack): most databases that backed up with
// one pattern per table still fit, and the rest is margin for a smaller
// stack limit.
const argBudget = 1 << 20

// filterArgRoom is kept for "--filter=<temporary file>".
const filterArgRoom = 512

// exclusion is one --exclude-table-data pattern: one table, or every
// relation of a schema.
type exclusion struct {
	Schema string
	Name   string // the table; "" when Whole
	Whole  bool
}

// pattern is the command-line form, quoted for pg_dump's patterns: inside
// double quotes nothing is a wildcard, case is kept, a quote is doubled.
func (x exclusion) pattern() string {
	if x.Whole {
		return quotePattern(x.Schema) + ".*"
	}
	return quotePattern(x.Schema) + "." + quotePattern(x.Name)
}

func quotePattern(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// filterLine is the line of a --filter file. pg_dump's filter reader
// (src/bin/pg_dump/filter.c, read_quoted_string) takes a quoted name as
// on the command line, except that a backslash escapes: "\\" is a
// backslash, "\n" a newline, and any other escaped character is dropped. A
// carriage return is dropped even unescaped, so a name holding one cannot
// be written there (ok false): it goes on the command line instead.
func (x exclusion) filterLine() (line string, ok bool) {
	if strings.ContainsRune(x.Schema, '\r') || strings.ContainsRune(x.Name, '\r') {
		return "", false
	}
	rel := "*"
	if !x.Whole {
		rel = quoteFilter(x.Name)
	}
	return "exclude table_data " + quoteFilter(x.Schema) + "." + rel + "\n", true
}

var filterEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `""`)

func quoteFilter(s string) string { return `"` + filterEscaper.Replace(s) + `"` }

// carriedSQL lists the schemas holding a relation whose data pg_dump puts
// in the schema part, or may (see above), as of the backup's snapshot. $1:
// the OIDs of the tables dbopsd copies. The NOT IN over a subquery is
// hashed, so tens of thousands of OIDs cost little.
const carriedSQL = `SELECT DISTINCT n.nspname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	AND (c.relkind IN ('S', 'm')
		OR c.oid IN (SELECT unnest(e.extconfig) FROM pg_extension e)
		OR (c.relkind = 'r' AND c.oid NOT IN (SELECT unnest($1::oid[]))))`

// carriedSchemas reads, inside the snapshot, the schemas that must not be
// excluded whole.
func carriedSchemas(ctx context.Context, q *pgx.Conn, tables []tableInfo) (map[string]bool, error) {
	oids := make([]uint32, len(tables))
	for i, t := range tables {
		oids[i] = t.OID
	}
	rows, err := q.Query(ctx, carriedSQL, oids)
	if err != nil {
		return nil, fmt.Errorf("listing the schemas whose data pg_dump keeps: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the schemas whose data pg_dump keeps: %w", err)
	}
	carried := make(map[string]bool, len(names))
	for _, n := range names {
		carried[n] = true
	}
	return carried, nil
}

// planExclusions excludes whole every schema of tables that carried does
// not name, and lists the tables of the others. Sorted: schemas first,
// then tables, each by name.
func planExclusions(tables []tableInfo, carried map[string]bool) []exclusion {
	var out []exclusion
	whole := make(map[string]bool)
	for _, t := range tables {
		if !carried[t.Ref.Schema] {
			if !whole[t.Ref.Schema] {
				whole[t.Ref.Schema] = true
				out = append(out, exclusion{Schema: t.Ref.Schema, Whole: true})
			}
			continue
		}
		out = append(out, exclusion{Schema: t.Ref.Schema, Name: t.Ref.Name})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Whole != b.Whole {
			return a.Whole
		}
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		return a.Name < b.Name
	})
	return out
}

// schemaDump is what pg_dump is told to leave out of the schema part.
type schemaDump struct {
	args   []string    // --exclude-table-data arguments
	filter []exclusion // the lines of a --filter file; none: no file
	// What was excluded, for the log.
	schemas, tables int
}

// planSchemaDump passes the exclusions in a filter file to pg_dump of
// major version filterMajor or newer, on the command line to older ones;
// budget is what the command line may take for them.
func planSchemaDump(pgDump tool, tables []tableInfo, carried map[string]bool, budget int) (*schemaDump, error) {
	sd := &schemaDump{}
	for _, x := range planExclusions(tables, carried) {
		if x.Whole {
			sd.schemas++
		} else {
			sd.tables++
		}
		if pgDump.Major >= filterMajor {
			if _, ok := x.filterLine(); ok {
				sd.filter = append(sd.filter, x)
				continue
			}
		}
		sd.args = append(sd.args, "--exclude-table-data="+x.pattern())
	}
	if n := argvBytes(sd.args); n > budget {
		listed := ""
		if schema, count := busiestSchema(tables, carried); count > 0 {
			listed = fmt.Sprintf(" (their schemas also hold sequences, materialized views or extension tables; %d of them are in schema %q)", count, schema)
		}
		return nil, fault.Permanent(fmt.Errorf("leaving the data of %d tables out of the schema dump takes %d KiB of %s arguments, "+
			"more than the %d KiB a command line safely holds: %d schemas are excluded whole, %d tables one by one%s; "+
			"pg_dump %d or newer reads them from a file (--filter) and has no such limit: install postgresql-client-%d or newer, or set pg_bin_dir to it",
			len(tables), (n+1023)/1024, pgDump, max(budget, 0)/1024, sd.schemas, sd.tables, listed, filterMajor, filterMajor))

	}
	return sd, nil
}

// busiestSchema is the carried schema with the most tables.
func busiestSchema(tables []tableInfo, carried map[string]bool) (schema string, count int) {
	counts := map[string]int{}
	for _, t := range tables {
		s := t.Ref.Schema
		if !carried[s] {
			continue
		}
		counts[s]++
		if counts[s] > count || counts[s] == count && s < schema {
			schema, count = s, counts[s]
		}
	}
	return schema, count
}

// argvBytes is what strs take of the kernel's limit on a new program's
// arguments and environment: each string, its NUL and its pointer.
func argvBytes(strs []string) int {
	n := 0
	for _, s := range strs {
		n += len(s) + 1 + 8
	}
	return n
}

// writeFilter writes the filter file into dir ("": the system's temporary
// directory) and returns its path; the caller removes it. CreateTemp makes
// it readable by its owner only (0600): it names every table.
func (sd *schemaDump) writeFilter(dir string) (string, error) {
	f, err := os.CreateTemp(dir, "dbopsd-pg_dump-filter-*")
	if err != nil {
		return "", fmt.Errorf("creating pg_dump's filter file: %w", err)
	}
	bw := bufio.NewWriter(f)
	bw.WriteString("# dbopsd: data pg_dump leaves out, copied by dbopsd itself\n")
	for _, x := range sd.filter {
		line, _ := x.filterLine()
		bw.WriteString(line)
	}
	err = bw.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing pg_dump's filter file: %w", err)
	}
	return f.Name(), nil
}
