// Package pgdsn reads libpq's keyword/value connection strings
// ("host=db1 user=dbops dbname='the name'"), for the policy validator and the
// PostgreSQL engine alike.
package pgdsn

import "fmt"

// Keywords splits s into key/value pairs in order, as libpq does: values may
// be single-quoted, and a backslash escapes the next character. Error
// messages name keys, never values (a value may be a password).
func Keywords(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("%q is missing \"=\" (key=value pairs expected)", key)
		}
		i++
		skipSpace()
		val := make([]byte, 0, 16)
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val = append(val, s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				val = append(val, c)
			}
			if !closed {
				return nil, fmt.Errorf("the value of %q has no closing quote", key)
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val = append(val, s[i])
				i++
			}
		}
		if key == "" {
			return nil, fmt.Errorf("a value has no key (key=value pairs expected)")
		}
		out = append(out, [2]string{key, string(val)})
	}
}
