package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// retrying is a Storage that repeats operations failing with a transient
// error (fault.IsTransient).
type retrying struct {
	s        Storage
	attempts int
	log      hclog.Logger
	// base and max bound the exponential backoff; tests shorten them.
	base, max time.Duration
}

var _ Storage = (*retrying)(nil)

// WithRetry returns s with operations that fail with a transient error
// tried again, up to attempts times in all, after exponentially growing
// waits with full jitter (100 ms doubling to 10 s). A Put is repeated only
// when its reader is an io.Seeker that can be rewound to where it started;
// Get retries the opening, not later reads; List resumes after the last
// object it delivered, so fn never sees an object twice. Each retry is
// logged at warn level. A nil logger logs nothing.
func WithRetry(s Storage, attempts int, logger hclog.Logger) Storage {
	if attempts < 1 {
		attempts = 1
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &retrying{s: s, attempts: attempts, log: logger, base: 100 * time.Millisecond, max: 10 * time.Second}
}

func (r *retrying) String() string { return r.s.String() }

// do runs op until it succeeds, fails for good, runs out of attempts or ctx
// ends. again, when not nil, prepares another attempt and may refuse it.
func (r *retrying) do(ctx context.Context, what, key string, op func() error, again func() error) error {
	err := op()
	for attempt := 1; attempt < r.attempts && err != nil && fault.IsTransient(err); attempt++ {
		wait := r.backoff(attempt)
		r.log.Warn("storage operation failed, retrying", "storage", r.s.String(), "op", what, "key", key,
			"attempt", attempt, "of", r.attempts, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
		if again != nil {
			if aerr := again(); aerr != nil {
				return fmt.Errorf("%w (cannot retry: %w)", err, aerr)
			}
		}
		err = op()
	}
	return err
}

// backoff is the wait before retry number attempt (1, 2, ...): a random
// duration up to base·2^(attempt-1), capped at max.
func (r *retrying) backoff(attempt int) time.Duration {
	d := r.base << min(attempt-1, 30)
	if d <= 0 || d > r.max {
		d = r.max
	}
	return time.Duration(rand.Int64N(int64(d))) + 1
}

func (r *retrying) Put(ctx context.Context, key string, rd io.Reader, size int64, opts PutOptions) error {
	seeker, ok := rd.(io.Seeker)
	var start int64
	if ok {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			ok = false // a pipe or socket that only looks seekable
		}
	}
	if !ok {
		return r.s.Put(ctx, key, rd, size, opts)
	}
	return r.do(ctx, "put", key,
		func() error { return r.s.Put(ctx, key, rd, size, opts) },
		func() error {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return fmt.Errorf("rewinding the data for %q: %w", key, err)
			}
			return nil
		})
}

func (r *retrying) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := r.do(ctx, "get", key, func() error {
		var err error
		rc, err = r.s.Get(ctx, key)
		return err
	}, nil)
	return rc, err
}

func (r *retrying) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	var oi ObjectInfo
	err := r.do(ctx, "stat", key, func() error {
		var err error
		oi, err = r.s.Stat(ctx, key)
		return err
	}, nil)
	return oi, err
}

// callbackError carries an error of List's fn through do untouched, so that
// it is never retried even if it is transient.
type callbackError struct{ err error }

func (c callbackError) Error() string { return c.err.Error() }

func (r *retrying) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	var last string
	delivered := false
	err := r.do(ctx, "list", prefix, func() error {
		return r.s.List(ctx, prefix, func(oi ObjectInfo) error {
			if delivered && oi.Key <= last {
				return nil // seen before the retry
			}
			if err := fn(oi); err != nil {
				return callbackError{err}
			}
			last, delivered = oi.Key, true
			return nil
		})
	}, nil)
	if ce, ok := errors.AsType[callbackError](err); ok {
		return ce.err
	}
	return err
}

func (r *retrying) Delete(ctx context.Context, key string) error {
	return r.do(ctx, "delete", key, func() error { return r.s.Delete(ctx, key) }, nil)
}
