package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/storage"
)

// ManifestVersion is the manifest format this code writes.
const ManifestVersion = 1

// Backup types.
const (
	Full         = "full"
	Differential = "differential"
)

// Manifest describes one complete backup. It is the completion marker: it is
// written after every chunk it names and never changed afterwards.
type Manifest struct {
	Version    int    `json:"version"`
	ID         string `json:"id"`
	Database   string `json:"database"`
	Engine     string `json:"engine"`
	Type       string `json:"type"`
	Generation string `json:"generation"`
	// Chunker is how the parts were cut into chunks (the Chunker constant
	// of the dbopsd that wrote it; empty: Rabin fingerprints, before
	// fastcdc-gear-v1). Chunks are shared only between backups cut alike.
	Chunker string `json:"chunker,omitempty"`
	// Base is the full backup a differential belongs to (== Generation).
	Base string `json:"base,omitempty"`
	// Reason says why the type differs from what was asked, if it does
	// (e.g. "no full backup yet").
	Reason     string            `json:"reason,omitempty"`
	Trigger    string            `json:"trigger,omitempty"`
	Host       string            `json:"host,omitempty"`
	Tool       string            `json:"tool,omitempty"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	Snapshot   *engines.Snapshot `json:"snapshot"`
	Parts      []Part            `json:"parts"`
	Stats      Stats             `json:"stats"`

	// RetainUntil is the object-lock date every object of this backup was
	// written with (zero without object lock): prune waits for it.
	RetainUntil time.Time `json:"retain_until,omitzero"`

	// Previous is the backup of the same database this one follows (an
	// empty ID: the first), so that a deleted manifest leaves a visible gap
	// (chain.go). Manifests written before it have none.
	Previous *Link `json:"previous,omitempty"`
}

// SameChunker says whether the backup's parts were cut the way this code
// cuts them, so that a differential on it can reuse its chunks.
func (m *Manifest) SameChunker() bool { return m.Chunker == Chunker }

// ChunkerName names the chunking of the backup's parts.
func (m *Manifest) ChunkerName() string {
	if m.Chunker == "" {
		return "rabin"
	}
	return m.Chunker
}

// Part is one engine part and the chunks that hold it, in order.
type Part struct {
	engines.PartInfo
	Size   int64      `json:"size"`
	Chunks []ChunkRef `json:"chunks"`

	// Method, on a differential's part of rows (Shape set), is how it was
	// stored: MethodRows or MethodChunks; MethodReason says why (rows.go).
	Method       string `json:"method,omitempty"`
	MethodReason string `json:"method_reason,omitempty"`
	// Rows is set on a part stored as rows: its first BaseChunks chunks are
	// the full's part, the rest the rows added and removed since.
	Rows *RowsInfo `json:"rows,omitempty"`
	// FPBits is the width of the row fingerprints of a fingerprint part
	// (kind KindRowFingerprints) and of a part stored as rows.
	FPBits int `json:"fp_bits,omitempty"`
}

// ChunkRef names a chunk: its id, plaintext size and stored (sealed) size.
type ChunkRef struct {
	ID     string `json:"id"`
	Size   uint32 `json:"size"`
	Stored uint32 `json:"stored"`
}

// Stats are the sizes of a backup.
type Stats struct {
	// RawBytes is the size of all parts before compression.
	RawBytes int64 `json:"raw_bytes"`
	// StoredBytes is what this backup added to storage (new chunks only).
	StoredBytes int64 `json:"stored_bytes"`
	// ReferencedBytes is the stored size of every chunk the backup needs,
	// including those its generation already held.
	ReferencedBytes int64 `json:"referenced_bytes"`
	Chunks          int   `json:"chunks"`
	NewChunks       int   `json:"new_chunks"`
}

// Duration is how long the backup took.
func (m *Manifest) Duration() time.Duration { return m.FinishedAt.Sub(m.StartedAt) }

// Part returns the part named name.
func (m *Manifest) Part(name string) (*Part, bool) {
	for i := range m.Parts {
		if m.Parts[i].Name == name {
			return &m.Parts[i], true
		}
	}
	return nil, false
}

// Key is the manifest's object key.
func (m *Manifest) Key() string { return manifestKey(m.Database, m.Generation, m.ID) }

func manifestAD(key string) []byte { return []byte("manifest:" + key) }

// writeManifest seals and stores m, and returns the hash of what it stored.
// Callers write it last.
func (r *Repo) writeManifest(ctx context.Context, m *Manifest, opts storage.PutOptions) (string, error) {
	plain, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding manifest: %w", err)
	}
	key := m.Key()
	sealed := r.keys.seal(nil, r.enc.EncodeAll(plain, nil), manifestAD(key))
	if err := r.st.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), opts); err != nil {
		return "", fmt.Errorf("writing manifest of backup %s: %w", m.ID, err)
	}
	return hashSealed(sealed), nil
}

// ManifestRef locates a manifest without reading it.
type ManifestRef struct {
	Database   string
	Generation string
	ID         string
	Key        string
	Size       int64
}

// ListManifests lists the manifests of database ("" for all), sorted by
// database, then backup id (oldest first). Objects under manifests/ that do
// not have the manifest shape are ignored.
func (r *Repo) ListManifests(ctx context.Context, database string) ([]ManifestRef, error) {
	prefix := manifestsPrefix
	if database != "" {
		prefix += database + "/"
	}
	var refs []ManifestRef
	err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		db, gen, id, ok := parseManifestKey(oi.Key)
		if ok {
			refs = append(refs, ManifestRef{Database: db, Generation: gen, ID: id, Key: oi.Key, Size: oi.Size})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing backups in %s: %w", r.st, err)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Database != refs[j].Database {
			return refs[i].Database < refs[j].Database
		}
		return refs[i].ID < refs[j].ID
	})
	return refs, nil
}

// LoadManifest reads and authenticates one manifest.
func (r *Repo) LoadManifest(ctx context.Context, ref ManifestRef) (*Manifest, error) {
	rc, err := r.st.Get(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("reading manifest of backup %s: %w", ref.ID, err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(io.LimitReader(rc, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("reading manifest of backup %s: %w", ref.ID, err)
	}
	z, err := r.keys.open(nil, sealed, manifestAD(ref.Key))
	if err != nil {
		return nil, fmt.Errorf("manifest of backup %s (%s): %w", ref.ID, ref.Key, err)
	}
	plain, err := r.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("manifest of backup %s: decompressing: %w", ref.ID, err)
	}
	var m Manifest
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, fmt.Errorf("manifest of backup %s: decoding: %w", ref.ID, err)
	}
	if m.Version > ManifestVersion {
		return nil, fmt.Errorf("manifest of backup %s has version %d, newer than this dbopsd understands (%d)", ref.ID, m.Version, ManifestVersion)
	}
	if m.ID != ref.ID || m.Database != ref.Database || m.Generation != ref.Generation {
		return nil, fmt.Errorf("manifest of backup %s does not match its location %s", ref.ID, ref.Key)
	}
	return &m, nil
}

// FindBackup loads the backup id of database, or the newest one when id is
// empty (warning when the head names a newer one whose manifest is gone).
// It returns ErrNotFound when there is none.
func (r *Repo) FindBackup(ctx context.Context, database, id string) (*Manifest, error) {
	refs, err := r.ListManifests(ctx, database)
	if err != nil {
		return nil, err
	}
	if id == "" && len(refs) > 0 {
		newest := refs[len(refs)-1]
		switch mb, err := r.NewerMissing(ctx, database, newest.ID); {
		case err != nil:
			r.logger.Warn("whether a newer backup is missing cannot be told", "database", database, "error", err)
		case mb != nil:
			r.logger.Warn("the newest backup is missing from the repository; taking the newest one left", "database", database,
				"missing", mb.ID, "taking", newest.ID, "detail", mb.String())
		}
		return r.LoadManifest(ctx, newest)
	}
	var matches []ManifestRef
	for _, ref := range refs {
		if ref.ID == id {
			return r.LoadManifest(ctx, ref)
		}
		if len(id) >= 8 && strings.HasPrefix(ref.ID, id) {
			matches = append(matches, ref)
		}
	}
	switch {
	case len(matches) == 1:
		return r.LoadManifest(ctx, matches[0])
	case len(matches) > 1:
		ids := make([]string, len(matches))
		for i, m := range matches {
			ids[i] = m.ID
		}
		return nil, fmt.Errorf("backup %q of database %q is ambiguous: it starts %s", id, database, strings.Join(ids, ", "))
	}
	if id == "" {
		if mb, err := r.NewerMissing(ctx, database, ""); err == nil && mb != nil {
			return nil, fmt.Errorf("database %q has no backup in %s (%s): %w", database, r.st, mb, ErrNotFound)
		}
		return nil, fmt.Errorf("database %q has no backup in %s: %w", database, r.st, ErrNotFound)
	}
	return nil, fmt.Errorf("backup %s of database %q is not in %s: %w", id, database, r.st, ErrNotFound)
}

// GenerationChunks returns every chunk (id -> stored size) that the
// manifests of one generation name. A differential skips these.
func (r *Repo) GenerationChunks(ctx context.Context, database, generation string) (map[string]uint32, error) {
	refs, err := r.ListManifests(ctx, database)
	if err != nil {
		return nil, err
	}
	known := make(map[string]uint32)
	for _, ref := range refs {
		if ref.Generation != generation {
			continue
		}
		m, err := r.LoadManifest(ctx, ref)
		if err != nil {
			// A damaged differential must not stop the next one; its chunks
			// are simply written again.
			if ref.ID == generation {
				return nil, err
			}
			r.logger.Warn("skipping a damaged manifest while collecting chunks", "backup", ref.ID, "error", err)
			continue
		}
		for _, p := range m.Parts {
			for _, c := range p.Chunks {
				known[c.ID] = c.Stored
			}
		}
	}
	return known, nil
}

var errClosed = errors.New("backup writer already finished")
