package repository

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"
)

const (
	configKey       = "config"
	keysPrefix      = "keys/"
	dataPrefix      = "data/"
	manifestsPrefix = "manifests/"
)

func chunkKey(database, generation, id string) string {
	return dataPrefix + database + "/" + generation + "/" + id[:2] + "/" + id
}

func generationDataPrefix(database, generation string) string {
	return dataPrefix + database + "/" + generation + "/"
}

func manifestKey(database, generation, backup string) string {
	return manifestsPrefix + database + "/" + generation + "/" + backup
}

// parseManifestKey splits manifests/<db>/<gen>/<id>.
func parseManifestKey(key string) (database, generation, backup string, ok bool) {
	rest, found := strings.CutPrefix(key, manifestsPrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// NewBackupID returns a sortable, unique backup id: UTC time to the
// millisecond plus randomness, e.g. "20261126T193012.345Z-3f9a".
func NewBackupID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// validName reports whether s can be used as a path segment (database names
// come from policy labels).
func validName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") || path.Clean(s) != s {
		return fmt.Errorf("%q cannot be used as a name in the repository", s)
	}
	return nil
}
