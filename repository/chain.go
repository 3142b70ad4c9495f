package repository

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/storage"
)

// How a deleted manifest is noticed (doc.go, "Missing manifests"): each
// manifest names its predecessor, heads/<database> names the newest, and
// pruned/<database>/<generation> says that prune, not someone else, deleted
// a generation.
const (
	headsPrefix  = "heads/"
	prunedPrefix = "pruned/"
)

func headKey(database string) string { return headsPrefix + database }

func prunedKey(database, generation string) string {
	return prunedPrefix + database + "/" + generation
}

// Link names another backup of the same database: the one a manifest
// follows, or the newest one (the head). An empty ID (in a manifest) means
// the backup was the database's first.
type Link struct {
	ID         string `json:"id"`
	Generation string `json:"generation"`
	// Hash is the hex SHA-256 of the sealed manifest object.
	Hash string `json:"hash"`
}

// head is the sealed heads/<database> object.
type head struct {
	Database string    `json:"database"`
	Newest   Link      `json:"newest"`
	Written  time.Time `json:"written"`
}

func headAD(key string) []byte   { return []byte("head:" + key) }
func prunedAD(key string) []byte { return []byte("pruned:" + key) }

func hashSealed(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readHead returns the head of database; ok is false when there is none.
func (r *Repo) readHead(ctx context.Context, database string) (h head, ok bool, err error) {
	key := headKey(database)
	rc, err := r.st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return h, false, fmt.Errorf("reading %s: %w", key, err)
	}
	plain, err := r.keys.open(nil, sealed, headAD(key))
	if err != nil {
		return h, false, fmt.Errorf("%s: %w", key, err)
	}
	if err := json.Unmarshal(plain, &h); err != nil || h.Database != database {
		return h, false, fmt.Errorf("%s: %w: not the head of database %s", key, errAuth, database)
	}
	return h, true, nil
}

func (r *Repo) writeHead(ctx context.Context, database string, newest Link) error {
	key := headKey(database)
	plain, _ := json.Marshal(head{Database: database, Newest: newest, Written: time.Now().UTC()})
	sealed := r.keys.seal(nil, plain, headAD(key))
	if err := r.st.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), storage.PutOptions{}); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// predecessor is the backup a new manifest of database follows: the newest
// listed, or the one the head names if that is newer (its manifest is gone,
// and the new manifest keeps saying so).
func (r *Repo) predecessor(ctx context.Context, database string) (Link, error) {
	refs, err := r.ListManifests(ctx, database)
	if err != nil {
		return Link{}, err
	}
	var prev Link
	if len(refs) > 0 {
		ref := refs[len(refs)-1]
		rc, err := r.st.Get(ctx, ref.Key)
		if err != nil {
			return Link{}, fmt.Errorf("reading the manifest of backup %s: %w", ref.ID, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<30))
		rc.Close()
		if err != nil {
			return Link{}, fmt.Errorf("reading the manifest of backup %s: %w", ref.ID, err)
		}
		prev = Link{ID: ref.ID, Generation: ref.Generation, Hash: hashSealed(b)}
	}
	h, ok, err := r.readHead(ctx, database)
	switch {
	case err != nil && errors.Is(err, errAuth):
		r.logger.Warn("the head of the database is damaged; the new backup replaces it", "database", database, "error", err)
	case err != nil:
		return Link{}, err
	case ok && h.Newest.ID > prev.ID:
		prev = h.Newest
	}
	return prev, nil
}

// writePruned records, before prune deletes a generation, that prune
// deleted it: its backups are then not reported missing.
func (r *Repo) writePruned(ctx context.Context, database, generation string) error {
	key := prunedKey(database, generation)
	plain, _ := json.Marshal(map[string]any{"database": database, "generation": generation, "pruned": time.Now().UTC()})
	sealed := r.keys.seal(nil, plain, prunedAD(key))
	if err := r.st.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), storage.PutOptions{}); err != nil {
		return fmt.Errorf("recording the prune of generation %s: %w", generation, err)
	}
	return nil
}

// Anchors are what the repository holds, besides the manifests, to notice
// a missing one.
type Anchors struct {
	// Heads maps a database to the newest backup its head names.
	Heads map[string]Link
	// Pruned holds database/generation of the generations prune deleted.
	Pruned map[string]bool
	// Problems are heads and prune records that failed authentication.
	Problems []Problem
}

// LoadAnchors reads the heads and prune records of database ("" for all).
func (r *Repo) LoadAnchors(ctx context.Context, database string) (*Anchors, error) {
	a := &Anchors{Heads: map[string]Link{}, Pruned: map[string]bool{}}
	var dbs []string
	if database != "" {
		dbs = []string{database}
	} else {
		err := r.st.List(ctx, headsPrefix, func(oi storage.ObjectInfo) error {
			if db := strings.TrimPrefix(oi.Key, headsPrefix); validName(db) == nil {
				dbs = append(dbs, db)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", headsPrefix, err)
		}
	}
	for _, db := range dbs {
		h, ok, err := r.readHead(ctx, db)
		switch {
		case err != nil && errors.Is(err, errAuth):
			a.Problems = append(a.Problems, Problem{Object: headKey(db), Problem: err.Error() + ": the newest backup of " + db + " cannot be confirmed"})
		case err != nil:
			return nil, err
		case ok:
			a.Heads[db] = h.Newest
		}
	}
	prefix := prunedPrefix
	if database != "" {
		prefix += database + "/"
	}
	var keys []string
	err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	for _, key := range keys {
		rc, err := r.st.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		sealed, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		if _, err := r.keys.open(nil, sealed, prunedAD(key)); err != nil {
			a.Problems = append(a.Problems, Problem{Object: key, Problem: err.Error()})
			continue
		}
		a.Pruned[strings.TrimPrefix(key, prunedPrefix)] = true
	}
	return a, nil
}

// ChainEntry is what FindMissing needs of one listed backup.
type ChainEntry struct {
	Database   string
	ID         string
	Generation string
	// Previous is the manifest's link to its predecessor; nil in manifests
	// written before dbopsd kept the chain.
	Previous *Link
}

// ChainEntryOf is the chain entry of a manifest.
func ChainEntryOf(m *Manifest) ChainEntry {
	return ChainEntry{Database: m.Database, ID: m.ID, Generation: m.Generation, Previous: m.Previous}
}

// MissingBackup is a backup the repository says exists, or existed, whose
// manifest is not there and that prune did not delete.
type MissingBackup struct {
	Database   string `json:"database"`
	ID         string `json:"id,omitempty"` // "" when the head itself is gone
	Generation string `json:"generation,omitempty"`
	// Object is the manifest's key, or the missing head's.
	Object string `json:"object"`
	// How says what names it.
	How string `json:"how"`
}

func (m MissingBackup) String() string {
	if m.ID == "" {
		return fmt.Sprintf("database %s: %s", m.Database, m.How)
	}
	return fmt.Sprintf("backup %s of database %s is missing (%s): its manifest %s was deleted, not by prune", m.ID, m.Database, m.How, m.Object)
}

// FindMissing compares the backups listed (every manifest present, also
// damaged ones) with the chain they record and the anchors: a predecessor
// or a head's newest that is not listed, in a generation prune did not
// delete, is missing; so is the head of a database whose manifests keep the
// chain. database "" covers every database of entries and anchors.
func FindMissing(entries []ChainEntry, a *Anchors) []MissingBackup {
	present := map[string]bool{}
	chained := map[string]bool{}
	for _, e := range entries {
		present[e.Database+"/"+e.ID] = true
		if e.Previous != nil {
			chained[e.Database] = true
		}
	}
	seen := map[string]bool{}
	var out []MissingBackup
	missing := func(db string, l Link, how string) {
		k := db + "/" + l.ID
		if l.ID == "" || present[k] || seen[k] || a.Pruned[db+"/"+l.Generation] {
			return
		}
		seen[k] = true
		out = append(out, MissingBackup{Database: db, ID: l.ID, Generation: l.Generation, Object: manifestKey(db, l.Generation, l.ID), How: how})
	}
	for _, e := range entries {
		if e.Previous != nil {
			missing(e.Database, *e.Previous, "backup "+e.ID+" names it as the one before it")
		}
	}
	dbs := make([]string, 0, len(a.Heads))
	for db := range a.Heads {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		missing(db, a.Heads[db], headKey(db)+" names it as the newest")
	}
	var headless []string
	for db := range chained {
		if _, ok := a.Heads[db]; !ok && !a.headDamaged(db) {
			headless = append(headless, db)
		}
	}
	sort.Strings(headless)
	for _, db := range headless {
		out = append(out, MissingBackup{Database: db, Object: headKey(db),
			How: headKey(db) + ", which names the newest backup, is missing: whether the newest backups were deleted cannot be told"})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Database != out[j].Database {
			return out[i].Database < out[j].Database
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (a *Anchors) headDamaged(db string) bool {
	for _, p := range a.Problems {
		if p.Object == headKey(db) {
			return true
		}
	}
	return false
}

// Missing lists the backups of database ("" for all) that are missing (see
// FindMissing), reading every manifest.
func (r *Repo) Missing(ctx context.Context, database string) ([]MissingBackup, error) {
	refs, err := r.ListManifests(ctx, database)
	if err != nil {
		return nil, err
	}
	entries := make([]ChainEntry, 0, len(refs))
	for _, ref := range refs {
		e := ChainEntry{Database: ref.Database, ID: ref.ID, Generation: ref.Generation}
		if m, err := r.LoadManifest(ctx, ref); err == nil {
			e.Previous = m.Previous
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		entries = append(entries, e)
	}
	a, err := r.LoadAnchors(ctx, database)
	if err != nil {
		return nil, err
	}
	return FindMissing(entries, a), nil
}

// NewerMissing returns the backup of database newer than newest (the newest
// listed) that the head names when its manifest is gone: a restore of "the
// newest backup" would otherwise take an older one without a word. It reads
// only the head and the prune record of its generation.
func (r *Repo) NewerMissing(ctx context.Context, database, newest string) (*MissingBackup, error) {
	h, ok, err := r.readHead(ctx, database)
	if err != nil || !ok || h.Newest.ID <= newest {
		return nil, err
	}
	if _, err := r.st.Stat(ctx, manifestKey(database, h.Newest.Generation, h.Newest.ID)); err == nil {
		return nil, nil
	}
	if _, err := r.st.Stat(ctx, prunedKey(database, h.Newest.Generation)); err == nil {
		return nil, nil
	}
	return &MissingBackup{Database: database, ID: h.Newest.ID, Generation: h.Newest.Generation,
		Object: manifestKey(database, h.Newest.Generation, h.Newest.ID), How: headKey(database) + " names it as the newest"}, nil
}

// CopyAnchors copies the prune records dst lacks, and each head whose
// newest backup dst holds, from r's storage to dst's (the mirror, after its
// manifests).
func (r *Repo) CopyAnchors(ctx context.Context, dst *Repo) error {
	copyObject := func(key string) error {
		rc, err := r.st.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		if err := dst.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
			return fmt.Errorf("copying %s: %w", key, err)
		}
		return nil
	}
	var pruned []string
	if err := r.st.List(ctx, prunedPrefix, func(oi storage.ObjectInfo) error { pruned = append(pruned, oi.Key); return nil }); err != nil {
		return fmt.Errorf("listing %s: %w", prunedPrefix, err)
	}
	for _, key := range pruned {
		if _, err := dst.st.Stat(ctx, key); err == nil {
			continue
		}
		if err := copyObject(key); err != nil {
			return err
		}
	}
	var heads []string
	if err := r.st.List(ctx, headsPrefix, func(oi storage.ObjectInfo) error { heads = append(heads, oi.Key); return nil }); err != nil {
		return fmt.Errorf("listing %s: %w", headsPrefix, err)
	}
	for _, key := range heads {
		db := strings.TrimPrefix(key, headsPrefix)
		h, ok, err := r.readHead(ctx, db)
		if err != nil || !ok {
			continue // check reports it on r
		}
		if _, err := dst.st.Stat(ctx, manifestKey(db, h.Newest.Generation, h.Newest.ID)); err != nil {
			continue // not mirrored yet: the mirror's head stays behind, which is no gap
		}
		if err := copyObject(key); err != nil {
			return err
		}
	}
	return nil
}
