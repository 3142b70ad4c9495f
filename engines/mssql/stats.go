package mssql

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Statistics are computed on the server: COUNT_BIG(*) and
// CHECKSUM_AGG(BINARY_CHECKSUM(*)) per table, order-independent, so a
// restored copy gives the same figures. BINARY_CHECKSUM leaves out the
// columns of types it cannot compare (text, ntext, image, xml,
// sql_variant, CLR types); the row count still covers those tables.
//
// SQL Server exports no snapshot a second session could join, so the
// statistics of a backup are read from a database snapshot (CREATE
// DATABASE … AS SNAPSHOT OF) created as the backup ends, where the edition
// has them: every table as of one moment, a moment after the backup's end.
// Otherwise they are read from the live database after the backup, each
// table at its own moment, and Consistency says so.

// Consistency statements of a backup's statistics.
const (
	consistencySnapshot = "native backup (consistent as of its end); table statistics from a database snapshot taken as it ended"
	consistencyLive     = "native backup (consistent as of its end); table statistics read from the live database after it, each table at its own moment"
)

// TableStats implements engines.Engine. Tables that do not exist are left
// out, so that engines.CompareStats reports them missing.
func (e *Engine) TableStats(ctx context.Context, target engines.Conn, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	db, err := open(ctx, target, "master")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	stats, err := statsOf(ctx, db, database, tables)
	if err != nil {
		return nil, fmt.Errorf("table statistics of SQL Server database %s: %w", database, classify(err))
	}
	return stats, nil
}

// statsOf computes the statistics of tables (nil: every user table) of
// database.
func statsOf(ctx context.Context, db *sql.DB, database string, tables []engines.TableRef) ([]engines.TableStats, error) {
	present, err := userTables(ctx, db, database)
	if err != nil {
		return nil, err
	}
	want := present
	if tables != nil {
		have := map[engines.TableRef]bool{}
		for _, t := range present {
			have[t] = true
		}
		want = nil
		for _, t := range tables {
			if t.Schema == "" {
				t.Schema = "dbo"
			}
			if have[t] {
				want = append(want, t)
			}
		}
	}
	var out []engines.TableStats
	for _, t := range want {
		s, err := tableStats(database, t)
		if err != nil {
			return nil, fault.Permanent(err)
		}
		var rows int64
		var sum int32
		if err := db.QueryRowContext(ctx, s.sql).Scan(&rows, &sum); err != nil {
			return nil, fmt.Errorf("reading table %s: %w", t, err)
		}
		out = append(out, engines.TableStats{Table: t, Rows: rows, Checksum: fmt.Sprintf("%08x", uint32(sum))})
	}
	engines.SortTables(out)
	return out, nil
}

func userTables(ctx context.Context, db *sql.DB, database string) ([]engines.TableRef, error) {
	s, err := listTables(database)
	if err != nil {
		return nil, fault.Permanent(err)
	}
	rows, err := db.QueryContext(ctx, s.sql)
	if err != nil {
		return nil, fmt.Errorf("listing the tables: %w", err)
	}
	defer rows.Close()
	var out []engines.TableRef
	for rows.Next() {
		var t engines.TableRef
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// backupStats reads the statistics a backup records, from a database
// snapshot where the edition has them.
func (e *Engine) backupStats(ctx context.Context, db *sql.DB, info server, database string, files []dbFile) ([]engines.TableStats, string, error) {
	if info.snapshots() {
		snapName := fmt.Sprintf("dbopsd_snap_%s_%d", safeBlobName(database), time.Now().Unix())
		var sparse []move
		for _, f := range files {
			if f.Type == "ROWS" {
				sparse = append(sparse, move{Logical: f.Logical, Physical: sparseFile(f.Physical, snapName)})
			}
		}
		if s, err := createSnapshot(snapName, database, sparse); err == nil && exec(ctx, db, s) == nil {
			stats, err := statsOf(ctx, db, snapName, nil)
			if drop, derr := dropDatabase(snapName); derr == nil {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				exec(dctx, db, drop)
				cancel()
			}
			if err != nil {
				return nil, "", fmt.Errorf("table statistics of %s (from snapshot %s): %w", database, snapName, err)
			}
			return stats, consistencySnapshot, nil
		}
		// No snapshot (no room beside the files, no permission): the
		// live database, said so below.
	}
	stats, err := statsOf(ctx, db, database, nil)
	if err != nil {
		return nil, "", fmt.Errorf("table statistics of %s: %w", database, err)
	}
	return stats, consistencyLive, nil
}

// sparseFile is the path of a snapshot's sparse file beside the data file
// physical (a Windows or a Linux path).
func sparseFile(physical, snapName string) string {
	sep := "/"
	if strings.Contains(physical, `\`) {
		sep = `\`
	}
	dir := physical[:strings.LastIndex(physical, sep)+1]
	base := path.Base(strings.ReplaceAll(physical, `\`, "/"))
	return dir + snapName + "_" + strings.TrimSuffix(base, path.Ext(base)) + ".ss"
}
