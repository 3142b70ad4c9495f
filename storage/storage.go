package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Storage is a flat namespace of immutable objects addressed by
// slash-separated keys ("data/queue/2026.../ab/abcdef..."). Implementations
// are safe for concurrent use.
//
// Errors: a missing object is reported as an error for which
// errors.Is(err, ErrNotExist) holds. Errors for which IsTransient reports true
// (connection refused, timeouts, 5xx) are worth a retry; others are not.
type Storage interface {
	// Put stores the content of r under key, atomically: a reader sees the
	// whole object or none. size is the length of r, or -1 if unknown (the
	// upload then runs in bounded memory, in parts).
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) error
	// Get opens the object at key.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns the size and time of the object at key.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, recursively. An error from fn stops the listing and
	// is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes the object at key; a missing object is not an error.
	// Under object lock, deleting before the retention date fails.
	Delete(ctx context.Context, key string) error
	// String names the storage for messages (no credentials).
	String() string
}

// PutOptions tunes one Put.
type PutOptions struct {
	// RetainUntil, when set on a storage with object lock, is the date
	// before which the object cannot be deleted or overwritten.
	RetainUntil time.Time
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ErrNotExist is the error (wrapped) for a missing object.
var ErrNotExist = errors.New("object does not exist")

// ErrTransient marks an error worth a retry.
var ErrTransient = errors.New("transient storage error")

// IsTransient reports whether err is worth a retry.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }
