package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/storage"
)

// Features say what optional behaviour the store under test has.
type Features struct {
	// ObjectLock: the store honours PutOptions.RetainUntil. Until that
	// date Delete fails with storage.ErrRetained and the object stays
	// whole; after it, Delete removes the object. Without ObjectLock the
	// suite checks that RetainUntil is ignored and Delete never reports
	// retention.
	ObjectLock bool
}

// Run runs the conformance suite for a store without object lock. newStore
// must return an empty store, independent of the stores returned for other
// subtests.
func Run(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	RunWith(t, Features{}, newStore)
}

// RunWith runs the conformance suite for a store with features f.
func RunWith(t *testing.T, f Features, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Stat", testStat},
		{"List", testList},
		{"ListStopsOnError", testListStopsOnError},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"ConcurrentPuts", testConcurrentPuts},
		{"CancelMidPut", testCancelMidPut},
		{"ShortReader", testShortReader},
		{"UnicodeKeys", testUnicodeKeys},
		{"InvalidKeys", testInvalidKeys},
		{"String", testString},
		{"Retention", func(t *testing.T, s storage.Storage) { testRetention(t, s, f) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// data returns n pseudo-random bytes, the same for the same seed.
func data(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	rng.Read(b)
	return b
}

// streamReader hides every interface but io.Reader, as a pipe from a
// backup would: no Seek, no WriterTo, no length.
type streamReader struct{ r io.Reader }

func (s streamReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func put(t *testing.T, s storage.Storage, key string, b []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s storage.Storage, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

func list(t *testing.T, s storage.Storage, prefix string) []storage.ObjectInfo {
	t.Helper()
	var got []storage.ObjectInfo
	if err := s.List(t.Context(), prefix, func(oi storage.ObjectInfo) error {
		got = append(got, oi)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

func keys(infos []storage.ObjectInfo) []string {
	ks := make([]string, 0, len(infos))
	for _, oi := range infos {
		ks = append(ks, oi.Key)
	}
	return ks
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (sha256 %x), want %d bytes (sha256 %x)",
			what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func testRoundTrip(t *testing.T, s storage.Storage) {
	for _, tc := range []struct {
		name      string
		n         int
		sizeKnown bool
	}{
		{"empty", 0, true},
		{"empty-unknown-size", 0, false},
		{"small", 1000, true},
		{"small-unknown-size", 1000, false},
		{"20MiB-unknown-size", 20 << 20, false},
		{"20MiB", 20 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := data(uint64(tc.n), tc.n)
			key := "roundtrip/" + tc.name
			var r io.Reader = streamReader{bytes.NewReader(want)}
			size := int64(-1)
			if tc.sizeKnown {
				size = int64(tc.n)
			}
			if err := s.Put(t.Context(), key, r, size, storage.PutOptions{}); err != nil {
				t.Fatalf("Put(%q, size %d): %v", key, size, err)
			}
			sameBytes(t, "Get after Put", get(t, s, key), want)
			oi, err := s.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if oi.Size != int64(tc.n) {
				t.Errorf("Stat(%q).Size = %d, want %d", key, oi.Size, tc.n)
			}
		})
	}
}

func testOverwrite(t *testing.T, s storage.Storage) {
	first, second := data(1, 5000), data(2, 300)
	put(t, s, "over/k", first)
	put(t, s, "over/k", second)
	sameBytes(t, "Get after overwrite", get(t, s, "over/k"), second)
	oi, err := s.Stat(t.Context(), "over/k")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if oi.Size != int64(len(second)) {
		t.Errorf("Stat size after overwrite = %d, want %d", oi.Size, len(second))
	}
	if got := keys(list(t, s, "over/")); !slices.Equal(got, []string{"over/k"}) {
		t.Errorf("List after overwrite = %q, want one key", got)
	}
}

func testStat(t *testing.T, s storage.Storage) {
	before := time.Now().Add(-time.Minute) // server clocks and second granularity
	put(t, s, "stat/k", data(3, 1234))
	oi, err := s.Stat(t.Context(), "stat/k")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if oi.Key != "stat/k" || oi.Size != 1234 {
		t.Errorf("Stat = %+v, want key stat/k size 1234", oi)
	}
	if oi.ModTime.Before(before) || oi.ModTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("Stat ModTime %v is not about now", oi.ModTime)
	}
}

// listKeys are valid on every backend: no key is also a "directory" of
// another, which a filesystem cannot hold.
var listKeys = []string{"b/z", "a/2", "ab/c", "a/sub/x", "a-b", "abc", "a/1", "a.b"}

func testList(t *testing.T, s storage.Storage) {
	for i, k := range listKeys {
		put(t, s, k, data(uint64(i), i+1))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		// Byte order: '-' < '.' < '/' < letters.
		{"", []string{"a-b", "a.b", "a/1", "a/2", "a/sub/x", "ab/c", "abc", "b/z"}},
		{"a", []string{"a-b", "a.b", "a/1", "a/2", "a/sub/x", "ab/c", "abc"}},
		{"a/", []string{"a/1", "a/2", "a/sub/x"}},
		{"a/s", []string{"a/sub/x"}},
		{"a/sub/", []string{"a/sub/x"}},
		{"ab", []string{"ab/c", "abc"}},
		{"ab/", []string{"ab/c"}},
		{"b/z", []string{"b/z"}},
		{"c", nil},
		{"a/3", nil},
		{"zz/yy/", nil},
	} {
		t.Run("prefix="+tc.prefix, func(t *testing.T) {
			got := list(t, s, tc.prefix)
			if !slices.Equal(keys(got), tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, keys(got), tc.want)
			}
			for _, oi := range got {
				i := slices.Index(listKeys, oi.Key)
				if oi.Size != int64(i+1) {
					t.Errorf("List(%q): %s has size %d, want %d", tc.prefix, oi.Key, oi.Size, i+1)
				}
				if oi.ModTime.IsZero() {
					t.Errorf("List(%q): %s has no ModTime", tc.prefix, oi.Key)
				}
			}
		})
	}
}

func testListStopsOnError(t *testing.T, s storage.Storage) {
	for _, k := range []string{"l/1", "l/2", "l/3"} {
		put(t, s, k, []byte(k))
	}
	stop := errors.New("stop here")
	var seen []string
	err := s.List(t.Context(), "l/", func(oi storage.ObjectInfo) error {
		seen = append(seen, oi.Key)
		if oi.Key == "l/2" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List returned %v, want the callback's error", err)
	}
	if !slices.Equal(seen, []string{"l/1", "l/2"}) {
		t.Fatalf("List called back for %q after the error", seen)
	}
}

func testMissing(t *testing.T, s storage.Storage) {
	put(t, s, "present/k", []byte("x"))
	for _, key := range []string{"missing", "present/missing", "present", "present/k/deeper"} {
		if rc, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrNotExist", key, err)
		}
		if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want ErrNotExist", key, err)
		}
		if err := s.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) of a missing object: %v", key, err)
		}
		if fault.IsTransient(storage.ErrNotExist) {
			t.Errorf("ErrNotExist is transient")
		}
	}
	sameBytes(t, "present/k after deleting missing keys", get(t, s, "present/k"), []byte("x"))
}

func testDelete(t *testing.T, s storage.Storage) {
	put(t, s, "del/a/k", []byte("1"))
	put(t, s, "del/b", []byte("2"))
	if err := s.Delete(t.Context(), "del/a/k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(t.Context(), "del/a/k"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Delete = %v, want ErrNotExist", err)
	}
	if got := keys(list(t, s, "")); !slices.Equal(got, []string{"del/b"}) {
		t.Fatalf("List after Delete = %q, want [del/b]", got)
	}
	if err := s.Delete(t.Context(), "del/a/k"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	// The key can be written again after a delete.
	put(t, s, "del/a/k", []byte("3"))
	sameBytes(t, "Get after re-Put", get(t, s, "del/a/k"), []byte("3"))
}

func testConcurrentPuts(t *testing.T, s storage.Storage) {
	const n = 16
	contents := make([][]byte, n)
	for i := range contents {
		contents[i] = data(uint64(100+i), 64<<10+i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("conc/own/%02d", i)
			if err := s.Put(t.Context(), key, bytes.NewReader(contents[i]), int64(len(contents[i])), storage.PutOptions{}); err != nil {
				errs <- fmt.Errorf("Put(%q): %w", key, err)
			}
			// Everyone writes the same key too: the result must be one
			// whole object, not a mix.
			if err := s.Put(t.Context(), "conc/same", bytes.NewReader(contents[i]), -1, storage.PutOptions{}); err != nil {
				errs <- fmt.Errorf("Put(conc/same): %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i := range n {
		sameBytes(t, fmt.Sprintf("conc/own/%02d", i), get(t, s, fmt.Sprintf("conc/own/%02d", i)), contents[i])
	}
	same := get(t, s, "conc/same")
	if !slices.ContainsFunc(contents, func(c []byte) bool { return bytes.Equal(c, same) }) {
		t.Fatalf("conc/same holds %d bytes that none of the writers wrote", len(same))
	}
	if got := len(list(t, s, "conc/")); got != n+1 {
		t.Fatalf("List found %d objects, want %d", got, n+1)
	}
}

// cancellingReader produces data and cancels its context after after bytes,
// going on producing (as a pipe would) up to limit.
type cancellingReader struct {
	cancel       context.CancelFunc
	after, limit int
	n            int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, io.EOF
	}
	p = p[:min(len(p), c.limit-c.n)]
	for i := range p {
		p[i] = byte(c.n + i)
	}
	c.n += len(p)
	if c.n >= c.after {
		c.cancel()
	}
	return len(p), nil
}

func testCancelMidPut(t *testing.T, s storage.Storage) {
	for _, tc := range []struct {
		name string
		size int64
	}{{"unknown-size", -1}, {"known-size", 40 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			key := "cancel/" + tc.name
			r := &cancellingReader{cancel: cancel, after: 3 << 20, limit: 40 << 20}
			err := s.Put(ctx, key, r, tc.size, storage.PutOptions{})
			if err == nil {
				t.Fatalf("Put with a context cancelled after %d bytes succeeded", r.after)
			}
			if !errors.Is(err, context.Canceled) {
				t.Logf("Put error does not wrap context.Canceled: %v", err)
			}
			if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Stat after a cancelled Put = %v, want ErrNotExist", err)
			}
			if got := keys(list(t, s, "")); len(got) != 0 {
				t.Fatalf("List after a cancelled Put = %q, want nothing", got)
			}
		})
	}
	// Cancelled before it starts.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, "cancel/before", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); err == nil {
		t.Fatalf("Put with a cancelled context succeeded")
	}
	if _, err := s.Stat(t.Context(), "cancel/before"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Put with a cancelled context = %v, want ErrNotExist", err)
	}
}

func testShortReader(t *testing.T, s storage.Storage) {
	// A reader that ends before the announced size is a failed Put, not a
	// short object.
	err := s.Put(t.Context(), "short/k", streamReader{bytes.NewReader([]byte("12345"))}, 10, storage.PutOptions{})
	if err == nil {
		t.Fatalf("Put of 5 bytes announced as 10 succeeded")
	}
	if _, err := s.Stat(t.Context(), "short/k"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after a short Put = %v, want ErrNotExist", err)
	}
}

func testUnicodeKeys(t *testing.T, s storage.Storage) {
	ks := []string{"données/日本語/ключ-😀.bin", "données/é", "données/e\u0301", "空 白/a b"}
	for i, k := range ks {
		put(t, s, k, []byte(k))
		sameBytes(t, k, get(t, s, k), []byte(ks[i]))
	}
	want := slices.Clone(ks)
	slices.Sort(want)
	if got := keys(list(t, s, "")); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if got := keys(list(t, s, "données/")); len(got) != 3 {
		t.Fatalf("List(données/) = %q, want 3 keys", got)
	}
}

func testInvalidKeys(t *testing.T, s storage.Storage) {
	for _, key := range []string{"", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", ".", "a\\b", "a\x00b", "\xff"} {
		err := s.Put(t.Context(), key, strings.NewReader("x"), 1, storage.PutOptions{})
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if got := keys(list(t, s, "")); len(got) != 0 {
		t.Fatalf("invalid keys left objects: %q", got)
	}
}

func testString(t *testing.T, s storage.Storage) {
	if s.String() == "" {
		t.Fatalf("String() is empty")
	}
}

// testRetention: an object put with RetainUntil on a store with object lock
// refuses Delete with storage.ErrRetained (never transient, naming the key,
// with the date when the store tells it) and stays whole until the date,
// after which Delete removes it. A store without object lock ignores the
// date. Either way, objects put without it delete at once.
func testRetention(t *testing.T, s storage.Storage, f Features) {
	if fault.IsTransient(storage.ErrRetained) {
		t.Fatalf("ErrRetained is transient")
	}
	// A few seconds, so that the suite sees it expire; whole seconds, as
	// S3 keeps them.
	until := time.Now().Add(4 * time.Second).Truncate(time.Second)
	body := data(7, 2000)
	if err := s.Put(t.Context(), "retain/k", bytes.NewReader(body), int64(len(body)), storage.PutOptions{RetainUntil: until}); err != nil {
		t.Fatalf("Put with RetainUntil: %v", err)
	}
	put(t, s, "retain/free", []byte("free"))
	if err := s.Delete(t.Context(), "retain/free"); err != nil {
		t.Fatalf("Delete of an object put without retention: %v", err)
	}

	err := s.Delete(t.Context(), "retain/k")
	if !f.ObjectLock {
		if err != nil {
			t.Fatalf("Delete on a store without object lock: %v", err)
		}
		if _, err := s.Stat(t.Context(), "retain/k"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("Stat after Delete = %v, want ErrNotExist", err)
		}
		return
	}
	switch {
	case err == nil:
		t.Fatalf("Delete before the retain-until date succeeded")
	case !errors.Is(err, storage.ErrRetained):
		t.Fatalf("Delete before the retain-until date = %v, want ErrRetained", err)
	case fault.IsTransient(err):
		t.Errorf("retention error is transient: %v", err)
	case !strings.Contains(err.Error(), "retain/k"):
		t.Errorf("retention error does not name the key: %v", err)
	}
	if re, ok := errors.AsType[*storage.RetentionError](err); !ok || re.Key != "retain/k" {
		t.Errorf("retention error is not a *storage.RetentionError for retain/k: %#v", err)
	} else if !re.Until.IsZero() && !re.Until.Equal(until) {
		t.Errorf("retention error says retained until %v, want %v", re.Until, until)
	}
	sameBytes(t, "retained object after a refused Delete", get(t, s, "retain/k"), body)
	if got := keys(list(t, s, "retain/")); !slices.Equal(got, []string{"retain/k"}) {
		t.Fatalf("List after a refused Delete = %q", got)
	}

	time.Sleep(time.Until(until) + 1500*time.Millisecond)
	if err := s.Delete(t.Context(), "retain/k"); err != nil {
		t.Fatalf("Delete after the retain-until date: %v", err)
	}
	if _, err := s.Stat(t.Context(), "retain/k"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Delete = %v, want ErrNotExist", err)
	}
}
