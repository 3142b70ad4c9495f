package request

import (
	"fmt"
	"os"
)

// ReadFile reads and strictly parses the request file at path, refusing one
// larger than MaxSize before reading it whole. It returns the bytes as read,
// which is what a submission sends: the daemon checks the same bytes.
func ReadFile(path string) (*Request, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading request: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxSize {
		return nil, nil, fmt.Errorf("request %s: %w: %d bytes, at most %d", path, ErrTooLarge, fi.Size(), MaxSize)
	}
	r, data, err := Read(f)
	if err != nil {
		return nil, data, fmt.Errorf("request %s: %w", path, err)
	}
	return r, data, nil
}
