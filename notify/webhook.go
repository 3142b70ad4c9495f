package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/dbopsd/dbopsd/config"
)

// Webhook headers.
const (
	HeaderEvent     = "X-Dbopsd-Event"
	HeaderTimestamp = "X-Dbopsd-Timestamp"
	HeaderSignature = "X-Dbopsd-Signature"
)

// Webhook POSTs events as JSON, signed with HMAC-SHA256.
type Webhook struct {
	name   string
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

var _ Sender = (*Webhook)(nil)

// NewWebhook makes the sender of a webhook notify block; client nil means
// one with a 30-second timeout.
func NewWebhook(n *config.Notify, client *http.Client) *Webhook {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Webhook{name: n.Name, url: n.URL, secret: []byte(n.Secret.Reveal()), client: client, now: time.Now}
}

// Name is the notify block's label.
func (w *Webhook) Name() string { return w.name }

// Sign returns the X-Dbopsd-Signature value of body sent at timestamp.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature made by Sign, in constant time.
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// Send POSTs ev. Any status other than 2xx is an error.
func (w *Webhook) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("notify %q: %w", w.name, err)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify %q: %w", w.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dbopsd")
	req.Header.Set(HeaderEvent, ev.Type)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("notify %q: posting to the webhook: %w", w.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify %q: the webhook answered %s", w.name, resp.Status)
	}
	return nil
}
