// Package secret holds values that must never be printed: passwords, keys,
// passphrases. A Value formats as "[redacted]" everywhere (fmt verbs, JSON,
// hclog), so forgetting to scrub a struct before logging it leaks nothing; the
// one way to read it is Reveal, which a reader of the code can grep for.
package secret

import "encoding/json"

// Value is a secret string. The zero Value is the empty secret ("none").
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{v: s} }

// Reveal returns the secret itself; call it only where the secret is handed to
// a driver or a child process.
func (s Value) Reveal() string { return s.v }

// Empty reports whether no secret is set (for a password: use trust/peer auth).
func (s Value) Empty() bool { return s.v == "" }

const redacted = "[redacted]"

func (s Value) String() string   { return redacted }
func (s Value) GoString() string { return redacted }

// MarshalJSON keeps secrets out of every JSON document dbopsd writes.
func (s Value) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
