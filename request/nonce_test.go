package request_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/request"
)

func TestNonceStoreSharedAndCrashSafe(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := request.OpenNonceStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := request.OpenNonceStore(dir) // a second process on the same state dir
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r1 := newRequest(t, draft("drill", "scratch-pg", "q1"))
	if err := a.Claim(ctx, r1, now); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, r1); !errors.Is(err, request.ErrReplayed) {
		t.Fatalf("the other handle does not see the claim: %v", err)
	}
	if err := b.Claim(ctx, r1, now); !errors.Is(err, request.ErrReplayed) {
		t.Fatalf("claimed twice: %v", err)
	}
	path := filepath.Join(dir, request.NonceFileName)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("nonce store mode: %v %v", fi.Mode(), err)
	}

	// A claim cut short by a crash is ignored, and the next claim stands
	// on a line of its own.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"nonce":"abab`)
	f.Close()
	r2 := newRequest(t, draft("drill", "scratch-pg", "q2"))
	if err := b.Claim(ctx, r2, now); err != nil {
		t.Fatal(err)
	}
	c, err := request.OpenNonceStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range []*request.Request{r1, r2} {
		if err := c.Check(ctx, r); !errors.Is(err, request.ErrReplayed) || !strings.Contains(err.Error(), r.ID) {
			t.Fatalf("after reopen: %v", err)
		}
	}
	if err := c.Check(ctx, newRequest(t, draft("drill", "scratch-pg", "q3"))); err != nil {
		t.Fatalf("a fresh request: %v", err)
	}
}
