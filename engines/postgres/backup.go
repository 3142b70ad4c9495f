package postgres

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
)

// Backup implements engines.Engine.
//
// One leader connection opens a REPEATABLE READ transaction, locks every
// table it will copy (ACCESS SHARE: reads and writes go on, DDL waits), and
// exports its snapshot. From that snapshot, concurrently:
//   - pg_dump --snapshot writes the "schema" part: every definition, plus
//     what only pg_dump knows how to carry (sequence values, large objects,
//     extension configuration rows, materialized view refreshes), but not
//     the data of the tables below (exclude.go: how pg_dump is told so,
//     whatever their number);
//   - opts.Parallel workers, each importing the snapshot, COPY one part at a
//     time (biggest first) into a "data/<schema>.<table>" part, computing the
//     table's statistics from the same stream. A table larger than
//     e.SplitBytes is cut into heap block ranges, "data/<schema>.<table>/0001"
//     and on (see split.go), copied on several workers at once; the digests
//     of its parts merge into the table's statistics.
//
// The leader's transaction stays open until both are done.
func (e *Engine) Backup(ctx context.Context, src engines.Conn, opts engines.BackupOptions, sink engines.PartSink) (*engines.Snapshot, error) {
	cfg, err := config(src, "")
	if err != nil {
		return nil, err
	}
	db := cfg.Database
	log := logger(opts.Logger).With("database", db)
	snap, err := e.backup(ctx, src, cfg, opts, sink, log)
	if err != nil {
		return nil, fmt.Errorf("backup of PostgreSQL database %s: %w", db, err)
	}
	return snap, nil
}

func (e *Engine) backup(ctx context.Context, src engines.Conn, cfg *pgx.ConnConfig, opts engines.BackupOptions, sink engines.PartSink, log hclog.Logger) (*engines.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := time.Now()

	leader, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeConn(leader)

	tables, err := snapshotTables(ctx, leader)
	if err != nil {
		return nil, err
	}
	x, err := exportSnapshot(ctx, leader)
	if err != nil {
		return nil, err
	}
	snapshotID, version, versionNum, position := x.id, x.version, x.versionNum, x.position

	pgDump, err := e.findTool(ctx, src.BinDir, "pg_dump", versionNum/10000)
	if err != nil {
		return nil, err
	}
	m, err := collectMeta(ctx, leader, versionNum, tables)
	if err != nil {
		return nil, classify(err)
	}
	m.PgDumpVersion, m.PgDumpMajor = pgDump.Version, pgDump.Major
	if err := writeMeta(ctx, sink, m); err != nil {
		return nil, err
	}
	log.Info("snapshot exported", "tables", len(tables), "server_version", version, "position", position, "pg_dump", pgDump.String())

	columns := make([][]string, len(tables))
	for i := range tables {
		columns[i] = m.Tables[i].Columns
	}
	parts, err := e.planParts(ctx, leader, versionNum, tables, columns)
	if err != nil {
		return nil, err
	}
	cc, err := newChildConn(src, cfg.Database)
	if err != nil {
		return nil, err
	}
	// Planned before anything is copied: a database whose exclusions pg_dump
	// cannot be given fails here, not after hours of COPY.
	carried, err := carriedSchemas(ctx, leader, tables)
	if err != nil {
		return nil, classify(err)
	}
	budget := argBudget - argvBytes(cc.env) - argvBytes(schemaDumpArgs(cc, snapshotID)) - filterArgRoom
	sd, err := planSchemaDump(pgDump, tables, carried, budget)
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return dumpSchema(gctx, pgDump, cc, snapshotID, sd, sink, log) })

	var copied copiedParts
	g.Go(func() error {
		var err error
		copied, err = copyParts(gctx, cfg, snapshotID, tables, columns, parts, opts.Parallel, sink, log)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if _, err := leader.Exec(ctx, "COMMIT"); err != nil {
		return nil, fmt.Errorf("closing the snapshot transaction: %w", err)
	}

	stats := make([]engines.TableStats, len(tables))
	var rows, bytes int64
	for i, t := range tables {
		stats[i] = engines.TableStats{Table: t.Ref, Rows: copied.digests[i].Rows(), Checksum: copied.digests[i].Sum(), Bytes: copied.sizes[i]}
		rows += stats[i].Rows
		bytes += stats[i].Bytes
	}
	log.Info("backup done", "tables", len(tables), "parts", len(parts), "rows", rows, "bytes", bytes, "duration", time.Since(started).Round(time.Millisecond))
	engines.SortTables(stats)
	return &engines.Snapshot{
		Engine:        e.Name(),
		ServerVersion: version,
		Position:      position,
		TakenAt:       started.UTC(),
		Consistency:   x.consistency,
		Tables:        stats,
		Meta: map[string]string{
			"server_version_num": fmt.Sprint(versionNum),
			"pg_dump":            pgDump.Version,
			"meta_part":          metaPart,
		},
	}, nil
}

// snapshotTables opens the leader's snapshot transaction and returns the
// tables it sees, every one locked. The tables are listed and locked
// before the transaction takes its snapshot: LOCK TABLE does not take a
// snapshot, so no DDL can slip in between the snapshot and the locks for
// these tables; those created meanwhile are locked after.
func snapshotTables(ctx context.Context, leader *pgx.Conn) ([]tableInfo, error) {
	before, err := listTables(ctx, leader)
	if err != nil {
		return nil, classify(fmt.Errorf("listing tables: %w", err))
	}
	if _, err := leader.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
		return nil, classify(fmt.Errorf("starting the snapshot transaction: %w", err))
	}
	if err := lockTables(ctx, leader, before); err != nil {
		return nil, err
	}
	tables, err := listTables(ctx, leader) // the snapshot is taken here
	if err != nil {
		return nil, classify(fmt.Errorf("listing tables: %w", err))
	}
	locked := make(map[uint32]bool, len(before))
	for _, t := range before {
		locked[t.OID] = true
	}
	var late []tableInfo
	for _, t := range tables {
		if !locked[t.OID] {
			late = append(late, t)
		}
	}
	if err := lockTables(ctx, leader, late); err != nil {
		return nil, err
	}
	return tables, nil
}

// exported is the leader's snapshot, exported for pg_dump and the COPY
// workers, and where it stands.
type exported struct {
	id, version, position, consistency string
	versionNum                         int
}

func exportSnapshot(ctx context.Context, leader *pgx.Conn) (exported, error) {
	var x exported
	if err := leader.QueryRow(ctx, `SELECT pg_export_snapshot(), current_setting('server_version'),
		current_setting('server_version_num')::int,
		CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_lsn()::text END`).
		Scan(&x.id, &x.version, &x.versionNum, &x.position); err != nil {
		return x, classify(fmt.Errorf("exporting the snapshot: %w", err))
	}
	x.consistency = "snapshot"
	if x.position == "" {
		// On a standby the snapshot is consistent too; only the LSN of the
		// primary is not ours to read.
		var replay *string
		if err := leader.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&replay); err == nil && replay != nil {
			x.position = "replay " + *replay
		}
		x.consistency = "snapshot (standby)"
	}
	return x, nil
}

// copiedParts is, per table, the merged digest and bytes of its parts.
type copiedParts struct {
	digests []engines.RowDigest
	sizes   []int64
}

// copyParts copies the table parts, biggest first, on up to parallel
// connections inside the exported snapshot.
func copyParts(ctx context.Context, cfg *pgx.ConnConfig, snapshotID string, tables []tableInfo, columns [][]string, parts []dataPart, parallel int,
	sink engines.PartSink, log hclog.Logger) (copiedParts, error) {
	var mu sync.Mutex
	out := copiedParts{digests: make([]engines.RowDigest, len(tables)), sizes: make([]int64, len(tables))}
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan int)
	g.Go(func() error {
		defer close(jobs)
		for i := range parts { // biggest first: planParts sorts by size
			select {
			case jobs <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	workers := max(1, min(parallel, len(parts)))
	for range workers {
		g.Go(func() error {
			conn, err := snapshotConn(gctx, cfg, snapshotID)
			if err != nil {
				return err
			}
			defer closeConn(conn)
			for i := range jobs {
				p := parts[i]
				t := tables[p.table]
				rd, err := dumpPart(gctx, conn, t.Ref, engines.RowShape(columns[p.table]), p, sink)
				if err != nil {
					return err
				}
				mu.Lock()
				out.digests[p.table].Merge(rd.d)
				out.sizes[p.table] += rd.bytes
				mu.Unlock()
				log.Debug("table copied", "table", t.Ref.String(), "part", p.seq, "rows", rd.d.Rows(), "bytes", rd.bytes)
			}
			return nil
		})
	}
	return out, g.Wait()
}

// lockTables takes ACCESS SHARE locks in batches, so that a database with
// many tables does not need one huge statement.
func lockTables(ctx context.Context, conn *pgx.Conn, tables []tableInfo) error {
	const batch = 500
	for i := 0; i < len(tables); i += batch {
		names := make([]string, 0, batch)
		for _, t := range tables[i:min(i+batch, len(tables))] {
			names = append(names, quoteTable(t.Ref))
		}
		if _, err := conn.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN ACCESS SHARE MODE"); err != nil {
			return classify(fmt.Errorf("locking tables: %w", err))
		}
	}
	return nil
}

// snapshotConn opens a worker connection inside the exported snapshot.
func snapshotConn(ctx context.Context, cfg *pgx.ConnConfig, snapshotID string) (*pgx.Conn, error) {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT "+quoteLiteral(snapshotID)); err != nil {
		closeConn(conn)
		return nil, classify(fmt.Errorf("importing snapshot %s: %w", snapshotID, err))
	}
	return conn, nil
}

func writeMeta(ctx context.Context, sink engines.PartSink, m *meta) error {
	w, err := sink.CreatePart(ctx, engines.PartInfo{Name: metaPart, Kind: engines.KindMeta, Format: formatMeta})
	if err != nil {
		return fmt.Errorf("creating part %s: %w", metaPart, err)
	}
	if err := json.NewEncoder(w).Encode(m); err != nil {
		w.Close()
		return fmt.Errorf("writing part %s: %w", metaPart, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("storing part %s: %w", metaPart, err)
	}
	return nil
}

// dumpSchema streams pg_dump's custom-format archive into the schema part,
// without the data sd excludes (see exclude.go).
func dumpSchema(ctx context.Context, pgDump tool, cc childConn, snapshotID string, sd *schemaDump, sink engines.PartSink, log hclog.Logger) error {
	args := append(schemaDumpArgs(cc, snapshotID), sd.args...)
	if len(sd.filter) > 0 {
		path, err := sd.writeFilter("")
		if err != nil {
			return err
		}
		defer os.Remove(path)
		args = append(args, "--filter="+path)
	}
	w, err := sink.CreatePart(ctx, engines.PartInfo{Name: schemaPart, Kind: engines.KindSchema, Format: formatSchema})
	if err != nil {
		return fmt.Errorf("creating part %s: %w", schemaPart, err)
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	start := time.Now()
	_, err = run(ctx, pgDump, args, cc, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.Close()
		if errors.Is(err, syscall.E2BIG) {
			err = fmt.Errorf("%w (the command line leaves out the data of %d schemas and %d tables: pg_dump %d or newer takes them from a file)",
				err, sd.schemas, sd.tables, filterMajor)
		}
		return fmt.Errorf("dumping the schema: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("storing part %s: %w", schemaPart, err)
	}
	log.Debug("schema dumped", "bytes", cw.n, "duration", time.Since(start).Round(time.Millisecond),
		"excluded_schemas", sd.schemas, "excluded_tables", sd.tables, "filter_file", len(sd.filter) > 0)
	return nil
}

// schemaDumpArgs are pg_dump's arguments but for the exclusions.
// -Z0: the repository compresses; compressing twice only costs CPU.
func schemaDumpArgs(cc childConn, snapshotID string) []string {
	return []string{"--format=custom", "--compress=0", "--no-password", "--snapshot=" + snapshotID, "--dbname=" + cc.conninfo}
}

// dataPartNames names the data parts "data/<schema>.<table>"; in the rare
// case of two tables with the same such name (dots in names), the OID
// tells them apart. Restores go by PartInfo.Table, not by the name.
func dataPartNames(tables []tableInfo) []string {
	names := make([]string, len(tables))
	seen := make(map[string]bool, len(tables))
	for i, t := range tables {
		n := dataPrefix + t.Ref.String()
		if seen[n] {
			n = fmt.Sprintf("%s#%d", n, t.OID)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}

// dumpPart copies one data part of table t: the whole table, or one block
// range of it.
func dumpPart(ctx context.Context, conn *pgx.Conn, t engines.TableRef, shape string, p dataPart, sink engines.PartSink) (*rowDigester, error) {
	ref := t
	w, err := sink.CreatePart(ctx, engines.PartInfo{Name: p.name, Kind: engines.KindTable, Table: &ref, Format: formatData, Seq: p.seq, Shape: shape})
	if err != nil {
		return nil, fmt.Errorf("creating part %s: %w", p.name, err)
	}
	// No bufio: the repository's part writer takes a row at a time cheaply.
	rd, err := copyOutSQL(ctx, conn, p.sql, w)
	if err == nil {
		_, err = rd.stats(t)
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("copying table %s (part %s): %w", t, p.name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("storing part %s: %w", p.name, err)
	}
	return rd, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
