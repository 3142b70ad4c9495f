package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Table kinds in the schema part.
const (
	kindTable    = "table"
	kindSequence = "sequence"
)

// table is what a backup records about one table (or MariaDB sequence), and
// what TableStats derives the same way from a restored copy, so that both
// sides read the same columns in the same order.
type table struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // kindTable or kindSequence
	// Engine is the storage engine, e.g. InnoDB, MyISAM.
	Engine string `json:"engine,omitempty"`
	// Columns are the columns in the data part, in order: every column that
	// holds data, invisible ones included, and for a system-versioned table
	// whose history is kept, its row start and row end columns.
	Columns []string `json:"columns,omitempty"`
	// Generated columns (VIRTUAL or STORED) are recreated by the DDL; they
	// are read for the checksum only.
	Generated []string `json:"generated,omitempty"`
	// History is set for a system-versioned table whose every row version
	// is in the data part (read FOR SYSTEM_TIME ALL).
	History bool `json:"history,omitempty"`
	// HistoryLost says why a system-versioned table's history is not kept
	// (historyNotLoadable, historyTransactionIDs, or what another version
	// wrote).
	HistoryLost string `json:"history_lost,omitempty"`
	// NoData is set for tables whose rows live elsewhere (MERGE, FEDERATED,
	// CONNECT, SPIDER) or nowhere (BLACKHOLE): only their definition is
	// backed up, as mysqldump does, so a restore never writes through them.
	NoData bool `json:"no_data,omitempty"`
	// Create is SHOW CREATE TABLE (or SEQUENCE) output.
	Create string `json:"create"`
	// SequenceNext is a sequence's next_not_cached_value, restored with
	// SETVAL; SequenceCycles its cycle_count.
	SequenceNext   string `json:"sequence_next,omitempty"`
	SequenceCycles string `json:"sequence_cycles,omitempty"`

	// Not recorded: planning facts of the source.
	dataBytes int64  // information_schema DATA_LENGTH estimate
	keyCol    string // a single-column integer primary key, for key ranges
}

// Why a system-versioned table's history is not kept (table.HistoryLost).
// The restore reports each in its own words (NoteHistoryNotLoadable,
// NoteHistoryTrxID).
const (
	historyNotLoadable    = "the server cannot load row history (needs MariaDB 10.11 system_versioning_insert_history)"
	historyTransactionIDs = "transaction-precise versioning (row start/end are transaction ids, which cannot be recreated)"
)

func (t *table) transactional() bool { return transactionalEngine(t.Engine) }

// hasData reports whether the table's rows are backed up.
func (t *table) hasData() bool { return t.Kind == kindTable && !t.NoData }

// selectList is the column list of the read: dumped columns, then generated.
func (t *table) selectList() string {
	var b strings.Builder
	for i, c := range append(append([]string(nil), t.Columns...), t.Generated...) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteIdent(c))
	}
	return b.String()
}

// selectQuery reads the table's rows, every version of them when History is
// set, optionally limited to a key range (literals, not placeholders: a
// prepared statement would switch the driver to the binary protocol, whose
// values it renders itself).
func (t *table) selectQuery(srv serverInfo, database string, r keyRange) string {
	q := "SELECT " + srv.selectHint() + t.selectList() + " FROM " + quoteIdent(database) + "." + quoteIdent(t.Name)
	if t.History {
		q += " FOR SYSTEM_TIME ALL"
	}
	if w := r.where(t.keyCol); w != "" {
		q += " WHERE " + w
	}
	return q
}

// catalogTable is one row of information_schema.TABLES for a database.
type catalogTable struct {
	name, typ, engine string
	dataBytes         int64
}

// readCatalog lists the tables and sequences of database with their columns
// (Create is left empty). Views are not tables here.
func readCatalog(ctx context.Context, q querier, srv serverInfo, database string) ([]*table, error) {
	rows, err := q.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), COALESCE(DATA_LENGTH, 0)
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("listing the tables of %s: %w", database, err)
	}
	var ts []catalogTable
	for rows.Next() {
		var c catalogTable
		if err := rows.Scan(&c.name, &c.typ, &c.engine, &c.dataBytes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the tables of %s: %w", database, err)
		}
		ts = append(ts, c)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("listing the tables of %s: %w", database, err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the tables of %s: %w", database, err)
	}

	type col struct {
		name, dataType, extra, expr, key string
	}
	cols := map[string][]col{}
	rows, err = q.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COALESCE(EXTRA, ''),
			COALESCE(GENERATION_EXPRESSION, ''), COALESCE(COLUMN_KEY, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`, database)
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", database, err)
	}
	for rows.Next() {
		var tn string
		var c col
		if err := rows.Scan(&tn, &c.name, &c.dataType, &c.extra, &c.expr, &c.key); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the columns of %s: %w", database, err)
		}
		cols[tn] = append(cols[tn], c)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", database, err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", database, err)
	}

	var out []*table
	for _, c := range ts {
		t := &table{Name: c.name, Kind: kindTable, Engine: c.engine, dataBytes: c.dataBytes, NoData: dataElsewhere(c.engine)}
		if strings.EqualFold(c.typ, "SEQUENCE") {
			t.Kind = kindSequence
			out = append(out, t)
			continue
		}
		versioned := strings.EqualFold(c.typ, "SYSTEM VERSIONED")
		var period []col
		var pk []col
		for _, cc := range cols[c.name] {
			switch {
			case isPeriodColumn(cc.expr):
				period = append(period, cc)
			case isGenerated(cc.extra, cc.expr):
				t.Generated = append(t.Generated, cc.name)
			default:
				t.Columns = append(t.Columns, cc.name)
			}
			if cc.key == "PRI" {
				pk = append(pk, cc)
			}
		}
		if versioned {
			switch {
			case !srv.canInsertHistory():
				// Decided again on the target side by the same rule, so
				// statistics compare current rows only.
				t.HistoryLost = historyNotLoadable
			case len(period) == 0:
				// Implicit period columns: named row_start and row_end,
				// hidden from information_schema.
				t.History = true
				t.Columns = append(t.Columns, "row_start", "row_end")
			case len(period) == 2 && strings.EqualFold(period[0].dataType, "timestamp"):
				t.History = true
				for _, p := range period {
					t.Columns = append(t.Columns, p.name)
				}
			default:
				t.HistoryLost = historyTransactionIDs
			}
		}
		if len(pk) == 1 && integerType(pk[0].dataType) {
			t.keyCol = pk[0].name
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func integerType(dataType string) bool {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// showCreateTable returns SHOW CREATE TABLE (or SEQUENCE) output.
func showCreateTable(ctx context.Context, q querier, database string, t *table) (string, error) {
	what := "TABLE"
	if t.Kind == kindSequence {
		what = "SEQUENCE"
	}
	m, err := showCreate(ctx, q, "SHOW CREATE "+what+" "+quoteIdent(database)+"."+quoteIdent(t.Name))
	if err != nil {
		return "", err
	}
	s, ok := m["create table"]
	if !ok {
		s, ok = m["create sequence"]
	}
	if !ok || s == nil {
		return "", fmt.Errorf("SHOW CREATE %s %s.%s returned no statement", what, database, t.Name)
	}
	return string(s), nil
}

// showCreate runs a SHOW CREATE statement and returns its single row by
// lower-cased column name (nil for NULL).
func showCreate(ctx context.Context, q querier, stmt string) (map[string][]byte, error) {
	rows, err := q.QueryContext(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: no row", stmt)
	}
	vals := make([]sql.RawBytes, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	m := make(map[string][]byte, len(names))
	for i, n := range names {
		if vals[i] != nil {
			m[strings.ToLower(n)] = append([]byte{}, vals[i]...)
		} else {
			m[strings.ToLower(n)] = nil
		}
	}
	return m, rows.Err()
}
