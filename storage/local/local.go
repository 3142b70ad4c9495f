package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/dbopsd/dbopsd/internal/atomicfile"
	"github.com/dbopsd/dbopsd/storage"
)

// tmpDir holds objects being written, inside the store's directory so that
// the final rename never crosses a filesystem.
const tmpDir = ".tmp"

// Store keeps objects as files under a directory.
type Store struct {
	dir string // absolute
}

var _ storage.Storage = (*Store)(nil)

// New opens the store in dir, creating dir if needed.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening local storage %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("opening local storage %s: %w", abs, err)
	}
	removeStaleTemp(filepath.Join(abs, tmpDir), time.Now().Add(-staleTemp))
	return &Store{dir: abs}, nil
}

// staleTemp is how old a temporary file must be before New removes it: no
// Put takes that long, so it was left by a process that was killed mid-write.
const staleTemp = time.Hour

// removeStaleTemp deletes temporary files last written before cutoff (best
// effort: a failure here costs disk space, not correctness).
func removeStaleTemp(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// String names the store as a file URL.
func (s *Store) String() string { return "file://" + s.dir }

// path maps a key to its file, refusing keys that could leave the directory
// or reach the temporary files.
func (s *Store) path(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", fmt.Errorf("local storage %s: %w", s.dir, err)
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return "", fmt.Errorf("local storage %s: %w %q: the first segment %q is reserved", s.dir, storage.ErrInvalidKey, key, tmpDir)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file and renames it into place.
//
// It does what atomicfile.Write does (fsync the file, rename, fsync the
// directory, with atomicfile.SyncDir) but keeps its own loop because a
// store's Put differs in three ways: the temporary file lives in the store's
// .tmp directory, where New sweeps what a killed process left, not beside
// the key; the directories created for the key are synced up to the first
// that existed; and the rename is retried when a concurrent Delete removes
// an emptied parent directory.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, _ storage.PutOptions) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("storing %q in %s: %s: %w", key, s, what, err)
	}
	if err := ctx.Err(); err != nil {
		return wrap("before writing", err)
	}
	f, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "put-*")
	if err != nil {
		return wrap("creating temporary file", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := io.CopyBuffer(f, ctxReader{ctx, r}, make([]byte, 256<<10))
	if err != nil {
		return wrap("writing", err)
	}
	if size >= 0 && n != size {
		return wrap("writing", fmt.Errorf("read %d bytes, expected %d", n, size))
	}
	if err := f.Sync(); err != nil {
		return wrap("syncing", err)
	}
	if err := f.Close(); err != nil {
		return wrap("closing", err)
	}
	if err := ctx.Err(); err != nil {
		return wrap("before renaming into place", err)
	}
	dir := filepath.Dir(p)
	// Directories created for this key must reach the disk too: sync from
	// the parent up to the first one that already existed.
	existing := dir
	for existing != s.dir && !isDir(existing) {
		existing = filepath.Dir(existing)
	}
	// A concurrent Delete may remove the (then empty) parent between
	// MkdirAll and Rename; a few rounds win that race.
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return wrap("creating directory "+dir, err)
		}
		err = os.Rename(tmp, p)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrNotExist) && attempt < 5 {
			continue
		}
		if fi, statErr := os.Lstat(p); statErr == nil && fi.IsDir() {
			return wrap("renaming into place", fmt.Errorf("%s is a directory holding other keys: %w", p, err))
		}
		return wrap("renaming into place", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if err := atomicfile.SyncDir(d); err != nil {
			return wrap("after renaming into place", err)
		}
		if d == existing || d == s.dir {
			break
		}
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Get opens the file of key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("getting %q from %s: %w", key, s, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, s.statErr("getting", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("getting %q from %s: %w", key, s, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("getting %q from %s: %w (a directory)", key, s, storage.ErrNotExist)
	}
	return f, nil
}

// Stat reports the file's size and modification time.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("checking %q in %s: %w", key, s, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return storage.ObjectInfo{}, s.statErr("checking", key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("checking %q in %s: %w (a directory)", key, s, storage.ErrNotExist)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// statErr maps "no such file" and "a parent is a file" to ErrNotExist.
func (s *Store) statErr(doing, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %q in %s: %w", doing, key, s, storage.ErrNotExist)
	}
	return fmt.Errorf("%s %q in %s: %w", doing, key, s, err)
}

// List walks the directory in key order. Within one directory, entries sort
// by their key, a subdirectory's being its name plus '/': that puts "a-b"
// before "a/x", as in a flat key space.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "\\") ||
		strings.Contains("/"+prefix, "/../") || strings.Contains("/"+prefix, "/./") {
		return fmt.Errorf("listing %q in %s: %w prefix", prefix, s, storage.ErrInvalidKey)
	}
	// Start in the deepest directory the prefix names.
	start := prefix[:strings.LastIndex(prefix, "/")+1]
	if strings.HasPrefix(start, tmpDir+"/") {
		return nil // temporary files are not objects
	}
	return s.walk(ctx, start, prefix, fn)
}

func (s *Store) walk(ctx context.Context, rel, prefix string, fn func(storage.ObjectInfo) error) error {
	entries, err := os.ReadDir(filepath.Join(s.dir, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil // nothing under this prefix, or removed meanwhile
		}
		return fmt.Errorf("listing %q in %s: %w", prefix, s, err)
	}
	type item struct {
		key string
		e   fs.DirEntry
	}
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		if rel == "" && e.Name() == tmpDir {
			continue
		}
		key := rel + e.Name()
		if e.IsDir() {
			key += "/"
		}
		items = append(items, item{key, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("listing %q in %s: %w", prefix, s, err)
		}
		switch {
		case it.e.IsDir():
			if strings.HasPrefix(it.key, prefix) || strings.HasPrefix(prefix, it.key) {
				if err := s.walk(ctx, it.key, prefix, fn); err != nil {
					return err
				}
			}
		case it.e.Type().IsRegular() && strings.HasPrefix(it.key, prefix):
			fi, err := it.e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("listing %q in %s: %w", prefix, s, err)
			}
			if err := fn(storage.ObjectInfo{Key: it.key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes the file of key and then the parent directories it leaves
// empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting %q from %s: %w", key, s, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("deleting %q from %s: %w", key, s, err)
	}
	if fi.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %q from %s: %w", key, s, err)
	}
	// Best effort: a directory that is not empty (or is being filled by a
	// Put right now) stays.
	for d := filepath.Dir(p); d != s.dir && strings.HasPrefix(d, s.dir+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// ctxReader stops a copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
