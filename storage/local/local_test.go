package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/storage"
	"github.com/dbopsd/dbopsd/storage/storagetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage { return newStore(t) })
}

// The retry decorator must keep the contract of what it wraps.
func TestConformanceWithRetry(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage { return storage.WithRetry(newStore(t), 3, nil) })
}

func tmpEntries(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		t.Fatalf("reading .tmp: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "data/ab/abcdef", strings.NewReader("chunk"), 5, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "data", "ab", "abcdef"))
	if err != nil || string(b) != "chunk" {
		t.Fatalf("file for data/ab/abcdef: %q, %v", b, err)
	}
	if got := tmpEntries(t, s); len(got) != 0 {
		t.Fatalf(".tmp holds %q after a Put", got)
	}
	// Leftovers of a crash in .tmp are never listed.
	if err := os.WriteFile(filepath.Join(s.dir, tmpDir, "put-crashed"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := s.List(ctx, "", func(oi storage.ObjectInfo) error { listed = append(listed, oi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != "data/ab/abcdef" {
		t.Fatalf("List = %q", listed)
	}
	if err := s.List(ctx, ".tmp/", func(oi storage.ObjectInfo) error { return fmt.Errorf("listed %s", oi.Key) }); err != nil {
		t.Fatalf("List(.tmp/): %v", err)
	}
	if err := s.Put(ctx, ".tmp/x", strings.NewReader("x"), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Put(.tmp/x) = %v, want ErrInvalidKey", err)
	}
	// Delete takes the emptied directories with it, and only those.
	if err := s.Put(ctx, "data/cd/cdef", strings.NewReader("c"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "data/ab/abcdef"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "data", "ab")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data/ab still there after its last object went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "data", "cd", "cdef")); err != nil {
		t.Fatalf("data/cd/cdef: %v", err)
	}
	// A second New on the same directory sees the same objects.
	s2, err := New(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Stat(ctx, "data/cd/cdef"); err != nil {
		t.Fatalf("reopened store: %v", err)
	}
	if s.String() != "file://"+s.dir {
		t.Fatalf("String() = %q", s.String())
	}
}

// TestPutFaults covers writes the filesystem refuses. Running as root rules
// out permission tricks, so the store is blocked by a file where a directory
// must go, and by a directory where the object must go.
func TestPutFaults(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, s *Store)
		key     string
		wantErr []string
		errno   error
	}{
		{
			name: "file where a directory is needed",
			setup: func(t *testing.T, s *Store) {
				if err := os.WriteFile(filepath.Join(s.dir, "blocker"), []byte("I am a file"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			key:     "blocker/sub/obj",
			wantErr: []string{`"blocker/sub/obj"`, "creating directory", "not a directory"},
			errno:   syscall.ENOTDIR,
		},
		{
			name: "directory where the object goes",
			setup: func(t *testing.T, s *Store) {
				if err := s.Put(ctx, "dir/inner", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			key:     "dir",
			wantErr: []string{`"dir"`, "is a directory holding other keys"},
		},
		{
			name: "temporary directory replaced by a file",
			setup: func(t *testing.T, s *Store) {
				tmp := filepath.Join(s.dir, tmpDir)
				if err := os.RemoveAll(tmp); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tmp, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Remove(tmp); os.Mkdir(tmp, 0o700) })
			},
			key:     "obj",
			wantErr: []string{`"obj"`, "creating temporary file", "not a directory"},
			errno:   syscall.ENOTDIR,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.setup(t, s)
			body := bytes.Repeat([]byte("x"), 1<<20)
			err := s.Put(ctx, tc.key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{})
			if err == nil {
				t.Fatalf("Put(%q) succeeded", tc.key)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if tc.errno != nil && !errors.Is(err, tc.errno) {
				t.Errorf("error %v does not wrap %v", err, tc.errno)
			}
			if fault.IsTransient(err) {
				t.Errorf("error %v is marked transient", err)
			}
			if fi, err := os.Stat(filepath.Join(s.dir, tmpDir)); err == nil && fi.IsDir() {
				if got := tmpEntries(t, s); len(got) != 0 {
					t.Errorf(".tmp holds %q after a failed Put", got)
				}
			}
			if _, err := s.Stat(ctx, tc.key); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Stat(%q) after a failed Put = %v, want ErrNotExist", tc.key, err)
			}
		})
	}
}

func TestNewOnAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(f)
	if err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("New on a file = %v, want an error naming it", err)
	}
}

// TestStaleTempRemoved: temporary files left by a killed process are removed
// when the store is next opened; recent ones (a Put in progress) are kept.
func TestStaleTempRemoved(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, tmpDir, "put-stale")
	fresh := filepath.Join(dir, tmpDir, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a recent temporary file was removed: %v", err)
	}
}
