package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	shown  string // url for errors and logs: without its query, which may carry a token
	host   string // the name the server's certificate must hold
	secret []byte
	client *http.Client
	now    func() time.Time
}

var _ Sender = (*Webhook)(nil)

// NewWebhook makes the sender of a webhook notify block; client nil means
// one with a 30-second timeout. The block's ca_file adds its certificates
// to the roots the client trusts for an https:// url (an internal CA).
func NewWebhook(n *config.Notify, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(n.URL)
	if err != nil {
		return nil, fmt.Errorf("notify %q: url: %w", n.Name, err)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if n.CAFile != "" {
		if client, err = trustingCAFile(n, client); err != nil {
			return nil, err
		}
	}
	return &Webhook{name: n.Name, url: n.URL, shown: u.Scheme + "://" + u.Host + u.Path, host: u.Hostname(),
		secret: []byte(n.Secret.Reveal()), client: client, now: time.Now}, nil
}

// trustingCAFile is client with a transport of its own that trusts the
// block's ca_file besides what client's transport trusts.
func trustingCAFile(n *config.Notify, client *http.Client) (*http.Client, error) {
	var tr *http.Transport
	switch rt := client.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = rt.Clone()
	default:
		return nil, fmt.Errorf("notify %q: ca_file: the HTTP client's transport (%T) takes no CA", n.Name, rt)
	}
	tc, err := withCAFile(n, tr.TLSClientConfig)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = tc
	c := *client
	c.Transport = tr
	return &c, nil
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
		// url.Error repeats the whole URL, query included; say it once,
		// without the query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notify %q: posting to the webhook %s: %w%s", w.name, w.shown, err, certHint(err, "url", w.host))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify %q: the webhook %s answered %s", w.name, w.shown, resp.Status)
	}
	return nil
}
