// Package secret holds values that must never be printed: passwords, keys,
// passphrases. A Value formats as "[redacted]" under every fmt verb, in JSON
// and in hclog, so forgetting to scrub a struct before logging it leaks
// nothing; the one way to read it is Reveal, which a reader of the code can
// grep for.
package secret

import (
	"encoding/json"
	"fmt"
)

// Value is a secret string. The zero Value is the empty secret ("none").
//
// The string sits behind a pointer: when fmt prints a struct whose secret
// field it cannot call methods on (an unexported field), it shows an address,
// never the text.
type Value struct{ p *string }

// New wraps s.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{p: &s}
}

// Reveal returns the secret itself; call it only where the secret is handed to
// a driver or a child process.
func (s Value) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// Empty reports whether no secret is set (for a password: use trust/peer auth).
func (s Value) Empty() bool { return s.p == nil || *s.p == "" }

const redacted = "[redacted]"

func (s Value) String() string   { return redacted }
func (s Value) GoString() string { return redacted }

// Format makes every fmt verb (%s, %d, %x, %q, ...) print "[redacted]".
func (s Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON keeps secrets out of every JSON document dbopsd writes.
func (s Value) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalText covers encoders that use encoding.TextMarshaler (hclog, YAML).
func (s Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }
