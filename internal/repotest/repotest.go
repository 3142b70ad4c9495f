// Package repotest holds helpers for tests that damage a repository on
// local storage on purpose, to prove that damage is found.
package repotest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// DamageLargestChunk flips one byte in the middle of the largest chunk of
// the local repository in repoDir (table data, in practice) and returns its
// path.
func DamageLargestChunk(t testing.TB, repoDir string) string {
	t.Helper()
	var victim string
	var size int64
	err := filepath.WalkDir(filepath.Join(repoDir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() > size {
			victim, size = p, info.Size()
		}
		return nil
	})
	if err != nil || victim == "" {
		t.Fatalf("no chunk to damage under %s: %v", repoDir, err)
	}
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(victim, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return victim
}
