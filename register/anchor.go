package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/storage"
)

// AnchorPrefix is where anchors live in the repository's storage.
const AnchorPrefix = "register/anchors"

// anchorTimeLayout names anchor objects; it sorts lexically in time order.
const anchorTimeLayout = "20060102T150405.000000000Z"

// Anchor is the register's head at one moment, stored outside the state
// directory where whoever can edit the register cannot reach it (or, on
// object-locked storage, cannot change it).
type Anchor struct {
	Key  string    `json:"-"`
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

// ErrEmpty is returned by WriteAnchor for a register with no entries.
var ErrEmpty = errors.New("the restore register is empty: nothing to anchor")

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// WriteAnchor stores head (from Register.Head, or a Report of Verify) as a
// new object <prefix>/<now, UTC> in st. It never overwrites an object:
// anchors only accumulate. opts.RetainUntil protects the anchor on
// object-locked storage.
func WriteAnchor(ctx context.Context, st storage.Storage, prefix string, head Head, now time.Time, opts storage.PutOptions) (Anchor, error) {
	if head.Seq == 0 {
		return Anchor{}, ErrEmpty
	}
	now = now.UTC()
	a := Anchor{Key: strings.TrimSuffix(prefix, "/") + "/" + now.Format(anchorTimeLayout), Seq: head.Seq, Hash: head.Hash, Time: now}
	if err := storage.CheckKey(a.Key); err != nil {
		return Anchor{}, fmt.Errorf("anchoring the restore register: %w", err)
	}
	switch _, err := st.Stat(ctx, a.Key); {
	case err == nil:
		return Anchor{}, fmt.Errorf("anchoring the restore register: %s already exists in %s; anchors are never overwritten", a.Key, st)
	case !errors.Is(err, storage.ErrNotExist):
		return Anchor{}, fmt.Errorf("anchoring the restore register in %s: %w", st, err)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return Anchor{}, fmt.Errorf("anchoring the restore register: %w", err)
	}
	if err := st.Put(ctx, a.Key, bytes.NewReader(body), int64(len(body)), opts); err != nil {
		return Anchor{}, fmt.Errorf("anchoring the restore register in %s: %w", st, err)
	}
	return a, nil
}

// ListAnchors reads every anchor under prefix in st, oldest first. An anchor
// that cannot be read is an error: someone with access to the storage may
// have tampered with it.
func ListAnchors(ctx context.Context, st storage.Storage, prefix string) ([]Anchor, error) {
	var keys []string
	err := st.List(ctx, strings.TrimSuffix(prefix, "/")+"/", func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing register anchors in %s: %w", st, err)
	}
	out := make([]Anchor, 0, len(keys))
	for _, k := range keys {
		a, err := readAnchor(ctx, st, k)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func readAnchor(ctx context.Context, st storage.Storage, key string) (Anchor, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return Anchor{}, fmt.Errorf("reading register anchor %s: %w", key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return Anchor{}, fmt.Errorf("reading register anchor %s: %w", key, err)
	}
	var a Anchor
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Seq <= 0 || !hashPattern.MatchString(a.Hash) {
		return Anchor{}, fmt.Errorf("register anchor %s is not an anchor (damaged or tampered with): %q", key, body)
	}
	a.Key = key
	return a, nil
}

// KeepAnchored writes an anchor every interval while the register's head
// has moved since the last one, until ctx is cancelled. Failures go to
// onError (nil: ignored) and are retried at the next interval; the daemon
// runs it as one of its components.
func KeepAnchored(ctx context.Context, st storage.Storage, prefix string, r *Register, every time.Duration, opts func() storage.PutOptions, onError func(error)) {
	var anchored Head
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		head, err := r.Head()
		if err == nil && head.Seq > 0 && head != anchored {
			var o storage.PutOptions
			if opts != nil {
				o = opts()
			}
			if _, err = WriteAnchor(ctx, st, prefix, head, r.Now(), o); err == nil {
				anchored = head
			}
		}
		if err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			anchorOnExit(ctx, st, prefix, r, anchored, opts, onError)
			return
		case <-t.C:
		}
	}
}

// anchorOnExit writes a last anchor when KeepAnchored stops (the agent
// shutting down) and the head moved since the last one, so what was recorded
// during the final interval is anchored now rather than at the next start.
func anchorOnExit(ctx context.Context, st storage.Storage, prefix string, r *Register, anchored Head, opts func() storage.PutOptions, onError func(error)) {
	head, err := r.Head()
	if err != nil || head.Seq == 0 || head == anchored {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var o storage.PutOptions
	if opts != nil {
		o = opts()
	}
	if _, err := WriteAnchor(ctx, st, prefix, head, r.Now(), o); err != nil && onError != nil {
		onError(fmt.Errorf("anchoring the register on the way out: %w", err))
	}
}
