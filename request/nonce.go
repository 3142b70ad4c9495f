package request

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// NonceFileName is the nonce store's file inside the state directory.
const NonceFileName = "request-nonces.jsonl"

// ErrReplayed is wrapped when a request's nonce (or id) was already used by
// an accepted request.
var ErrReplayed = errors.New("replayed request")

// NonceStore remembers the nonce and id of every accepted request, so that a
// request is carried out at most once, across restarts. It is a JSON-lines
// file in the state directory (mode 0600): a claim appends one line under an
// exclusive flock and fsyncs it before the work is queued; the file is read
// back, under the same lock, before every check, so several processes
// sharing a state directory see each other's claims.
//
// A flat file rather than a table in the catalog: the store is tiny (one
// line per accepted request), needs only "insert if absent", and keeping
// SQLite out of this package keeps its fuzz target quick to build.
type NonceStore struct {
	mu   sync.Mutex
	path string
	f    *os.File
	off  int64            // bytes of complete lines read so far
	byNc map[string]claim // by nonce
	byID map[string]claim // by request id
}

// claim is one line of the store.
type claim struct {
	Nonce   string `json:"nonce"`
	ID      string `json:"id"`
	Digest  string `json:"request_sha256"`
	At      string `json:"claimed_at"`
	Expires string `json:"expires"`
}

// OpenNonceStore opens (creating if needed) the nonce store in stateDir.
func OpenNonceStore(stateDir string) (*NonceStore, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, NonceFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening nonce store: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening nonce store: %w", err)
	}
	s := &NonceStore{path: path, f: f, byNc: map[string]claim{}, byID: map[string]claim{}}
	err = s.locked(func() error { return nil })
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store.
func (s *NonceStore) Close() error { return s.f.Close() }

// locked runs fn holding the store's lock, after reading claims other
// processes appended.
func (s *NonceStore) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := syscall.Flock(int(s.f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking nonce store %s: %w", s.path, err)
	}
	defer syscall.Flock(int(s.f.Fd()), syscall.LOCK_UN)
	if err := s.refresh(); err != nil {
		return fmt.Errorf("reading nonce store %s: %w", s.path, err)
	}
	return fn()
}

// refresh reads the complete lines after s.off. A line that is not a claim
// (a write cut short by a crash, never acknowledged) is skipped.
func (s *NonceStore) refresh() error {
	br := bufio.NewReader(io.NewSectionReader(s.f, s.off, 1<<62))
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil // an incomplete last line stays unread
		}
		if err != nil {
			return err
		}
		s.off += int64(len(line))
		var c claim
		if json.Unmarshal(line, &c) == nil && c.Nonce != "" {
			s.byNc[c.Nonce], s.byID[c.ID] = c, c
		}
	}
}

func (s *NonceStore) check(r *Request) error {
	if c, ok := s.byNc[r.Nonce]; ok {
		return fmt.Errorf("%w: its nonce was already used by request %s, accepted at %s", ErrReplayed, c.ID, c.At)
	}
	if c, ok := s.byID[r.ID]; ok {
		return fmt.Errorf("%w: request id %s was already used by another request, accepted at %s", ErrReplayed, c.ID, c.At)
	}
	return nil
}

// Check returns an error wrapping ErrReplayed if r's nonce or id was
// already claimed, saying by which request and when.
func (s *NonceStore) Check(_ context.Context, r *Request) error {
	return s.locked(func() error { return s.check(r) })
}

// Claim records r's nonce and id as used, durably. If either was already
// claimed, possibly by a concurrent Claim, it returns an error wrapping
// ErrReplayed.
func (s *NonceStore) Claim(_ context.Context, r *Request, now time.Time) error {
	return s.locked(func() error {
		if err := s.check(r); err != nil {
			return err
		}
		c := claim{Nonce: r.Nonce, ID: r.ID, Digest: r.Digest(), At: now.UTC().Format(time.RFC3339), Expires: formatTime(r.Expires)}
		line, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("recording the nonce of request %s: %w", r.ID, err)
		}
		fi, err := s.f.Stat()
		if err != nil {
			return fmt.Errorf("recording the nonce of request %s: %w", r.ID, err)
		}
		if fi.Size() > s.off {
			// An incomplete last line: end it, so that ours stands alone.
			line = append([]byte("\n"), line...)
		}
		if _, err := s.f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("recording the nonce of request %s in %s: %w", r.ID, s.path, err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("recording the nonce of request %s in %s: %w", r.ID, s.path, err)
		}
		s.off += int64(len(line)) + 1
		s.byNc[c.Nonce], s.byID[c.ID] = c, c
		return nil
	})
}
