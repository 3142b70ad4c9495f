package mssql

import (
	"fmt"

	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
)

// How many URLs a backup is striped over, from Microsoft's guidance for
// SQL Server backups to URL on block blobs: MAXTRANSFERSIZE = 4194304 makes
// each Put Block 4 MiB, and a block blob holds at most 50,000 blocks, so a
// stripe holds at most 50,000 × 4 MiB (about 195 GiB, "200 GB"); a larger
// database is striped over several URLs, up to SQL Server's 64 backup
// devices (about 12.2 TiB). BLOCKSIZE = 65536 is the physical block size
// the guidance pairs with it (tsql.go).
const (
	// stripeLimit is the most one stripe can hold.
	stripeLimit = int64(blobsrv.MaxBlocks) * maxTransferSize
	// stripeBytes is what a stripe is planned to hold: half the limit.
	// SQL Server spreads a backup over its devices evenly but not exactly,
	// the database grows while the backup runs, and the log written
	// meanwhile is part of the backup; the data files' allocated size, which
	// the plan starts from, is already above what an uncompressed backup
	// holds (free pages are not backed up).
	stripeBytes = stripeLimit / 2
	// maxStripes is SQL Server's limit on backup devices.
	maxStripes = 64
)

// stripesFor is how many stripes a backup of a database whose files
// allocate dataBytes (data, FILESTREAM, full-text) and logBytes (log) is
// spread over: one per stripeBytes, at least one, at most 64. Beyond
// 64 stripes each stripe is planned fuller than half the limit; a database
// that would not fit 64 stripes at 90% of the limit is refused before the
// backup starts, rather than failing when a stripe hits 50,000 blocks.
func stripesFor(dataBytes, logBytes int64) (int, error) {
	total := dataBytes + logBytes
	n := 1 + (total-1)/stripeBytes
	if total <= 0 {
		n = 1
	}
	if n <= maxStripes {
		return int(n), nil
	}
	if total/maxStripes > stripeLimit/10*9 {
		return 0, fmt.Errorf("the database's files allocate %d bytes: more than 64 stripes of %d bytes (50,000 blocks of 4 MiB, SQL Server's limit for backups to URL) can safely hold; use backup_dir",
			total, stripeLimit)
	}
	return maxStripes, nil
}
