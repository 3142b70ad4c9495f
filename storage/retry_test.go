package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/internal/fault"
)

// flaky is a Storage whose operations fail with the errors queued in fail
// before they reach a one-object-per-key map. It stands in for a backend
// only to test the decorator; the real backends have their own tests.
type flaky struct {
	fail    []error // returned, one per call, before the call does its work
	calls   int
	objects map[string][]byte
	// listFailAfter makes a List fail with a transient error after
	// delivering that many objects, once.
	listFailAfter int
}

func (f *flaky) next() error {
	f.calls++
	if len(f.fail) == 0 {
		return nil
	}
	err := f.fail[0]
	f.fail = f.fail[1:]
	return err
}

func (f *flaky) Put(ctx context.Context, key string, r io.Reader, size int64, _ PutOptions) error {
	// Read before failing, as a real upload would.
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := f.next(); err != nil {
		return err
	}
	f.objects[key] = b
	return nil
}

func (f *flaky) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	b, ok := f.objects[key]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", key, ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *flaky) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := f.next(); err != nil {
		return ObjectInfo{}, err
	}
	b, ok := f.objects[key]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("stat %q: %w", key, ErrNotExist)
	}
	return ObjectInfo{Key: key, Size: int64(len(b))}, nil
}

func (f *flaky) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if err := f.next(); err != nil {
		return err
	}
	var ks []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	for i, k := range ks {
		if f.listFailAfter > 0 && i == f.listFailAfter {
			f.listFailAfter = 0
			return fmt.Errorf("connection reset: %w", fault.ErrTransient)
		}
		if err := fn(ObjectInfo{Key: k, Size: int64(len(f.objects[k]))}); err != nil {
			return err
		}
	}
	return nil
}

func (f *flaky) Delete(ctx context.Context, key string) error {
	if err := f.next(); err != nil {
		return err
	}
	delete(f.objects, key)
	return nil
}

func (f *flaky) String() string { return "flaky" }

func newRetrying(f *flaky, attempts int) *retrying {
	r := WithRetry(f, attempts, nil).(*retrying)
	r.base, r.max = time.Millisecond, 5*time.Millisecond
	return r
}

var (
	errTransient = fmt.Errorf("503 slow down: %w", fault.ErrTransient)
	errPermanent = errors.New("access denied")
)

func TestRetryTransient(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name      string
		fail      []error
		attempts  int
		wantErr   error
		wantCalls int
	}{
		{"succeeds at once", nil, 3, nil, 1},
		{"succeeds after two transient errors", []error{errTransient, errTransient}, 3, nil, 3},
		{"gives up after attempts", []error{errTransient, errTransient, errTransient}, 3, fault.ErrTransient, 3},
		{"permanent error is not retried", []error{errPermanent}, 3, errPermanent, 1},
		{"not-exist is not retried", []error{fmt.Errorf("x: %w", ErrNotExist)}, 3, ErrNotExist, 1},
		{"retention is not retried", []error{&RetentionError{Key: "k", Until: time.Now().Add(time.Hour)}}, 3, ErrRetained, 1},
		{"one attempt means no retry", []error{errTransient}, 1, fault.ErrTransient, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := map[string]func(r *retrying) error{
				"Stat": func(r *retrying) error { _, err := r.Stat(ctx, "k"); return err },
				"Get": func(r *retrying) error {
					rc, err := r.Get(ctx, "k")
					if err == nil {
						rc.Close()
					}
					return err
				},
				"Delete": func(r *retrying) error { return r.Delete(ctx, "k") },
				"List":   func(r *retrying) error { return r.List(ctx, "", func(ObjectInfo) error { return nil }) },
				"Put": func(r *retrying) error {
					return r.Put(ctx, "k", bytes.NewReader([]byte("v")), 1, PutOptions{})
				},
			}
			for name, op := range ops {
				f := &flaky{fail: slices.Clone(tc.fail), objects: map[string][]byte{"k": []byte("v")}}
				err := op(newRetrying(f, tc.attempts))
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: error %v, want %v", name, err, tc.wantErr)
				}
				if f.calls != tc.wantCalls {
					t.Errorf("%s: %d calls, want %d", name, f.calls, tc.wantCalls)
				}
			}
		})
	}
}

// TestRetentionError: the date, the hold and the backend's message are all
// in the text, and errors.Is finds both the sentinel and the cause.
func TestRetentionError(t *testing.T) {
	cause := errors.New(`deleting "m" in s3://x/b: the object is under retention`)
	until := time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		err  *RetentionError
		want string
	}{
		{&RetentionError{Key: "m", Err: cause}, cause.Error()},
		{&RetentionError{Key: "m", Until: until, Err: cause}, cause.Error() + "; retained until 2026-07-01T08:30:00Z"},
		{&RetentionError{Key: "m", Until: until, LegalHold: true, Err: cause}, cause.Error() + "; retained until 2026-07-01T08:30:00Z, legal hold on"},
		{&RetentionError{Key: "m", LegalHold: true}, `deleting "m": object is under retention (object lock); legal hold on`},
	} {
		var err error = fmt.Errorf("pruning: %w", tc.err)
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(err, ErrRetained) || fault.IsTransient(err) || tc.err.Err != nil && !errors.Is(err, cause) {
			t.Errorf("%v: Is(ErrRetained) %v, transient %v", err, errors.Is(err, ErrRetained), fault.IsTransient(err))
		}
		if re, ok := errors.AsType[*RetentionError](err); !ok || re.Key != "m" || !re.Until.Equal(tc.err.Until) {
			t.Errorf("errors.As on %v: %+v", err, re)
		}
	}
}

func TestRetryPutRewinds(t *testing.T) {
	f := &flaky{fail: []error{errTransient, errTransient}, objects: map[string][]byte{}}
	r := newRetrying(f, 5)
	// The reader starts mid-way: the retry must rewind to there, not to 0.
	rd := strings.NewReader("headerBODY")
	rd.Seek(6, io.SeekStart)
	if err := r.Put(t.Context(), "k", rd, 4, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := string(f.objects["k"]); got != "BODY" {
		t.Fatalf("stored %q after retries, want BODY", got)
	}
	if f.calls != 3 {
		t.Fatalf("%d calls, want 3", f.calls)
	}
}

func TestRetryPutStreamNotRetried(t *testing.T) {
	f := &flaky{fail: []error{errTransient}, objects: map[string][]byte{}}
	r := newRetrying(f, 5)
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte("data")); pw.Close() }()
	if err := r.Put(t.Context(), "k", pr, -1, PutOptions{}); !errors.Is(err, fault.ErrTransient) {
		t.Fatalf("Put of a stream = %v, want the transient error unretried", err)
	}
	if f.calls != 1 {
		t.Fatalf("%d calls, want 1: a consumed stream cannot be sent again", f.calls)
	}
}

func TestRetryListResumes(t *testing.T) {
	f := &flaky{objects: map[string][]byte{"a": nil, "b": nil, "c": nil, "d": nil}, listFailAfter: 2}
	r := newRetrying(f, 3)
	var got []string
	if err := r.List(t.Context(), "", func(oi ObjectInfo) error { got = append(got, oi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("List delivered %q, want each key once", got)
	}
}

func TestRetryListCallbackErrorNotRetried(t *testing.T) {
	f := &flaky{objects: map[string][]byte{"a": nil, "b": nil}}
	r := newRetrying(f, 3)
	// Even a transient-looking error from fn is the caller's: no retry.
	err := r.List(t.Context(), "", func(oi ObjectInfo) error { return errTransient })
	if !errors.Is(err, errTransient) || f.calls != 1 {
		t.Fatalf("List = %v after %d calls, want fn's error after 1", err, f.calls)
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	f := &flaky{fail: []error{errTransient, errTransient, errTransient}, objects: map[string][]byte{}}
	r := WithRetry(f, 3, nil).(*retrying)
	r.base, r.max = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Stat(ctx, "k")
	if !errors.Is(err, fault.ErrTransient) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stat = %v, want the transient error and the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %s past the context's end", d)
	}
}

func TestBackoffBounds(t *testing.T) {
	r := WithRetry(&flaky{}, 10, nil).(*retrying)
	for attempt := 1; attempt < 40; attempt++ {
		d := r.backoff(attempt)
		limit := min(r.base<<min(attempt-1, 30), r.max)
		if d <= 0 || d > limit+1 {
			t.Fatalf("backoff(%d) = %s, want in (0, %s]", attempt, d, limit)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, k := range []string{"a", "a/b", "data/ab/abcdef", "données/日本語", "a b", ".a", "a..b", "..a"} {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "/a", "a/", "a//b", "..", "a/..", "./a", "a\\b", "a\x00", "\xff", strings.Repeat("x", 1025)} {
		if err := CheckKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}
