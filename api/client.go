package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/dbopsd/dbopsd/schedule"
)

// Client talks to the daemon over its socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client of the daemon listening on the socket path.
func NewClient(path string) *Client {
	return &Client{path: path, http: &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

// ErrNoDaemon is wrapped by errors that mean no daemon answers on the
// socket.
var ErrNoDaemon = errors.New("no dbopsd agent answers")

// Status asks for the daemon's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Run queues a job.
func (c *Client) Run(ctx context.Context, r RunRequest) (schedule.TaskInfo, error) {
	var ti schedule.TaskInfo
	err := c.do(ctx, http.MethodPost, "/v1/run", r, &ti)
	return ti, err
}

// Task asks for one job's state.
func (c *Client) Task(ctx context.Context, id int64) (schedule.TaskInfo, error) {
	var ti schedule.TaskInfo
	err := c.do(ctx, http.MethodGet, "/v1/tasks/"+strconv.FormatInt(id, 10), nil, &ti)
	return ti, err
}

// SubmitRequest sends a signed request file, as read, to the daemon. A
// refusal is an *Error with Code 403 and the reason in Refusal.
func (c *Client) SubmitRequest(ctx context.Context, file []byte) (RequestAccepted, error) {
	var ra RequestAccepted
	err := c.send(ctx, http.MethodPost, "/v1/requests", bytes.NewReader(file), &ra)
	return ra, err
}

// Request asks for the state of the request with this id.
func (c *Client) Request(ctx context.Context, id string) (RequestStatus, error) {
	var rs RequestStatus
	err := c.do(ctx, http.MethodGet, "/v1/requests/"+url.PathEscape(id), nil, &rs)
	return rs, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.send(ctx, method, path, body, out)
}

// send makes one call with a JSON body (nil: none) and decodes the answer
// into out.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://dbopsd"+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("%w on %s (is `dbopsd agent` running? is this daemon.socket?): %v", ErrNoDaemon, c.path, err)
		case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EACCES):
			return fmt.Errorf("%s: permission denied: the socket is mode 0600, owned by the daemon's user; run as that user (sudo -u dbopsd) or root", c.path)
		}
		return fmt.Errorf("talking to the daemon on %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			return &Error{Code: resp.StatusCode, Message: eb.Error, Refusal: eb.Refusal, RegisterSeq: eb.RegisterSeq}
		}
		return &Error{Code: resp.StatusCode, Message: resp.Status}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	return nil
}

// Error is an error answer of the daemon.
type Error struct {
	Code    int
	Message string
	// Refusal is why a signed request was refused (Code 403), and
	// RegisterSeq the register entry recording it.
	Refusal     string
	RegisterSeq int64
}

func (e *Error) Error() string { return e.Message }
