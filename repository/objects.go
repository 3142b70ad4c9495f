package repository

import (
	"context"
	"strings"

	"github.com/dbopsd/dbopsd/storage"
)

// Object kinds, for tools that handle a repository object by object (the
// mirror copies them in this order: keys and config, chunks, manifests).
const (
	ObjectConfig   = "config"
	ObjectKey      = "key"
	ObjectChunk    = "chunk"
	ObjectManifest = "manifest"
	ObjectLock     = "lock"
	ObjectDocument = "document"
	ObjectOther    = "other"
)

// Prefixes of the repository layout, for such tools.
const (
	ConfigKey       = configKey
	KeysPrefix      = keysPrefix
	DataPrefix      = dataPrefix
	ManifestsPrefix = manifestsPrefix
	LocksPrefix     = locksPrefix
)

// ObjectKind says what the object at key is in a repository.
func ObjectKind(key string) string {
	switch {
	case key == configKey:
		return ObjectConfig
	case strings.HasPrefix(key, keysPrefix):
		return ObjectKey
	case strings.HasPrefix(key, dataPrefix):
		return ObjectChunk
	case strings.HasPrefix(key, manifestsPrefix):
		if _, _, _, ok := parseManifestKey(key); ok {
			return ObjectManifest
		}
	case strings.HasPrefix(key, locksPrefix):
		return ObjectLock
	case strings.HasPrefix(key, docsPrefix):
		if _, ok := parseDocumentKey(key); ok {
			return ObjectDocument
		}
	}
	return ObjectOther
}

// StoredID returns the id of the repository on st without opening it (no
// passphrase needed), or an error wrapping ErrNoRepository when st holds
// none.
func StoredID(ctx context.Context, st storage.Storage) (string, error) {
	cfg, err := readConfig(ctx, st)
	if err != nil {
		return "", err
	}
	return cfg.ID, nil
}

// ChunkKeys returns the object key and stored size of every chunk m names.
func (m *Manifest) ChunkKeys() map[string]int64 {
	out := map[string]int64{}
	for _, p := range m.Parts {
		for _, c := range p.Chunks {
			out[chunkKey(m.Database, m.Generation, c.ID)] = int64(c.Stored)
		}
	}
	return out
}
