package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A table whose heap is larger than Engine.SplitBytes is backed up as
// several parts, each a range of heap blocks read with a TID range scan
// (PostgreSQL 14+):
//
//	COPY (SELECT <columns> FROM ONLY t WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT
//
// Ranges are SplitBytes worth of blocks, aligned to absolute block numbers
// from 0, and the last is open above: rows appended to a table land in its
// last blocks, so the next backup of a table that grew has the same earlier
// parts, byte for byte (small differentials). The column list is the one
// COPY t TO would write (no dropped, no generated columns), so the parts
// of a table together hold exactly the lines of an unsplit copy and their
// merged RowDigest is the table's checksum.

// blockRange is the half-open range of heap blocks [lo, hi); hi < 0 means
// open above.
type blockRange struct {
	lo, hi int64
}

func (r blockRange) where() string {
	var c []string
	if r.lo > 0 {
		c = append(c, fmt.Sprintf("ctid >= '(%d,0)'::tid", r.lo))
	}
	if r.hi >= 0 {
		c = append(c, fmt.Sprintf("ctid < '(%d,0)'::tid", r.hi))
	}
	return strings.Join(c, " AND ")
}

// splitBlocks cuts a heap of nblocks blocks into ranges of step blocks
// starting at multiples of step; the last range is open above. A heap of
// at most step blocks is one range, the whole table.
func splitBlocks(nblocks, step int64) []blockRange {
	if step <= 0 || nblocks <= step {
		return []blockRange{{lo: 0, hi: -1}}
	}
	var out []blockRange
	lo := int64(0)
	for lo+step < nblocks {
		out = append(out, blockRange{lo: lo, hi: lo + step})
		lo += step
	}
	return append(out, blockRange{lo: lo, hi: -1})
}

// dataPart is one data part of a backup: a whole table (seq 0) or one block
// range of it.
type dataPart struct {
	table int // index into the backup's tables
	seq   int
	name  string
	sql   string // the COPY ... TO STDOUT statement
	size  int64  // estimated bytes, for scheduling
}

// planParts turns the tables (biggest first) into data parts, splitting
// those whose heap is larger than e.SplitBytes, and orders them biggest
// first. columns[i] are the COPY columns of tables[i].
func (e *Engine) planParts(ctx context.Context, conn *pgx.Conn, versionNum int, tables []tableInfo, columns [][]string) ([]dataPart, error) {
	ranges := make([][]blockRange, len(tables))
	heapBlocks := make([]int64, len(tables))
	var blockSize int64
	if e.SplitBytes > 0 && versionNum >= 140000 {
		var cand []uint32
		for _, t := range tables {
			if t.Size > e.SplitBytes {
				cand = append(cand, t.OID)
			}
		}
		if len(cand) > 0 {
			if err := conn.QueryRow(ctx, "SELECT current_setting('block_size')::bigint").Scan(&blockSize); err != nil {
				return nil, classify(fmt.Errorf("reading the block size: %w", err))
			}
			// Only heap tables have ctids that a TID range scan can use.
			rows, err := conn.Query(ctx, `SELECT c.oid, pg_relation_size(c.oid)
				FROM pg_class c JOIN pg_am a ON a.oid = c.relam
				WHERE c.oid = ANY($1) AND a.amname = 'heap'`, cand)
			if err != nil {
				return nil, classify(fmt.Errorf("reading the tables' sizes: %w", err))
			}
			heap := map[uint32]int64{}
			var oid uint32
			var size int64
			if _, err := pgx.ForEachRow(rows, []any{&oid, &size}, func() error { heap[oid] = size; return nil }); err != nil {
				return nil, classify(fmt.Errorf("reading the tables' sizes: %w", err))
			}
			step := max(1, e.SplitBytes/blockSize)
			for i, t := range tables {
				if n, ok := heap[t.OID]; ok && n > e.SplitBytes && len(columns[i]) > 0 {
					if r := splitBlocks(n/blockSize, step); len(r) > 1 {
						ranges[i], heapBlocks[i] = r, n/blockSize
					}
				}
			}
		}
	}

	base := dataPartNames(tables)
	seen := map[string]bool{}
	for _, n := range base {
		seen[n] = true
	}
	var parts []dataPart
	for i, t := range tables {
		if ranges[i] == nil {
			parts = append(parts, dataPart{table: i, name: base[i], sql: "COPY " + quoteTable(t.Ref) + " TO STDOUT", size: t.Size})
			continue
		}
		cols := make([]string, len(columns[i]))
		for j, c := range columns[i] {
			cols[j] = quoteIdent(c)
		}
		sel := "SELECT " + strings.Join(cols, ", ") + " FROM ONLY " + quoteTable(t.Ref)
		for j, r := range ranges[i] {
			seq := j + 1
			name := fmt.Sprintf("%s/%04d", base[i], seq)
			if seen[name] { // another table's unsplit part, by a freak of naming
				name = fmt.Sprintf("%s#%d/%04d", base[i], t.OID, seq)
			}
			seen[name] = true
			size := (r.hi - r.lo) * blockSize
			if r.hi < 0 {
				size = max(0, heapBlocks[i]-r.lo) * blockSize
			}
			parts = append(parts, dataPart{table: i, seq: seq, name: name,
				sql: "COPY (" + sel + " WHERE " + r.where() + ") TO STDOUT", size: size})
		}
	}
	sort.SliceStable(parts, func(a, b int) bool { return parts[a].size > parts[b].size })
	return parts, nil
}

// partSize estimates the bytes of one data part of a table whose data,
// as dumped, was total bytes, split into n parts.
func partSize(total int64, n int) int64 {
	if n <= 1 {
		return total
	}
	return total / int64(n)
}
