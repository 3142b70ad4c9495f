package engines

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// Helpers for the adapters' DSN parsers (ParseDSN of a Registration). The
// rule they share: no error text may repeat a password.

// ParseDSNURL is url.Parse without the *url.Error wrapper, whose text
// repeats the whole URL (and so any password in it).
func ParseDSNURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	return u, nil
}

// URLPassword finds a password in a URL's userinfo or in a password=
// query parameter (in any case), "" when there is none.
func URLPassword(u *url.URL) string {
	if p, ok := u.User.Password(); ok && p != "" {
		return p
	}
	for k, v := range u.Query() {
		if strings.EqualFold(k, "password") && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

// HostPort is host with port added when it has none; "" stays "".
func HostPort(host, port string) string {
	if host == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// DSNPasswordCandidates guesses where a password sits in a DSN that may not
// parse (URL userinfo, user:password@..., password=...), so that error
// messages and policy snippets can blank it out.
func DSNPasswordCandidates(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok {
				add(p)
			}
		}
	} else if at := strings.LastIndex(dsn, "@"); at >= 0 {
		if _, p, ok := strings.Cut(dsn[:at], ":"); ok {
			add(p)
		}
	}
	lower := strings.ToLower(dsn)
	for _, key := range []string{"password=", "password ="} {
		for off := 0; ; {
			j := strings.Index(lower[off:], key)
			if j < 0 {
				break
			}
			v := dsn[off+j+len(key):]
			v = strings.TrimLeft(v, " ")
			end := strings.IndexAny(v, " &;\t\n")
			if end < 0 {
				end = len(v)
			}
			add(strings.Trim(v[:end], "'"))
			off += j + len(key)
		}
	}
	return out
}

// scrub removes anything that may be a password of dsn from msg.
func scrub(msg, dsn string) string {
	for _, p := range DSNPasswordCandidates(dsn) {
		msg = strings.ReplaceAll(msg, p, "***")
	}
	return msg
}
