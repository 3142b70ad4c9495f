package repository

// Row-level differentials (ARCHITECTURE.md, "Row-level differentials").
//
// A table part whose PartInfo.Shape is set is a multiset of row lines. In a
// full, every line is fingerprinted as it streams by (a keyed hash of the
// whole line: a 64-bit fingerprint and 16 check bits). Where they cost at
// most an eighth of the part's stored size, the sorted fingerprints are
// stored, delta-coded, as a part of their own, "rowfp/<part>", of kind
// KindRowFingerprints (about 8 bytes a row), so that a differential need
// not read the full back: on object storage that takes as long as a
// restore. Rows that compress to a byte or two are cheaper to read back
// than to fingerprint at 8 bytes each; for them the differential
// fingerprints the full's part again (recompute).
//
// In a differential, the same part is spooled to a file in the backup's
// temporary directory while its lines' fingerprints are sorted externally
// (rowset); where the full's part must be fingerprinted again, that runs
// beside the dump. Everything spilled is compressed and sealed under a key
// that lives only in memory (rowset.Sealer). At Close, one sort-merge
// against the full's fingerprints finds the lines the full lacks (added)
// and the full's lines the table has lost (removed, counted as a multiset,
// so duplicate rows without a key work). The part is then stored the
// cheaper way: as rows (the removals, then the added lines, sorted and
// their integer keys delta-coded: addedRun) or as chunks (today's path,
// replayed from the spool). Rows lose to chunks for a table that was only
// appended to, rewritten, or mostly deleted.
//
// No fingerprint collision can lose a row: a fingerprint shared by two
// different lines (told apart by their check bits) anywhere in the merge
// makes the part go as chunks. A restore streams the full's part, drops
// each removed line (by position when the differential read the full's
// part, else one line per matching fingerprint and check bits), and
// appends the added lines; the table's order-independent checksum then
// proves the result.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/dchest/siphash"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/repository/rowset"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
)

// KindRowFingerprints is the kind of a full's fingerprint part. Source.Parts
// does not list it: it is the repository's, not the engine's.
const KindRowFingerprints = "rowfp"

// How a differential's part of rows was stored (Part.Method).
const (
	MethodRows   = "rows"
	MethodChunks = "chunks"
)

const (
	rowFPPrefix = "rowfp/"
	formatRowFP = "dbopsd-rowfp/1"
	formatRows  = "dbopsd-rows/1"
	magicRowFP  = "dbopsd-rowfp/1\n"
	magicRows   = "dbopsd-rows/1\n"
	magicRowsAt = "dbopsd-rows-at/1\n"
	// Version 2 of both: the added lines go in blocks (addedRun), keyed
	// lines with their leading integers delta-coded. Version 1 parts (added
	// lines as they are) stay readable.
	magicRows2   = "dbopsd-rows/2\n"
	magicRowsAt2 = "dbopsd-rows-at/2\n"
	// fingerprintFormat is the repository format that has fingerprint
	// parts; rowsFormat the one whose rows parts are version 2 (sorted
	// blocks), the only ones this code writes.
	fingerprintFormat = 3
	rowsFormat        = 4
	// removedMax bounds the removals a part stored as rows may carry: a
	// restore holds them in memory, 16 bytes each (64 MiB at most).
	removedMax = 4 << 20
	fpEntry    = 12 // a fingerprint and its check bits, in temporary files
	// fpStored estimates the stored size of one (sorted, delta-coded)
	// fingerprint and its check bits.
	fpStored = 8
	// checkBits: 16 check bits beside a 64-bit fingerprint leave an
	// undetected collision (equal fingerprint and check bits) once in
	// 2^80 pairs of a changed row and a row of the full; the fingerprint
	// alone collides, detectably, about once in 300,000 differentials of
	// a 10-million-row table, and that table then goes as chunks.
	checkBits = 16
)

// fpEncoder writes sorted fingerprints compactly: the difference to the
// previous one as a uvarint (about 6 bytes for 10 million rows, where the
// differences are near 2^64/10^7), then the 16 check bits. Random 64-bit
// values do not compress, so the sorting is what makes them small.
type fpEncoder struct {
	w    *bufio.Writer
	prev uint64
	b    [binary.MaxVarintLen64 + 2]byte
}

func (e *fpEncoder) put(fp uint64, check uint32) {
	n := binary.PutUvarint(e.b[:], fp-e.prev)
	e.b[n], e.b[n+1] = byte(check>>8), byte(check)
	e.w.Write(e.b[:n+2])
	e.prev = fp
}

type fpDecoder struct {
	r    *bufio.Reader
	prev uint64
}

func (d *fpDecoder) get() (uint64, uint32, error) {
	delta, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, 0, err
	}
	hi, err := d.r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	lo, err := d.r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	d.prev += delta
	return d.prev, uint32(hi)<<8 | uint32(lo), nil
}

// RowsInfo describes a part stored as rows.
type RowsInfo struct {
	// BaseChunks: the first chunks of the part are the full's part.
	BaseChunks int   `json:"base_chunks"`
	BaseSize   int64 `json:"base_size"`
	Added      int64 `json:"added"`
	Removed    int64 `json:"removed"`
	// ByPosition: removals name lines of the full's part by position
	// (delta-coded, a byte or two each), not by fingerprint. Used when the
	// differential fingerprinted the full's part itself and so knows where
	// each line is: rows that compress to a few bytes would otherwise pay
	// 8 bytes for each removal.
	ByPosition bool `json:"by_position,omitempty"`
}

// fingerprintBits is the width of new fingerprints: 64, narrower only in
// tests that force collisions.
var fingerprintBits = 64

// SetFingerprintBitsForTest makes new fingerprints bits wide (collisions
// become common) until the returned function is called. Tests only.
func SetFingerprintBitsForTest(bits int) (undo func()) {
	old := fingerprintBits
	fingerprintBits = bits
	return func() { fingerprintBits = old }
}

// spillHook, when set, is called with the temporary directory while a
// differential's part has everything spilled (spool, sort runs, removals).
var spillHook func(dir string)

// SetSpillHookForTest sets spillHook until the returned function is
// called. Tests only.
func SetSpillHookForTest(f func(dir string)) (undo func()) {
	old := spillHook
	spillHook = f
	return func() { spillHook = old }
}

// InitVersionForTest creates a repository of an older format version.
// Tests only (a format 2 repository moving to 3).
func InitVersionForTest(ctx context.Context, st storage.Storage, passphrase secret.Value, version int) (*Repo, error) {
	return initVersion(ctx, st, passphrase, version)
}

// rowsFormatOf is the repository format m's parts need: rowsFormat for a
// part stored as rows, fingerprintFormat for fingerprints only, 0 for
// neither.
func rowsFormatOf(m *Manifest) int {
	need := 0
	for _, p := range m.Parts {
		switch {
		case p.Rows != nil:
			return rowsFormat
		case p.Kind == KindRowFingerprints:
			need = fingerprintFormat
		}
	}
	return need
}

// raiseFormat moves the repository to format version (MAC-authenticated
// like any config) before a manifest that needs it is written.
func (r *Repo) raiseFormat(ctx context.Context, version int) error {
	if r.cfg.Version >= version {
		return nil
	}
	cfg := r.cfg
	cfg.Version = version
	cfg.MAC = cfg.mac(r.keys.macKey)
	b := cfg.encode()
	if err := r.st.Put(ctx, configKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		return fmt.Errorf("moving the repository to format %d (row-level differentials): %w", version, err)
	}
	r.logger.Info("repository moved to a new format: older dbopsd versions now refuse it", "format", version)
	r.cfg = cfg
	return nil
}

// rowKey is the key of the row fingerprints, derived from the MAC key so
// that the storage operator cannot confirm guesses about rows.
func (k *keys) rowKey() []byte {
	h := hmac.New(sha256.New, k.macKey)
	h.Write([]byte("dbopsd-row-fingerprint-v1"))
	return h.Sum(nil)
}

// lineHasher fingerprints lines: SipHash-2-4 with 128-bit output under a
// key derived from the MAC key, the first half the fingerprint, 16 bits of
// the second the check bits. Keyed, so that nobody who can write rows into
// the database but does not hold the key can make two rows collide; SipHash
// rather than the chunks' BLAKE3, because rows are short and BLAKE3's
// per-call cost made hashing 40 % of a differential's CPU.
type lineHasher struct {
	k0, k1 uint64
	bits   int
	d      hash.Hash // for a line that arrives in pieces
	n      int64     // bytes of the current line so far (pieces)
	sum    [16]byte
}

func (r *Repo) newLineHasher(bits int) *lineHasher {
	k := r.keys.rowKey()[:16]
	return &lineHasher{k0: binary.LittleEndian.Uint64(k), k1: binary.LittleEndian.Uint64(k[8:]), bits: bits, d: siphash.New128(k)}
}

// write adds a piece of the current line.
func (l *lineHasher) write(b []byte) {
	l.d.Write(b)
	l.n += int64(len(b))
}

// line ends the current line (its pieces) and returns its fingerprint,
// check bits and length (saturated: it only estimates sizes).
func (l *lineHasher) line() (fp uint64, check uint32, n uint32) {
	s := l.d.Sum(l.sum[:0])
	n = uint32(min(l.n, math.MaxUint32))
	l.d.Reset()
	l.n = 0
	return l.finish(binary.LittleEndian.Uint64(s)), check16(binary.LittleEndian.Uint64(s[8:])), n
}

// whole fingerprints a line given whole (no pieces pending); the same as
// write and line.
func (l *lineHasher) whole(b []byte) (fp uint64, check uint32, n uint32) {
	r0, r1 := siphash.Hash128(l.k0, l.k1, b)
	return l.finish(r0), check16(r1), uint32(min(len(b), math.MaxUint32))
}

func (l *lineHasher) finish(r0 uint64) uint64 {
	if l.bits < 64 {
		r0 &= 1<<l.bits - 1
	}
	return r0
}

func check16(r1 uint64) uint32 { return uint32(r1 & (1<<checkBits - 1)) }

// feedLines hashes b, calling onLine at each line's end.
func feedLines(l *lineHasher, b []byte, onLine func(fp uint64, check uint32, n uint32) error) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.write(b)
			return nil
		}
		var fp uint64
		var check, n uint32
		if l.n == 0 {
			fp, check, n = l.whole(b[:i])
		} else {
			l.write(b[:i])
			fp, check, n = l.line()
		}
		if err := onLine(fp, check, n); err != nil {
			return err
		}
		b = b[i+1:]
	}
	return nil
}

// makeTempDir empties this database's temporary directory (what a killed
// backup left) and creates it. The database's lock is held by the caller.
func (w *Writer) makeTempDir() error {
	base := w.opts.TempDir
	if base == "" {
		base = os.TempDir()
	}
	w.tmp = filepath.Join(base, "dbopsd-rows", w.r.cfg.ID, w.opts.Database)
	if left, err := os.ReadDir(w.tmp); err == nil && len(left) > 0 {
		w.r.logger.Info("removing temporary files an interrupted backup left", "dir", w.tmp, "files", len(left))
	}
	if err := os.RemoveAll(w.tmp); err != nil {
		return fmt.Errorf("removing temporary files an interrupted backup left: %w", err)
	}
	if err := os.MkdirAll(w.tmp, 0o700); err != nil {
		return fmt.Errorf("creating the temporary directory of row-level differentials: %w", err)
	}
	seal, err := rowset.NewSealer()
	if err != nil {
		return err
	}
	w.seal = seal
	w.recomputeSlot = make(chan struct{}, 1)
	return nil
}

func (w *Writer) removeTempDir() {
	w.background.Wait() // the backup's context is cancelled: they stop
	if w.tmp != "" {
		os.RemoveAll(w.tmp)
	}
}

// TempBytes is how many bytes the backup wrote to temporary files.
func (w *Writer) TempBytes() int64 { return w.seal.Written() }

// TempDir is where the backup spills rows.
func (w *Writer) TempDir() string { return w.tmp }

// fpWriter passes a full's table part through and fingerprints its lines;
// Close stores the sorted fingerprints as the part "rowfp/<name>".
type fpWriter struct {
	pw     *partWriter
	lines  *lineHasher
	sorter *rowset.Sorter
	idx    uint64
	bytes  int64
	err    error
	// off: the rows compress too well for their fingerprints to be stored
	// (fpShareMax), seen from the chunks stored so far; the rest of the
	// part is only passed through.
	off bool
}

// worthKeeping says, from the part's chunks stored so far, whether its
// fingerprints may still cost at most 1/fpShareMax of it. Checked every
// 64 Ki rows, it spares a full most of the hashing and sorting of rows that
// compress to a few bytes.
func (f *fpWriter) worthKeeping() bool {
	raw, stored, _ := f.pw.w.chunksStored(f.pw.p)
	if raw < 4<<20 || f.idx == 0 {
		return true // too little seen to judge
	}
	storedPerRow := float64(f.bytes) / float64(f.idx) * float64(stored) / float64(raw)
	return storedPerRow >= fpStored*fpShareMax
}

func (w *Writer) fingerprinting(pw *partWriter) *fpWriter {
	return &fpWriter{pw: pw, lines: w.r.newLineHasher(fingerprintBits), sorter: rowset.NewSorter(w.tmp, w.seal)}
}

func (f *fpWriter) Write(b []byte) (int, error) {
	n, err := f.pw.Write(b)
	if err != nil {
		return n, err
	}
	if f.err == nil && !f.off {
		f.bytes += int64(len(b))
		f.err = feedLines(f.lines, b, func(fp uint64, check, n uint32) error {
			f.idx++
			if f.idx%(64<<10) == 0 && !f.worthKeeping() {
				f.off = true
				f.sorter.Close()
				return errStopLines
			}
			return f.sorter.Add(rowset.Entry{FP: fp, Check: check})
		})
		if errors.Is(f.err, errStopLines) {
			f.err = nil
			f.pw.w.r.logger.Debug("row fingerprints not kept: the rows compress too well", "part", f.pw.p.Name, "rows", f.idx)
		}
	}
	return len(b), f.err
}

var errStopLines = errors.New("stop")

// errRecomputeUnused stops reading a full's part back for a differential's
// part that was not merged.
var errRecomputeUnused = errors.New("the part was not merged: its full's fingerprints are not needed")

func (f *fpWriter) Close() error {
	defer f.sorter.Close()
	if err := f.pw.Close(); err != nil {
		return err
	}
	if f.err != nil {
		return f.err
	}
	w, info := f.pw.w, f.pw.p.PartInfo
	if f.off {
		return nil
	}
	if f.lines.n > 0 {
		w.r.logger.Warn("a part of rows does not end with a newline: its differentials are stored as chunks", "part", info.Name)
		return nil
	}
	stored, err := w.storedSize(f.pw.p)
	if err != nil {
		return err
	}
	if fpStored*int64(f.idx)*fpShareMax > stored {
		// Rows this compressible: the fingerprints would cost more than
		// reading the part back at each differential (recompute).
		w.r.logger.Debug("row fingerprints not stored: the differential recomputes them", "part", info.Name,
			"rows", f.idx, "stored_bytes", stored)
		return nil
	}
	it, err := f.sorter.Sorted()
	if err != nil {
		return err
	}
	name := rowFPPrefix + info.Name
	pw, err := w.createPart(engines.PartInfo{Name: name, Kind: KindRowFingerprints, Table: info.Table,
		Format: formatRowFP, Seq: info.Seq, Shape: info.Shape})
	if err != nil {
		return fmt.Errorf("creating part %s: %w", name, err)
	}
	pw.p.FPBits = f.lines.bits
	bw := bufio.NewWriterSize(pw, 64<<10)
	bw.WriteString(magicRowFP)
	binary.Write(bw, binary.BigEndian, uint64(f.sorter.Len()))
	enc := &fpEncoder{w: bw}
	for {
		e, ok, err := it.Next()
		if err != nil {
			pw.Close()
			return err
		}
		if !ok {
			break
		}
		enc.put(e.FP, e.Check)
	}
	if err := bw.Flush(); err != nil {
		pw.Close()
		return fmt.Errorf("writing part %s: %w", name, err)
	}
	return pw.Close()
}

// rowsSureShare: a part whose rows cost under 1/rowsSureShare of its size
// goes as rows without measuring what chunks would store.
const rowsSureShare = 16

// fpShareMax: a full stores a part's fingerprints when they take at most
// 1/fpShareMax of the part's stored size (rows of 64 bytes or more,
// stored). Stored, they cost that share of every full kept, and a
// differential reads them instead of the part; not stored, each
// differential reads the part back (on the one or two differentials a
// generation has under a biweekly policy, and from local or on-premises
// object storage, a read is cheaper than months of storage) and
// fingerprints it again, and names removed rows by position. Measured:
// pgbench_accounts stores under a byte a row (fingerprints would make the
// full 8 times larger); the MariaDB bench table about 56 bytes (16 %).
const fpShareMax = 8

// chunksStored sums the plaintext and stored sizes of p's chunks whose
// upload has finished; pending says whether some are still uploading.
func (w *Writer) chunksStored(p *Part) (raw, stored int64, pending bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range p.Chunks {
		if st := w.known[c.ID]; st > 0 {
			raw, stored = raw+int64(c.Size), stored+int64(st)
		} else {
			pending = true
		}
	}
	return raw, stored, pending
}

// storedSize waits until every chunk of p is stored and returns their
// stored size.
func (w *Writer) storedSize(p *Part) (int64, error) {
	for {
		if _, stored, pending := w.chunksStored(p); !pending {
			return stored, nil
		}
		select {
		case <-w.ctx.Done():
			return 0, context.Cause(w.ctx)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// baseRows yields the full's fingerprints in order: read from its
// fingerprint part, or recomputed from its part.
type baseRows interface {
	next() (rowset.Entry, bool, error)
	end() error
	close()
}

// recomputed is the full's part fingerprinted again and sorted.
type recomputed struct {
	s  *rowset.Sorter
	it *rowset.Iter
}

func (b *recomputed) next() (rowset.Entry, bool, error) { return b.it.Next() }
func (b *recomputed) end() error                        { return nil }
func (b *recomputed) close()                            { b.s.Close() }

// recompute reads the full's part back and sorts its fingerprints.
func (d *diffWriter) recompute(ctx context.Context) (*recomputed, error) {
	w := d.pw.w
	rc := w.r.Source(w.opts.Base).openChunksAhead(ctx, d.base, 1) // parts run in parallel: bound memory
	defer rc.Close()
	s := rowset.NewSorter(w.tmp, w.seal)
	h := w.r.newLineHasher(d.lines.bits)
	lr := newLineReader(rc)
	for i := uint64(0); ; i++ {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			d.baseLines = i
			break
		}
		if err == nil && i%(64<<10) == 0 {
			err = context.Cause(ctx)
		}
		if err == nil {
			fp, check, _ := h.whole(line[:len(line)-1])
			err = s.Add(rowset.Entry{FP: fp, Check: check, Idx: i})
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("reading the full's part %s: %w", d.base.Name, err)
		}
	}
	it, err := s.Sorted()
	if err != nil {
		s.Close()
		return nil, err
	}
	return &recomputed{s: s, it: it}, nil
}

// diffWriter spools a differential's part of rows and, at Close, stores it
// as rows or as chunks, whichever stores less.
type diffWriter struct {
	pw     *partWriter
	base   *Part        // the full's part
	fp     *Part        // its fingerprints
	spool  *rowset.File // the part as the engine sent it, compressed and sealed
	lines  *lineHasher
	sorter *rowset.Sorter
	idx    uint64
	err    error
	// baseLines is the number of lines of the full's part, when recompute
	// read it (removals then go by position).
	baseLines uint64
	// recomputing is closed when recompute, started beside the dump, has
	// set recomputed and recomputeErr; stopRecompute stops it when Close
	// ends without merging (the part goes as chunks, or failed).
	recomputing   chan struct{}
	stopRecompute context.CancelCauseFunc
	recomputed    *recomputed
	recomputeErr  error
}

// rowsOrChunks returns the writer for a differential's part of rows: one
// that may store it as rows when the full has the same part with the same
// columns and its fingerprints, else the plain part writer, with the reason.
func (w *Writer) rowsOrChunks(pw *partWriter) io.WriteCloser {
	info := pw.p.PartInfo
	base, ok := w.opts.Base.Part(info.Name)
	fp, fpOK := w.opts.Base.Part(rowFPPrefix + info.Name)
	reason := ""
	switch {
	case !ok || base.Table == nil || info.Table == nil || *base.Table != *info.Table || base.Format != info.Format:
		reason = "the full has no such part (new table, or the table was split differently): stored as chunks"
	case base.Shape == "":
		reason = "the full was taken by a dbopsd without row-level differentials: stored as chunks"
	case base.Shape != info.Shape:
		reason = "the table's columns changed since the full: stored as a full table part"
	}
	pw.p.Method = MethodChunks
	if reason != "" {
		pw.p.MethodReason = reason
		return pw
	}
	bits := fingerprintBits
	if !fpOK || fp.Kind != KindRowFingerprints {
		fp = nil // not stored: merge recomputes them from the full's part
	} else {
		bits = fp.FPBits
	}
	d := &diffWriter{pw: pw, base: base, fp: fp, lines: w.r.newLineHasher(bits), sorter: rowset.NewSorter(w.tmp, w.seal)}
	d.spool, d.err = w.seal.Create(w.tmp, "part-*", true)
	if fp == nil && d.err == nil {
		// Read the full's part back while the engine dumps the table: the
		// dump waits on the server as much as on this process, and the
		// two cores are better used together than one after the other.
		// One part at a time (recomputeSlot): each holds two sort buffers
		// and a chunk read ahead, and parts are dumped in parallel.
		var ctx context.Context
		ctx, d.stopRecompute = context.WithCancelCause(w.ctx)
		d.recomputing = make(chan struct{})
		w.background.Add(1)
		go func() {
			defer w.background.Done()
			defer close(d.recomputing)
			select {
			case w.recomputeSlot <- struct{}{}:
				defer func() { <-w.recomputeSlot }()
			case <-ctx.Done():
				d.recomputeErr = context.Cause(ctx)
				return
			}
			d.recomputed, d.recomputeErr = d.recompute(ctx)
		}()
	}
	return d
}

func (d *diffWriter) Write(b []byte) (int, error) {
	if d.err == nil {
		d.err = context.Cause(d.pw.w.ctx)
	}
	if d.err != nil {
		return 0, d.err
	}
	if _, err := d.spool.Write(b); err != nil {
		d.err = fmt.Errorf("spooling part %s: %w", d.pw.p.Name, err)
		return 0, d.err
	}
	if w := d.pw.w; w.opts.Progress != nil {
		w.opts.Progress(int64(len(b)), 0) // as the engine sends it, not when stored
	}
	d.pw.spooled = true
	d.err = feedLines(d.lines, b, func(fp uint64, check, n uint32) error {
		e := rowset.Entry{FP: fp, Check: check, Len: n, Idx: d.idx}
		d.idx++
		return d.sorter.Add(e)
	})
	return len(b), d.err
}

func (d *diffWriter) Close() error {
	defer func() {
		d.sorter.Close()
		if d.spool != nil {
			d.spool.Close()
		}
		if d.recomputing != nil {
			d.stopRecompute(errRecomputeUnused) // done already when merged
			<-d.recomputing
			if d.recomputed != nil {
				d.recomputed.close()
			}
		}
	}()
	if d.err == nil {
		d.err = d.spool.Finish()
	}
	if d.err != nil {
		d.pw.Close()
		return d.err
	}
	w := d.pw.w
	if d.lines.n > 0 {
		d.pw.p.MethodReason = "the part does not end with a newline: stored as chunks"
		return d.replay()
	}
	m, err := d.merge()
	if spillHook != nil && err == nil {
		spillHook(w.tmp)
	}
	if errors.Is(err, ErrDamaged) && context.Cause(w.ctx) == nil {
		// The full's fingerprints are only an optimisation: the part is
		// whole in the spool. check --read-data reports the damage.
		w.r.logger.Warn("the full's rows cannot be read as rows: storing the part as chunks", "part", d.pw.p.Name, "error", err)
		d.pw.p.MethodReason = "the full's row fingerprints or rows are damaged: stored as chunks"
		return d.replay()
	}
	if err != nil {
		d.pw.Close()
		return err
	}
	defer m.close()
	rowsCost := int64(len(magicRows)+8) + m.addedBytes + m.removedBytes
	switch {
	case m.collision:
		d.pw.p.MethodReason = "two different rows share a fingerprint: stored as chunks, so that no row can be lost"
		return d.replay()
	case m.removed > removedMax:
		d.pw.p.MethodReason = fmt.Sprintf("%d rows removed since the full, more than a restore holds in memory (%d): stored as chunks", m.removed, removedMax)
		return d.replay()
	}
	if size := d.spool.Len(); rowsCost*rowsSureShare < size && chunkMax < size {
		// Chunks cannot win by much: the chunk path rewrites whole chunks
		// (2 MiB on average) around every change, and these changes are
		// under a sixteenth of the part. Cutting the part a second time
		// only to confirm it would cost a tenth of the differential's time.
		d.pw.p.Method = MethodRows
		d.pw.p.MethodReason = fmt.Sprintf("rows store less: %d rows added and %d removed, %d bytes, under 1/%d of the part's %d",
			m.added, m.removed, rowsCost, rowsSureShare, size)
		return d.writeRows(m)
	}
	chunksCost, err := d.dryRun()
	if err != nil {
		d.pw.Close()
		return err
	}
	if chunksCost <= rowsCost {
		d.pw.p.MethodReason = fmt.Sprintf("chunks store less: %d bytes of new chunks, rows %d (%d added, %d removed)", chunksCost, rowsCost, m.added, m.removed)
		return d.replay()
	}
	d.pw.p.Method = MethodRows
	d.pw.p.MethodReason = fmt.Sprintf("rows store less: %d rows added and %d removed, %d bytes; chunks %d", m.added, m.removed, rowsCost, chunksCost)
	return d.writeRows(m)
}

// replay stores the spooled part as chunks, the ordinary way.
func (d *diffWriter) replay() error {
	if _, err := io.Copy(d.pw, d.spool.Reader()); err != nil {
		d.pw.Close()
		return fmt.Errorf("storing part %s: %w", d.pw.p.Name, err)
	}
	return d.pw.Close()
}

// dryRun cuts the spooled part into chunks without storing any and
// returns the bytes of those the generation lacks: what chunks would store.
func (d *diffWriter) dryRun() (int64, error) {
	buf := bufPool.Get().(*[]byte)
	*buf = (*buf)[:0]
	dry := &partWriter{w: d.pw.w, p: &Part{}, buf: buf, dry: true}
	_, err := io.Copy(dry, d.spool.Reader())
	if cerr := dry.Close(); err == nil {
		err = cerr
	}
	return dry.dryNew, err
}

// merged is the outcome of the sort-merge: a bitmap of the spooled lines
// the full lacks, and the full's lines the part lost: a file of their
// fingerprints, or (byPosition) a bitmap of their positions.
type merged struct {
	added, removed int64
	addedBytes     int64
	collision      bool
	bits           []uint64
	removedFile    *rowset.File
	// byPosition: removals are the set bits of removedAt (lines of the
	// full's part), removedBytes their coded size.
	byPosition   bool
	removedAt    []uint64
	removedBytes int64
}

func (m *merged) close() {
	if m.removedFile != nil {
		m.removedFile.Close()
	}
}

func (m *merged) isAdded(i uint64) bool { return m.bits[i/64]&(1<<(i%64)) != 0 }

// eachRemoved calls f with the distance of each removed line (by position)
// from the previous one, in order.
func (m *merged) eachRemoved(f func(delta uint64)) {
	var prev uint64
	for wi, word := range m.removedAt {
		for word != 0 {
			i := uint64(wi)*64 + uint64(bits.TrailingZeros64(word))
			f(i - prev)
			prev = i
			word &= word - 1
		}
	}
}

// merge joins the part's sorted fingerprints with the full's.
func (d *diffWriter) merge() (*merged, error) {
	w := d.pw.w
	it, err := d.sorter.Sorted()
	if err != nil {
		return nil, err
	}
	var base baseRows
	if d.fp != nil {
		fr, err := w.r.Source(w.opts.Base).Open(w.ctx, d.fp.Name)
		if err != nil {
			return nil, err
		}
		defer fr.Close()
		if base, err = newFPReader(fr, d.fp.Name); err != nil {
			return nil, err
		}
	} else {
		<-d.recomputing
		if d.recomputeErr != nil {
			return nil, d.recomputeErr
		}
		base, d.recomputed = d.recomputed, nil
	}
	defer base.close()
	m := &merged{bits: make([]uint64, d.idx/64+1), byPosition: d.fp == nil}
	if m.byPosition {
		m.removedAt = make([]uint64, d.baseLines/64+1)
	} else if m.removedFile, err = w.seal.Create(w.tmp, "removed-*", false); err != nil {
		return nil, err
	}
	fail := func(err error) (*merged, error) { m.close(); return nil, err }

	a, aok, err := it.Next()
	if err != nil {
		return fail(err)
	}
	b, bok, err := base.next()
	if err != nil {
		return fail(err)
	}
	var last rowset.Entry
	seen := false
	note := func(e rowset.Entry) {
		if seen && e.FP == last.FP && e.Check != last.Check {
			m.collision = true
		}
		last, seen = e, true
	}
	var buf [fpEntry]byte
	for steps := 0; aok || bok; steps++ {
		if steps%(64<<10) == 0 {
			if err := context.Cause(w.ctx); err != nil {
				return fail(err)
			}
		}
		switch {
		case aok && bok && a.FP == b.FP && a.Check == b.Check:
			note(a)
			if a, aok, err = it.Next(); err != nil {
				return fail(err)
			}
			if b, bok, err = base.next(); err != nil {
				return fail(err)
			}
		case aok && (!bok || a.FP < b.FP || a.FP == b.FP && a.Check < b.Check):
			note(a)
			m.bits[a.Idx/64] |= 1 << (a.Idx % 64)
			m.added++
			m.addedBytes += int64(a.Len) + 1
			if a, aok, err = it.Next(); err != nil {
				return fail(err)
			}
		default:
			note(b)
			if m.byPosition {
				m.removedAt[b.Idx/64] |= 1 << (b.Idx % 64)
			} else {
				binary.BigEndian.PutUint64(buf[:], b.FP)
				binary.BigEndian.PutUint32(buf[8:], b.Check)
				m.removedFile.Write(buf[:]) // an error sticks: Finish returns it
			}
			m.removed++
			if b, bok, err = base.next(); err != nil {
				return fail(err)
			}
		}
	}
	if err := base.end(); err != nil {
		return fail(err)
	}
	if m.byPosition {
		m.eachRemoved(func(delta uint64) {
			var b [binary.MaxVarintLen64]byte
			m.removedBytes += int64(binary.PutUvarint(b[:], delta))
		})
		return m, nil
	}
	if err := m.removedFile.Finish(); err != nil {
		return fail(fmt.Errorf("spooling removed rows: %w", err))
	}
	m.removedBytes = fpStored * m.removed
	return m, nil
}

// writeRows stores the part as rows: the removed fingerprints, then the
// added lines. Its chunks are the full's part's, then these.
func (d *diffWriter) writeRows(m *merged) error {
	pw := d.pw
	fail := func(err error) error { pw.Close(); return fmt.Errorf("storing part %s as rows: %w", pw.p.Name, err) }
	bw := bufio.NewWriterSize(pw, 256<<10)
	if m.byPosition {
		bw.WriteString(magicRowsAt2)
		binary.Write(bw, binary.BigEndian, uint64(m.removed))
		var b [binary.MaxVarintLen64]byte
		m.eachRemoved(func(delta uint64) { bw.Write(b[:binary.PutUvarint(b[:], delta)]) })
	} else {
		bw.WriteString(magicRows2)
		binary.Write(bw, binary.BigEndian, uint64(m.removed))
		enc, rr := &fpEncoder{w: bw}, m.removedFile.Reader()
		var b [fpEntry]byte
		for range m.removed {
			if _, err := io.ReadFull(rr, b[:]); err != nil {
				return fail(err)
			}
			enc.put(binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint32(b[8:]))
		}
	}
	lr := newLineReader(d.spool.Reader())
	run := newAddedRun(bw)
	for i := uint64(0); ; i++ {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if m.isAdded(i) {
			run.add(line)
		}
	}
	run.flush()
	run.end()
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := pw.Close(); err != nil {
		return err
	}
	p := pw.p
	p.Rows = &RowsInfo{BaseChunks: len(d.base.Chunks), BaseSize: d.base.Size, Added: m.added, Removed: m.removed, ByPosition: m.byPosition}
	p.FPBits = d.lines.bits
	p.Chunks = append(slices.Clone(d.base.Chunks), p.Chunks...)
	p.Size += d.base.Size
	return nil
}

// addedRunBytes bounds the added lines writeRows sorts at a time (with
// their slices, about twice that in memory). Smaller runs cost little:
// halving a run widens each key difference by one bit.
var addedRunBytes = 8 << 20

// SetAddedRunBytesForTest makes writeRows sort added lines in runs of n
// bytes until the returned function is called. Tests only.
func SetAddedRunBytesForTest(n int) (undo func()) {
	old := addedRunBytes
	addedRunBytes = n
	return func() { addedRunBytes = old }
}

// addedRun writes a part's added lines in blocks, run after run of at most
// addedRunBytes (bounded memory), sorted: the row order of a table need
// not be kept, and lines that arrive in heap order (PostgreSQL moves an
// updated row elsewhere) share far more with their sorted neighbours.
// Lines that start with an integer key (a decimal without leading zeros,
// then a tab: most tables' first column) are sorted by it and go as a
// keyed block: the keys' differences as uvarints, then the rest of each
// line. A 1 % scatter over 10 million rows leaves gaps of about 100, a
// byte each, where zstd alone stored three or four bytes of digits a row.
// Other lines go sorted bytewise as a plain block. The blocks:
//
//	uvarint 2, uvarint n, n uvarint key differences, n line rests
//	uvarint 1, uvarint n, n whole lines
//	uvarint 0: the end
type addedRun struct {
	w     *bufio.Writer
	arena []byte
	lines [][]byte
	keyed []keyedLine
	b     [binary.MaxVarintLen64]byte
}

type keyedLine struct {
	key  uint64
	rest []byte // from the tab on, newline included
}

const (
	blockEnd   = 0
	blockPlain = 1
	blockKeyed = 2
	// keyedMax bounds the keys of a block a restore holds (8 bytes each).
	keyedMax = 1 << 26
)

func newAddedRun(w *bufio.Writer) *addedRun { return &addedRun{w: w} }

// leadingKey returns the decimal integer a line starts with and its
// length, when it is followed by a tab and written the one way it is
// printed back (no sign, no leading zero, at most 18 digits).
func leadingKey(line []byte) (uint64, int, bool) {
	var v uint64
	i := 0
	for ; i < len(line) && i < 18 && '0' <= line[i] && line[i] <= '9'; i++ {
		v = v*10 + uint64(line[i]-'0')
	}
	if i == 0 || i == len(line) || line[i] != '\t' || line[0] == '0' && i > 1 {
		return 0, 0, false
	}
	return v, i, true
}

func (a *addedRun) add(line []byte) {
	if len(a.arena)+len(line) > addedRunBytes && len(a.lines) > 0 {
		a.flush()
	}
	if a.arena == nil {
		a.arena = make([]byte, 0, min(addedRunBytes, 1<<20))
	}
	if len(a.arena)+len(line) > cap(a.arena) {
		// Grow by copying: the lines already held point into the old
		// arena, which stays alive until the run is written.
		a.arena = append(make([]byte, 0, max(2*cap(a.arena), len(a.arena)+len(line))), a.arena...)
		off := 0
		for i, l := range a.lines {
			a.lines[i] = a.arena[off : off+len(l) : off+len(l)]
			off += len(l)
		}
	}
	start := len(a.arena)
	a.arena = append(a.arena, line...)
	a.lines = append(a.lines, a.arena[start:len(a.arena):len(a.arena)])
}

func (a *addedRun) uvarint(v uint64) { a.w.Write(a.b[:binary.PutUvarint(a.b[:], v)]) }

// flush writes the lines held: a keyed block, a plain block, or both.
func (a *addedRun) flush() {
	plain := a.lines[:0]
	for _, l := range a.lines {
		if k, n, ok := leadingKey(l); ok && len(a.keyed) < keyedMax {
			a.keyed = append(a.keyed, keyedLine{key: k, rest: l[n:]})
		} else {
			plain = append(plain, l)
		}
	}
	if len(a.keyed) > 0 {
		slices.SortFunc(a.keyed, func(x, y keyedLine) int {
			if c := cmp.Compare(x.key, y.key); c != 0 {
				return c
			}
			return bytes.Compare(x.rest, y.rest)
		})
		a.uvarint(blockKeyed)
		a.uvarint(uint64(len(a.keyed)))
		var prev uint64
		for _, k := range a.keyed {
			a.uvarint(k.key - prev)
			prev = k.key
		}
		for _, k := range a.keyed {
			a.w.Write(k.rest)
		}
	}
	if len(plain) > 0 {
		slices.SortFunc(plain, bytes.Compare)
		a.uvarint(blockPlain)
		a.uvarint(uint64(len(plain)))
		for _, l := range plain {
			a.w.Write(l)
		}
	}
	a.arena, a.lines, a.keyed = a.arena[:0], a.lines[:0], a.keyed[:0]
}

// end writes the end mark.
func (a *addedRun) end() { a.uvarint(blockEnd) }

// addedReader reads the added lines of a version 2 part back.
type addedReader struct {
	lr    *lineReader
	keys  []uint64
	plain uint64
	line  []byte
	ended bool
}

// next returns the next added line (valid until the next call), io.EOF
// after the end mark.
func (d *addedReader) next() ([]byte, error) {
	damaged := func(what string, err error) ([]byte, error) {
		return nil, fmt.Errorf("the added rows: %s (%v): %w", what, err, ErrDamaged)
	}
	for {
		switch {
		case d.ended:
			return nil, io.EOF
		case len(d.keys) > 0:
			rest, err := d.lr.next()
			if err != nil || rest[0] != '\t' {
				return damaged("a keyed row", err)
			}
			d.line = append(strconv.AppendUint(d.line[:0], d.keys[0], 10), rest...)
			d.keys = d.keys[1:]
			return d.line, nil
		case d.plain > 0:
			line, err := d.lr.next()
			if err != nil {
				return damaged("a row", err)
			}
			d.plain--
			return line, nil
		}
		kind, err := binary.ReadUvarint(d.lr.r)
		if err != nil {
			return damaged("no end mark", err)
		}
		switch kind {
		case blockEnd:
			if _, err := d.lr.r.ReadByte(); !errors.Is(err, io.EOF) {
				return damaged("bytes after the end mark", err)
			}
			d.ended = true
		case blockPlain:
			if d.plain, err = binary.ReadUvarint(d.lr.r); err != nil || d.plain == 0 {
				return damaged("a block of rows", err)
			}
		case blockKeyed:
			n, err := binary.ReadUvarint(d.lr.r)
			if err != nil || n == 0 || n > keyedMax {
				return damaged("a block of keyed rows", err)
			}
			d.keys = slices.Grow(d.keys[:0], int(n))[:n]
			var prev uint64
			for i := range d.keys {
				delta, err := binary.ReadUvarint(d.lr.r)
				if err != nil || i > 0 && prev+delta < prev {
					return damaged("the keys of a block", err)
				}
				prev += delta
				d.keys[i] = prev
			}
		default:
			return damaged(fmt.Sprintf("a block of kind %d", kind), nil)
		}
	}
}

// fpReader reads a fingerprint part.
type fpReader struct {
	r    *bufio.Reader
	dec  fpDecoder
	name string
	left uint64
}

func newFPReader(r io.Reader, name string) (*fpReader, error) {
	f := &fpReader{r: bufio.NewReaderSize(r, 64<<10), name: name}
	var hdr [len(magicRowFP) + 8]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil || string(hdr[:len(magicRowFP)]) != magicRowFP {
		return nil, fmt.Errorf("part %s is not a row fingerprint part (%v): %w", name, err, ErrDamaged)
	}
	f.left = binary.BigEndian.Uint64(hdr[len(magicRowFP):])
	f.dec.r = f.r
	return f, nil
}

func (f *fpReader) next() (rowset.Entry, bool, error) {
	if f.left == 0 {
		return rowset.Entry{}, false, nil
	}
	fp, check, err := f.dec.get()
	if err != nil {
		return rowset.Entry{}, false, fmt.Errorf("part %s ends early: %v: %w", f.name, err, ErrDamaged)
	}
	f.left--
	return rowset.Entry{FP: fp, Check: check}, true, nil
}

func (f *fpReader) close() {}

func (f *fpReader) end() error {
	if _, err := f.r.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("part %s is longer than it says: %w", f.name, ErrDamaged)
	}
	return nil
}

// lineReader returns whole lines, newline included, however long.
type lineReader struct {
	r    *bufio.Reader
	line []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next line (valid until the next call). A last line
// without a newline is an error: parts of rows end with one.
func (l *lineReader) next() ([]byte, error) {
	s, err := l.r.ReadSlice('\n')
	if err == nil {
		return s, nil
	}
	l.line = append(l.line[:0], s...)
	for errors.Is(err, bufio.ErrBufferFull) {
		s, err = l.r.ReadSlice('\n')
		l.line = append(l.line, s...)
	}
	switch {
	case err == nil:
		return l.line, nil
	case errors.Is(err, io.EOF) && len(l.line) == 0:
		return nil, io.EOF
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("a part of rows ends inside a row: %w", ErrDamaged)
	}
	return nil, err
}

// removal is one row a part stored as rows removes from the full's.
type removal struct {
	fp    uint64
	check uint32
	used  bool
}

// rowsReader rebuilds a part stored as rows: the full's lines minus the
// removed ones, then the added lines.
type rowsReader struct {
	part    *Part
	base    io.ReadCloser
	diff    io.ReadCloser
	lines   *lineReader
	added   *bufio.Reader
	hasher  *lineHasher
	removed []removal
	// at: removals by position (RowsInfo.ByPosition), ascending; line
	// counts the full's lines read.
	at   []uint64
	line uint64
	// blocks reads the added lines of a version 2 part.
	blocks  *addedReader
	pending []byte
	inBase  bool
	err     error
}

func (s *Source) openRows(ctx context.Context, p *Part) (io.ReadCloser, error) {
	n := p.Rows.BaseChunks
	if n > len(p.Chunks) {
		return nil, fmt.Errorf("backup %s, part %s: %d base chunks of %d: %w", s.m.ID, p.Name, n, len(p.Chunks), ErrDamaged)
	}
	diff := s.openChunks(ctx, &Part{PartInfo: p.PartInfo, Chunks: p.Chunks[n:]})
	rr := &rowsReader{part: p, diff: diff, added: bufio.NewReaderSize(diff, 256<<10), inBase: true}
	if err := rr.readRemovals(); err != nil {
		diff.Close()
		return nil, fmt.Errorf("backup %s, part %s: %w", s.m.ID, p.Name, err)
	}
	if !p.Rows.ByPosition {
		rr.hasher = s.r.newLineHasher(p.FPBits)
	}
	rr.base = s.openChunks(ctx, &Part{PartInfo: p.PartInfo, Chunks: p.Chunks[:n]})
	rr.lines = newLineReader(rr.base)
	return rr, nil
}

// readRemovals reads the head of the part's own chunks: the magic (which
// says whether the added lines go in blocks, version 2), the number of
// removals, and the removals, by position or by fingerprint.
func (r *rowsReader) readRemovals() error {
	info := r.part.Rows
	magic, magic2 := magicRows, magicRows2
	if info.ByPosition {
		magic, magic2 = magicRowsAt, magicRowsAt2
	}
	hdr := make([]byte, len(magic)+8)
	_, err := io.ReadFull(r.added, hdr)
	switch string(hdr[:len(magic)]) {
	case magic2:
		r.blocks = &addedReader{lr: &lineReader{r: r.added}}
	case magic:
	default:
		err = cmp.Or(err, fmt.Errorf("it does not start with %q", magic2))
	}
	if err != nil {
		return fmt.Errorf("not rows (%v): %w", err, ErrDamaged)
	}
	count := binary.BigEndian.Uint64(hdr[len(magic):])
	if count > removedMax || int64(count) != info.Removed {
		return fmt.Errorf("%d removed rows, the manifest says %d: %w", count, info.Removed, ErrDamaged)
	}
	if info.ByPosition {
		r.at = make([]uint64, count)
		var prev uint64
		for i := range r.at {
			delta, err := binary.ReadUvarint(r.added)
			if err != nil || i > 0 && delta == 0 {
				return fmt.Errorf("removed rows: %v: %w", err, ErrDamaged)
			}
			prev += delta
			r.at[i] = prev
		}
		return nil
	}
	r.removed = make([]removal, count)
	dec := fpDecoder{r: r.added}
	for i := range r.removed {
		fp, check, err := dec.get()
		if err != nil {
			return fmt.Errorf("removed rows: %v: %w", err, ErrDamaged)
		}
		if i > 0 && fp < r.removed[i-1].fp {
			return fmt.Errorf("removed rows out of order: %w", ErrDamaged)
		}
		r.removed[i] = removal{fp: fp, check: check}
	}
	return nil
}

// drop reports whether the differential removes one line with this
// fingerprint and check bits not yet dropped, and marks it dropped.
func (r *rowsReader) drop(fp uint64, check uint32) bool {
	i, _ := slices.BinarySearchFunc(r.removed, removal{fp: fp, check: check}, func(a, b removal) int {
		if a.fp != b.fp {
			if a.fp < b.fp {
				return -1
			}
			return 1
		}
		return int(int64(a.check) - int64(b.check))
	})
	for ; i < len(r.removed) && r.removed[i].fp == fp && r.removed[i].check == check; i++ {
		if !r.removed[i].used {
			r.removed[i].used = true
			return true
		}
	}
	return false
}

func (r *rowsReader) Read(b []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if !r.inBase && r.blocks == nil {
			return r.added.Read(b)
		}
		if !r.inBase {
			line, err := r.blocks.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					err = fmt.Errorf("part %s: %w", r.part.Name, err)
				}
				r.err = err
				continue
			}
			r.pending = line
			continue
		}
		line, err := r.lines.next()
		if errors.Is(err, io.EOF) {
			if len(r.at) > 0 || slices.ContainsFunc(r.removed, func(rm removal) bool { return !rm.used }) {
				r.err = fmt.Errorf("part %s: a row the differential removes is not in the full: %w", r.part.Name, ErrDamaged)
				return 0, r.err
			}
			r.inBase = false
			continue
		}
		if err != nil {
			r.err = fmt.Errorf("part %s: %w", r.part.Name, err)
			return 0, r.err
		}
		if r.part.Rows.ByPosition {
			n := r.line
			r.line++
			if len(r.at) > 0 && r.at[0] == n {
				r.at = r.at[1:]
				continue
			}
			r.pending = line
			continue
		}
		fp, check, _ := r.hasher.whole(line[:len(line)-1])
		if !r.drop(fp, check) {
			r.pending = line
		}
	}
	n := copy(b, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

func (r *rowsReader) Close() error {
	r.base.Close()
	return r.diff.Close()
}

// TableMethod says how a differential stored table t: "rows", "chunks", both
// ("rows+chunks", a table in several parts), or "" (not a table of rows, or
// a full); with the reasons of its parts, one each.
func (m *Manifest) TableMethod(t engines.TableRef) (method string, reasons []string) {
	var rows, chunks bool
	for _, p := range m.Parts {
		if p.Kind != engines.KindTable || p.Table == nil || *p.Table != t || p.Method == "" {
			continue
		}
		rows, chunks = rows || p.Method == MethodRows, chunks || p.Method == MethodChunks
		if !slices.Contains(reasons, p.MethodReason) {
			reasons = append(reasons, p.MethodReason)
		}
	}
	switch {
	case rows && chunks:
		method = MethodRows + "+" + MethodChunks
	case rows:
		method = MethodRows
	case chunks:
		method = MethodChunks
	}
	return method, reasons
}

// inheritedFingerprints are the full's fingerprint parts, which a
// differential's manifest lists too: its parts stored as rows were made
// against them, so a verification of the differential reads them like every
// other chunk it lists, and the manifest stays the one list of what the
// backup depends on.
func (w *Writer) inheritedFingerprints() []*Part {
	if w.m.Type != Differential || w.opts.Base == nil {
		return nil
	}
	var out []*Part
	for _, p := range w.opts.Base.Parts {
		if p.Kind == KindRowFingerprints {
			c := p
			c.Chunks = slices.Clone(p.Chunks)
			out = append(out, &c)
		}
	}
	return out
}

// ReadFingerprints reads and authenticates the backup's row fingerprint
// parts, which no engine reads: a restore of a whole database calls it, so
// that a restore or verification reads every chunk its manifest lists and
// damage anywhere in the backup fails it.
func (s *Source) ReadFingerprints(ctx context.Context) error {
	for i := range s.m.Parts {
		p := &s.m.Parts[i]
		if p.Kind != KindRowFingerprints {
			continue
		}
		rc := s.openChunks(ctx, p)
		_, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("reading the row fingerprints of %s (only differentials use them; a single-table restore does not read them): %w", p.Name, err)
		}
	}
	return nil
}
