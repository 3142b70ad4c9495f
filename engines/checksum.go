package engines

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/zeebo/xxh3"
)

// RowDigest accumulates the order-independent content checksum of a table:
// the sum, lane by lane modulo 2^64, of a 128-bit hash of every row's bytes
// as the engine renders it. Being a sum, it does not depend on the order in
// which rows are read, so a restored copy (whose physical order may differ)
// yields the same digest. It is an integrity check against accidental
// damage, not a cryptographic commitment; the repository provides the latter.
//
// The zero RowDigest is ready to use; it is not safe for concurrent use, but
// digests of parts of one table can be combined with Merge.
type RowDigest struct {
	rows   int64
	hi, lo uint64
}

// Add adds one row.
func (d *RowDigest) Add(row []byte) {
	h := xxh3.Hash128(row)
	d.hi += h.Hi
	d.lo += h.Lo
	d.rows++
}

// Merge adds the rows of o.
func (d *RowDigest) Merge(o RowDigest) {
	d.hi += o.hi
	d.lo += o.lo
	d.rows += o.rows
}

// Rows is the number of rows added.
func (d *RowDigest) Rows() int64 { return d.rows }

// Sum is the checksum in hex.
func (d *RowDigest) Sum() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], d.hi)
	binary.BigEndian.PutUint64(b[8:], d.lo)
	return hex.EncodeToString(b[:])
}
