package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/dbopsd/dbopsd/engines"
)

// DirParts keeps the parts of one backup as plain files in a directory. It is
// both the PartSink a backup writes to and the PartSource a restore reads
// from, and safe for concurrent use. It is a real (if unencrypted,
// uncompressed) store, not a stand-in for a server.
type DirParts struct {
	dir string

	mu     sync.Mutex
	parts  []*dirPart // in creation order
	byName map[string]*dirPart
}

type dirPart struct {
	info engines.PartInfo
	file string
	done bool // Close returned nil: the part is stored
	size int64
}

var (
	_ engines.PartSink   = (*DirParts)(nil)
	_ engines.PartSource = (*DirParts)(nil)
)

// NewDirParts stores parts under dir, which must exist.
func NewDirParts(dir string) *DirParts {
	return &DirParts{dir: dir, byName: make(map[string]*dirPart)}
}

// CreatePart implements engines.PartSink. A second part with the same name is
// an error: names are unique within a backup.
func (d *DirParts) CreatePart(ctx context.Context, p engines.PartInfo) (io.WriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, errors.New("creating a part: empty name")
	}
	d.mu.Lock()
	if _, dup := d.byName[p.Name]; dup {
		d.mu.Unlock()
		return nil, fmt.Errorf("creating part %q: a part of that name exists", p.Name)
	}
	dp := &dirPart{info: p, file: filepath.Join(d.dir, fmt.Sprintf("%06d.part", len(d.parts)))}
	d.parts = append(d.parts, dp)
	d.byName[p.Name] = dp
	d.mu.Unlock()

	f, err := os.OpenFile(dp.file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating part %q: %w", p.Name, err)
	}
	return &partWriter{d: d, p: dp, f: f}, nil
}

type partWriter struct {
	d *DirParts
	p *dirPart
	f *os.File
	n int64
}

func (w *partWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *partWriter) Close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("storing part %q: %w", w.p.info.Name, err)
	}
	w.d.mu.Lock()
	w.p.done = true
	w.p.size = w.n
	w.d.mu.Unlock()
	return nil
}

// Parts implements engines.PartSource: the stored parts in creation order.
func (d *DirParts) Parts() []engines.PartInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []engines.PartInfo
	for _, p := range d.parts {
		if p.done {
			out = append(out, p.info)
		}
	}
	return out
}

// Open implements engines.PartSource. An unknown or unfinished part is an
// error wrapping fs.ErrNotExist.
func (d *DirParts) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	p, ok := d.byName[name]
	done := ok && p.done
	d.mu.Unlock()
	if !done {
		return nil, fmt.Errorf("opening part %q: %w", name, fs.ErrNotExist)
	}
	f, err := os.Open(p.file)
	if err != nil {
		return nil, fmt.Errorf("opening part %q: %w", name, err)
	}
	return f, nil
}

// Size is the stored size of a part in bytes (-1 if there is no such part).
func (d *DirParts) Size(name string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.byName[name]; ok && p.done {
		return p.size
	}
	return -1
}

// ErrInjected is the error a part returned by Corrupt yields midway.
var ErrInjected = errors.New("enginetest: injected read error (simulated corrupt part)")

// Corrupt returns a PartSource that serves the parts of src, except that the
// part named victim yields ErrInjected after half of its bytes, as a
// repository does when a chunk fails its authentication check.
func Corrupt(src *DirParts, victim string) engines.PartSource {
	return &corrupt{DirParts: src, victim: victim}
}

type corrupt struct {
	*DirParts
	victim string
}

func (c *corrupt) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := c.DirParts.Open(ctx, name)
	if err != nil || name != c.victim {
		return rc, err
	}
	return &failingReader{rc: rc, left: c.DirParts.Size(name) / 2}, nil
}

type failingReader struct {
	rc   io.ReadCloser
	left int64
}

func (r *failingReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, ErrInjected
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	n, err := r.rc.Read(b)
	r.left -= int64(n)
	if err == io.EOF {
		err = ErrInjected
	}
	return n, err
}

func (r *failingReader) Close() error { return r.rc.Close() }
