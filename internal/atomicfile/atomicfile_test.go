package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, tc := range []struct {
		data string
		perm os.FileMode
	}{
		{"first\n", 0o600},
		{"second, replacing the first\n", 0o644}, // the new mode applies to a replaced file
	} {
		if err := WriteFile(p, []byte(tc.data), tc.perm); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != tc.data {
			t.Fatalf("read back %q, %v; want %q", b, err, tc.data)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != tc.perm {
			t.Fatalf("mode %v, %v; want %v", fi.Mode().Perm(), err, tc.perm)
		}
	}
	onlyFile(t, dir, "state.json")
}

// A failing writer leaves the old file whole and no temporary file behind.
func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "export.csv")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o600, func(w io.Writer) error {
		w.Write([]byte("half of the new content"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("after a failed write the file holds %q", b)
	}
	onlyFile(t, dir, "export.csv")
}

// Write buffers; what the writer wrote in many small pieces arrives whole.
func TestWriteStreams(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	err := Write(p, 0o600, func(w io.Writer) error {
		for range 100_000 {
			if _, err := w.Write([]byte("0123456789")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != 1_000_000 {
		t.Fatalf("size %d, %v; want 1000000", fi.Size(), err)
	}
}

func TestMissingDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "dir", "f")
	if err := WriteFile(p, []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WriteFile into a missing directory = %v, want ErrNotExist", err)
	}
	if err := SyncDir(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory = %v, want ErrNotExist", err)
	}
}

func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only %s", names, name)
	}
}
