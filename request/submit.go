package request

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
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

// SocketClient is an HTTP client that reaches the daemon's API over the unix
// socket at path, whatever host a URL names ("http://dbopsd/...").
func SocketClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// Submit sends the request file at path to the daemon: it reads, size-checks
// and parses it locally (so that a malformed file fails here with a clear
// message), then POSTs the bytes as read to url with hc, and returns the
// response body of a 2xx answer. Any other status is an error carrying the
// daemon's message (a refusal's reason). The endpoint and the response's
// shape belong to the daemon's API; this is the client half.
func Submit(ctx context.Context, hc *http.Client, url, path string) ([]byte, error) {
	r, data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("submitting request %s: %w", r.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("submitting request %s: %w", r.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("submitting request %s: reading the answer: %w", r.ID, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			msg = resp.Status
		}
		return body, fmt.Errorf("submitting request %s: %s", r.ID, msg)
	}
	return body, nil
}
