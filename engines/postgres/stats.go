package postgres

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
)

// TableStats implements engines.Engine: the statistics Backup records,
// computed the same way (COPY text under stableOutput, every row into a
// RowDigest) from one snapshot of database. Tables that do not exist are
// left out of the result, so that engines.CompareStats reports them
// missing.
func (e *Engine) TableStats(ctx context.Context, target engines.Conn, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	stats, err := e.tableStats(ctx, target, database, tables)
	if err != nil {
		return nil, fmt.Errorf("table statistics of PostgreSQL database %s: %w", database, err)
	}
	return stats, nil
}

const statsWorkers = 4

func (e *Engine) tableStats(ctx context.Context, target engines.Conn, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	cfg, err := config(target, database)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leader, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(leader)
	if _, err := leader.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
		return nil, classify(err)
	}
	schemas := make([]string, len(tables))
	names := make([]string, len(tables))
	for i, t := range tables {
		t = table(t)
		schemas[i], names[i] = t.Schema, t.Name
	}
	rows, err := leader.Query(ctx, `SELECT s, n FROM unnest($1::text[], $2::text[]) AS t(s, n)
		WHERE EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = s AND c.relname = n AND c.relkind = 'r')`, schemas, names)
	if err != nil {
		return nil, classify(fmt.Errorf("looking up the tables: %w", err))
	}
	present, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engines.TableRef, error) {
		var t engines.TableRef
		err := r.Scan(&t.Schema, &t.Name)
		return t, err
	})
	if err != nil {
		return nil, classify(fmt.Errorf("looking up the tables: %w", err))
	}
	stats := make([]engines.TableStats, len(present))
	if len(present) <= 1 {
		for i, t := range present {
			if stats[i], err = copyOut(ctx, leader, t, nil); err != nil {
				return nil, fmt.Errorf("reading table %s: %w", t, classify(err))
			}
		}
	} else {
		var snapshotID string
		if err := leader.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshotID); err != nil {
			return nil, classify(fmt.Errorf("exporting the snapshot: %w", err))
		}
		g, gctx := errgroup.WithContext(ctx)
		next := make(chan int)
		g.Go(func() error {
			defer close(next)
			for i := range present {
				select {
				case next <- i:
				case <-gctx.Done():
					return nil
				}
			}
			return nil
		})
		for range min(statsWorkers, len(present)) {
			g.Go(func() error {
				conn, err := snapshotConn(gctx, cfg, snapshotID)
				if err != nil {
					return err
				}
				defer closeConn(conn)
				for i := range next {
					st, err := copyOut(gctx, conn, present[i], nil)
					if err != nil {
						return fmt.Errorf("reading table %s: %w", present[i], classify(err))
					}
					stats[i] = st
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	// The caller's names, so that CompareStats matches them exactly.
	byRef := map[engines.TableRef]engines.TableStats{}
	for _, s := range stats {
		byRef[s.Table] = s
	}
	var out []engines.TableStats
	for _, t := range tables {
		if s, ok := byRef[table(t)]; ok {
			s.Table = t
			out = append(out, s)
		}
	}
	return out, nil
}
