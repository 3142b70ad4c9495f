package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// statsParallel is how many tables TableStats reads at once.
const statsParallel = 2

// TableStats reads tables of database the way Backup does (same columns,
// same rendering, same row encoding), from one consistent snapshot, and
// returns their row counts and checksums. An empty tables means every
// table of the database.
func (e *Engine) TableStats(ctx context.Context, target engines.Conn, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	cfg, err := parseDSN(target)
	if err != nil {
		return nil, err
	}
	if err := checkName(database); err != nil {
		return nil, fmt.Errorf("table statistics: %w", err)
	}
	db, srv, err := connect(ctx, cfg, "", statsParallel+1)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out, err := tableStats(ctx, db, srv, database, tables)
	if err != nil {
		return nil, fmt.Errorf("table statistics of %s on %s: %w", database, where(cfg), err)
	}
	return out, nil
}

func tableStats(ctx context.Context, db *sql.DB, srv serverInfo, database string, refs []engines.TableRef) ([]engines.TableStats, error) {
	// Snapshots opened back to back without a lock: a verification target
	// is quiet, and the lock needs a privilege verification should not.
	conns := make([]*sql.Conn, statsParallel)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, classify(err)
		}
		defer c.Close()
		for _, s := range []string{
			"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
			"SET SESSION character_set_results = binary",
			"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
		} {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return nil, classify(err)
			}
		}
		conns[i] = c
	}
	all, err := readCatalog(ctx, conns[0], srv, database)
	if err != nil {
		return nil, classify(err)
	}
	byName := map[string]*table{}
	for _, t := range all {
		if t.Kind == kindTable {
			byName[t.Name] = t
		}
	}
	var todo []*table
	if len(refs) == 0 {
		for _, t := range all {
			if t.hasData() {
				todo = append(todo, t)
			}
		}
	} else {
		for _, r := range refs {
			t := byName[r.Name]
			if t == nil || (r.Schema != "" && r.Schema != database) {
				return nil, fault.Permanent(fmt.Errorf("table %s does not exist in %s", r, database))
			}
			todo = append(todo, t)
		}
	}

	out := make([]engines.TableStats, len(todo))
	var mu sync.Mutex
	next := 0
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range conns {
		g.Go(func() error {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(todo) {
					return nil
				}
				s, err := statsOf(gctx, c, srv, database, todo[i])
				if err != nil {
					return err
				}
				out[i] = s
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	engines.SortTables(out)
	return out, nil
}

// statsOf reads one table in the backup's encoding without keeping it.
func statsOf(ctx context.Context, c *sql.Conn, srv serverInfo, database string, t *table) (engines.TableStats, error) {
	rows, err := c.QueryContext(ctx, t.selectQuery(srv, database, keyRange{}))
	if err != nil {
		return engines.TableStats{}, tableError(t.Name, "reading", err)
	}
	defer rows.Close()
	var d engines.RowDigest
	bytes, err := scanRows(rows, t, &d, nil)
	if err != nil {
		return engines.TableStats{}, err
	}
	return engines.TableStats{Table: engines.TableRef{Name: t.Name}, Rows: d.Rows(), Checksum: d.Sum(), Bytes: bytes}, nil
}

// scanRows reads the rows of t from rows (a query of t.selectQuery), adds
// each to d, and hands each row's data line (without newline) to emit when
// it is not nil. It returns the bytes the lines take in a data part.
func scanRows(rows *sql.Rows, t *table, d *engines.RowDigest, emit func(line []byte) error) (int64, error) {
	n := len(t.Columns) + len(t.Generated)
	raw := make([]sql.RawBytes, n)
	ptrs := make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	vals := make([][]byte, n)
	enc := rowEncoder{nData: len(t.Columns)}
	var bytes int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return bytes, tableError(t.Name, "reading", err)
		}
		for i, r := range raw {
			vals[i] = r
		}
		line, dl := enc.encode(vals)
		d.Add(line)
		bytes += int64(dl) + 1
		if emit != nil {
			if err := emit(line[:dl]); err != nil {
				return bytes, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return bytes, tableError(t.Name, "reading", err)
	}
	return bytes, nil
}
