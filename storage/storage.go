package storage

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Storage is a flat namespace of immutable objects addressed by
// slash-separated keys ("data/queue/2026.../ab/abcdef..."). Implementations
// are safe for concurrent use.
//
// Errors: a missing object is reported as an error for which
// errors.Is(err, ErrNotExist) holds. A Delete that object lock refuses is
// reported as an error for which errors.Is(err, ErrRetained) holds (a
// *RetentionError, with the date when the backend tells it). Errors worth
// a retry (connection refused, timeouts, 5xx, throttling) are marked with
// fault.ErrTransient, so that fault.IsTransient reports true for them;
// others, ErrRetained among them, are not.
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
	// Under object lock, deleting before the retention date (or while a
	// legal hold is on) fails with an error wrapping ErrRetained, and the
	// object stays whole. A backend without object lock never returns
	// ErrRetained.
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

// ErrRetained is the error (wrapped, as a *RetentionError) for a Delete
// that object lock refuses: the object is under retention or a legal hold,
// and stays. It is not transient: no retry helps before the date.
var ErrRetained = errors.New("object is under retention (object lock)")

// RetentionError is a Delete refused by object lock. errors.Is(err,
// ErrRetained) holds for it; errors.As finds it for the date.
type RetentionError struct {
	// Key is the object that stays.
	Key string
	// Until is the object's retain-until date (the latest of its retained
	// versions); zero when the backend does not tell it.
	Until time.Time
	// LegalHold: a legal hold is on, which keeps the object whatever the
	// date until someone lifts it.
	LegalHold bool
	// Err is the backend's own error, which names the store.
	Err error
}

func (e *RetentionError) Error() string {
	msg := "deleting " + strconv.Quote(e.Key) + ": " + ErrRetained.Error()
	if e.Err != nil {
		msg = e.Err.Error()
	}
	var why []string
	if !e.Until.IsZero() {
		why = append(why, "retained until "+e.Until.UTC().Format(time.RFC3339))
	}
	if e.LegalHold {
		why = append(why, "legal hold on")
	}
	if len(why) > 0 {
		msg += "; " + strings.Join(why, ", ")
	}
	return msg
}

func (e *RetentionError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRetained}
	}
	return []error{ErrRetained, e.Err}
}
