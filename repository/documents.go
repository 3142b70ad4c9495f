package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/storage"
)

// Documents are the small records that outlive the catalog beside the
// backups: diagnosis snapshots, data-dictionary runs, volume samples,
// reports. Each is stored once, compressed and sealed like a manifest, under
//
//	docs/<kind>/<database>/<id>
//
// and never rewritten: an id names one document for good (ids sort by time,
// see NewBackupID). They belong to no generation, so prune leaves them alone,
// and `catalog rebuild` reads them back (ARCHITECTURE.md, "History").
const docsPrefix = "docs/"

// DocsPrefix is where documents live, for tools that handle a repository
// object by object.
const DocsPrefix = docsPrefix

// maxDocument bounds what GetDocument reads: a document is a model of a
// database's facts, not its data.
const maxDocument = 256 << 20

// DocumentRef names one stored document.
type DocumentRef struct {
	Kind, Database, ID string
	Size               int64
}

func documentKey(kind, database, id string) string {
	return docsPrefix + kind + "/" + database + "/" + id
}

func documentAD(key string) []byte { return []byte("document:" + key) }

func parseDocumentKey(key string) (DocumentRef, bool) {
	rest, ok := strings.CutPrefix(key, docsPrefix)
	if !ok {
		return DocumentRef{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || validName(parts[0]) != nil || validName(parts[1]) != nil || validName(parts[2]) != nil {
		return DocumentRef{}, false
	}
	return DocumentRef{Kind: parts[0], Database: parts[1], ID: parts[2]}, true
}

// PutDocument stores body as document id of kind for database. The three
// names must be usable as path segments.
func (r *Repo) PutDocument(ctx context.Context, kind, database, id string, body []byte) error {
	for _, n := range []string{kind, database, id} {
		if err := validName(n); err != nil {
			return fmt.Errorf("storing a %s document: %w", kind, err)
		}
	}
	key := documentKey(kind, database, id)
	sealed := r.keys.seal(nil, r.enc.EncodeAll(body, nil), documentAD(key))
	if err := r.st.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), storage.PutOptions{}); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// GetDocument reads and authenticates one document. A missing one wraps
// storage.ErrNotExist.
func (r *Repo) GetDocument(ctx context.Context, ref DocumentRef) ([]byte, error) {
	key := documentKey(ref.Kind, ref.Database, ref.ID)
	rc, err := r.st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(io.LimitReader(rc, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if len(sealed) > maxDocument {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a document of this repository", key, maxDocument)
	}
	z, err := r.keys.open(nil, sealed, documentAD(key))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	plain, err := r.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: decompressing: %w", key, err)
	}
	return plain, nil
}

// ListDocuments lists the documents of kind ("" for every kind) and
// database ("" for every database), sorted by kind, database, then id
// (oldest first). Objects under docs/ of another shape are ignored.
func (r *Repo) ListDocuments(ctx context.Context, kind, database string) ([]DocumentRef, error) {
	prefix := docsPrefix
	if kind != "" {
		prefix += kind + "/"
		if database != "" {
			prefix += database + "/"
		}
	}
	var refs []DocumentRef
	err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		if ref, ok := parseDocumentKey(oi.Key); ok && (database == "" || ref.Database == database) {
			ref.Size = oi.Size
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing documents in %s: %w", r.st, err)
	}
	sort.Slice(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Database != b.Database {
			return a.Database < b.Database
		}
		return a.ID < b.ID
	})
	return refs, nil
}

// CopyDocuments copies the documents dst lacks from r's storage to dst's
// (a mirror of the same repository: the same keys open them).
func (r *Repo) CopyDocuments(ctx context.Context, dst *Repo) (int, error) {
	var keys []string
	if err := r.st.List(ctx, docsPrefix, func(oi storage.ObjectInfo) error {
		if _, ok := parseDocumentKey(oi.Key); ok {
			keys = append(keys, oi.Key)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("listing %s: %w", docsPrefix, err)
	}
	copied := 0
	for _, key := range keys {
		if _, err := dst.st.Stat(ctx, key); err == nil {
			continue
		} else if !errors.Is(err, storage.ErrNotExist) {
			return copied, fmt.Errorf("looking for %s on the mirror: %w", key, err)
		}
		rc, err := r.st.Get(ctx, key)
		if err != nil {
			return copied, fmt.Errorf("reading %s: %w", key, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxDocument+1))
		rc.Close()
		if err != nil {
			return copied, fmt.Errorf("reading %s: %w", key, err)
		}
		if err := dst.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
			return copied, fmt.Errorf("copying %s: %w", key, err)
		}
		copied++
	}
	return copied, nil
}

// DocumentTime is the time an id made by NewBackupID names (zero for an id
// of another shape).
func DocumentTime(id string) time.Time {
	stamp, _, _ := strings.Cut(id, "-")
	t, err := time.Parse("20060102T150405.000Z", stamp)
	if err != nil {
		return time.Time{}
	}
	return t
}
