package rowset

// Sealed temporary files: what a row-level differential spills (the part's
// rows, the sort runs, the removed fingerprints) is written in blocks, each
// optionally compressed with zstd at its fastest, then sealed with
// AES-256-GCM under a key drawn at random when the backup starts and held
// only in memory. A row never reaches the disk in plaintext, and a file a
// killed backup left behind cannot be read by anyone (the key died with the
// process); the next backup removes it.

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// sealBlock is the plaintext size of a block.
const sealBlock = 256 << 10

// Sealer seals the temporary files of one backup.
type Sealer struct {
	aead    cipher.AEAD
	files   atomic.Uint32 // file numbers: with the block number, the nonce
	written atomic.Int64  // bytes its files wrote to disk
	enc     *zstd.Encoder
	dec     *zstd.Decoder
}

// NewSealer draws a new key.
func NewSealer() (*Sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("drawing the key of temporary files: %w", err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	// Blocks are compressed one by one: a window past a block's size
	// would only cost memory (8 MiB an encoder).
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderConcurrency(2), zstd.WithWindowSize(sealBlock))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxMemory(4*sealBlock))
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, enc: enc, dec: dec}, nil
}

// Written is how many bytes the sealer's files have written to disk, those
// since removed included: what one backup spilled.
func (s *Sealer) Written() int64 { return s.written.Load() }

// File is a sealed temporary file: written once from the start, then read
// from the start as often as needed. It is used by one goroutine.
type File struct {
	s        *Sealer
	f        *os.File
	id       uint32
	compress bool
	plain    []byte // the block being written
	out      []byte
	sealed   []byte // a block's header, then the block sealed
	blocks   uint64
	size     int64 // bytes on disk
	n        int64 // plaintext bytes
	done     bool
	err      error
}

// Create creates a sealed file in dir; compress says whether its blocks are
// compressed first (rows: yes; random fingerprints: no).
func (s *Sealer) Create(dir, pattern string, compress bool) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &File{s: s, f: f, id: s.files.Add(1), compress: compress}, nil
}

func (f *File) nonce(block uint64, b *[12]byte) []byte {
	binary.BigEndian.PutUint32(b[:4], f.id)
	binary.BigEndian.PutUint64(b[4:], block)
	return b[:]
}

// Write appends to the file. Nothing may be written after Finish.
func (f *File) Write(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, errors.New("sealed temporary file written after it was finished")
	}
	n := len(b)
	for len(b) > 0 {
		if f.plain == nil {
			f.plain = make([]byte, 0, sealBlock)
		}
		k := min(len(b), sealBlock-len(f.plain))
		f.plain = append(f.plain, b[:k]...)
		b = b[k:]
		if len(f.plain) == sealBlock {
			if f.err = f.seal(false); f.err != nil {
				return 0, f.err
			}
		}
	}
	f.n += int64(n)
	return n, nil
}

// seal writes the pending block: a header (sealed length; compressed;
// last), then the sealed block. The header is authenticated as the
// block's additional data, and the nonce numbers the blocks, so a block
// cannot be moved, dropped or cut off unnoticed.
func (f *File) seal(last bool) error {
	body := f.plain
	var hdr [6]byte
	if f.compress {
		f.out = f.s.enc.EncodeAll(f.plain, f.out[:0])
		body, hdr[4] = f.out, 1
	}
	if last {
		hdr[5] = 1
	}
	var nb [12]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)+f.s.aead.Overhead()))
	f.sealed = f.s.aead.Seal(append(f.sealed[:0], hdr[:]...), f.nonce(f.blocks, &nb), body, hdr[:])
	f.blocks++
	if _, err := f.f.Write(f.sealed); err != nil {
		return fmt.Errorf("writing temporary file %s: %w", f.f.Name(), err)
	}
	f.size += int64(len(f.sealed))
	f.s.written.Add(int64(len(f.sealed)))
	f.plain = f.plain[:0]
	return nil
}

// Finish writes the last block; the file can then be read.
func (f *File) Finish() error {
	if f.done || f.err != nil {
		return f.err
	}
	f.done = true
	f.err = f.seal(true)
	f.plain, f.out, f.sealed = nil, nil, nil
	return f.err
}

// Size is the file's size on disk.
func (f *File) Size() int64 { return f.size }

// Len is the number of bytes written to it.
func (f *File) Len() int64 { return f.n }

// Name is the file's path.
func (f *File) Name() string { return f.f.Name() }

// Reader reads the file from its start (Finish first).
func (f *File) Reader() io.Reader {
	if !f.done {
		return errReader{errors.New("sealed temporary file read before it was finished")}
	}
	return &fileReader{f: f, r: bufio.NewReaderSize(io.NewSectionReader(f.f, 0, f.size), 64<<10)}
}

// Close removes the file.
func (f *File) Close() error {
	f.f.Close()
	if err := os.Remove(f.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type fileReader struct {
	f      *File
	r      *bufio.Reader
	block  uint64
	sealed []byte
	plain  []byte
	rest   []byte
	last   bool
	err    error
}

func (r *fileReader) Read(b []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.last {
			return 0, io.EOF
		}
		r.err = r.open()
	}
	n := copy(b, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func (r *fileReader) open() error {
	damaged := func(what string) error {
		return fmt.Errorf("temporary file %s: %s (changed by something else while the backup ran?)", r.f.Name(), what)
	}
	var hdr [6]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return damaged("ends early")
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n > 2*sealBlock+1024 || hdr[4] > 1 || hdr[5] > 1 {
		return damaged("bad block header")
	}
	if cap(r.sealed) < int(n) {
		r.sealed = make([]byte, n)
	}
	r.sealed = r.sealed[:n]
	if _, err := io.ReadFull(r.r, r.sealed); err != nil {
		return damaged("ends early")
	}
	var nb [12]byte
	body, err := r.f.s.aead.Open(r.sealed[:0], r.f.nonce(r.block, &nb), r.sealed, hdr[:])
	if err != nil {
		return damaged("a block fails authentication")
	}
	r.block++
	r.last = hdr[5] == 1
	if hdr[4] == 1 {
		if r.plain, err = r.f.s.dec.DecodeAll(body, r.plain[:0]); err != nil {
			return damaged("a block does not decompress")
		}
		body = r.plain
	}
	r.rest = body
	return nil
}
