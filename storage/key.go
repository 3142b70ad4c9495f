package storage

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidKey is the error (wrapped) for a key no backend accepts.
var ErrInvalidKey = errors.New("invalid object key")

// CheckKey reports whether key is valid on every backend: non-empty valid
// UTF-8, '/'-separated segments that are neither empty, "." nor "..", no
// leading or trailing '/', no NUL or backslash. Backends refuse other keys,
// so that a repository can move between them unchanged.
func CheckKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	switch {
	case key == "":
		return bad("empty")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.ContainsAny(key, "\x00\\"):
		return bad("contains NUL or backslash")
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment (leading, trailing or double '/')")
		case ".", "..":
			return bad(`"." or ".." segment`)
		}
	}
	return nil
}
