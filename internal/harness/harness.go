package harness

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// Main runs the tests of a package and then stops the shared servers they
// started. Call it from TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if err := closeShared(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: stopping shared servers: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// mainRunning is set by Main. Shared servers refuse to start without it:
// nothing would stop them, and their directories would fill /tmp.
var mainRunning atomic.Bool

// registry holds the shared servers' close functions, for Main.
var registry struct {
	mu     sync.Mutex
	closes []func() error
}

func registerShared(closeFn func() error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.closes = append(registry.closes, closeFn)
}

func closeShared() error {
	registry.mu.Lock()
	closes := registry.closes
	registry.closes = nil
	registry.mu.Unlock()
	// The servers are independent: stop them all at once.
	errs := make([]error, len(closes))
	var wg sync.WaitGroup
	for i, closeFn := range closes {
		wg.Go(func() { errs[i] = closeFn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lazy is a server shared by all the tests of a binary, started on first
// use. A failed start is remembered, so that every later test fails at once
// with the same message instead of waiting for the server again.
type lazy[T any] struct {
	mu   sync.Mutex
	done bool
	v    T
	err  error
}

func (l *lazy[T]) get(t testing.TB, start func() (T, func() error, error)) T {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatalf("harness: shared servers are stopped by harness.Main; add to the package's tests:\n\tfunc TestMain(m *testing.M) { harness.Main(m) }")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		var closeFn func() error
		l.v, closeFn, l.err = start()
		if l.err == nil {
			registerShared(closeFn)
		}
		l.done = true
	}
	if l.err != nil {
		t.Fatalf("harness: %v", l.err)
	}
	return l.v
}

// private starts a server for one test and closes it at t's cleanup.
func private[T any](t testing.TB, start func() (T, func() error, error)) T {
	t.Helper()
	v, closeFn, err := start()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		if err := closeFn(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})
	return v
}
