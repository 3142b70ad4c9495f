package blobsrv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// sasVersion is the signed version the listener issues; it verifies any
// version from sasMinVersion on, whose string-to-sign has the same fields.
const (
	sasVersion    = "2021-12-02"
	sasMinVersion = "2020-12-06"
	sasTimeFormat = "2006-01-02T15:04:05Z"
)

// Permissions a SAS grants, as the letters of its sp field.
const (
	PermRead   = "r"
	PermWrite  = "w"
	PermCreate = "c"
	PermDelete = "d"
	PermList   = "l"
	PermAdd    = "a"
)

// sasFields are the signed fields of a service SAS, in the order of the
// string-to-sign.
type sasFields struct {
	perms, start, expiry, identifier, ip, protocol, version, resource string
	snapshot, encScope, rscc, rscd, rsce, rscl, rsct                  string
}

func sasFromQuery(q url.Values) sasFields {
	return sasFields{
		perms: q.Get("sp"), start: q.Get("st"), expiry: q.Get("se"), identifier: q.Get("si"),
		ip: q.Get("sip"), protocol: q.Get("spr"), version: q.Get("sv"), resource: q.Get("sr"),
		snapshot: q.Get("sst"), encScope: q.Get("ses"),
		rscc: q.Get("rscc"), rscd: q.Get("rscd"), rsce: q.Get("rsce"), rscl: q.Get("rscl"), rsct: q.Get("rsct"),
	}
}

// stringToSign is Azure's for a service SAS of version 2020-12-06 and later.
func (f sasFields) stringToSign(canonical string) string {
	return strings.Join([]string{
		f.perms, f.start, f.expiry, canonical, f.identifier, f.ip, f.protocol, f.version,
		f.resource, f.snapshot, f.encScope, f.rscc, f.rscd, f.rsce, f.rscl, f.rsct,
	}, "\n")
}

func canonicalName(account, container, blob string) string {
	if blob == "" {
		return "/blob/" + account + "/" + container
	}
	return "/blob/" + account + "/" + container + "/" + blob
}

func sign(key []byte, s string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// containerSAS returns a container SAS (sr=c) granting perms until expiry,
// as the query string SQL Server's CREATE CREDENTIAL takes as its SECRET
// (without the leading '?').
func (s *Server) containerSAS(container, perms string, expiry time.Time) string {
	f := sasFields{perms: perms, expiry: expiry.UTC().Format(sasTimeFormat), protocol: "https", version: sasVersion, resource: "c"}
	q := url.Values{}
	q.Set("sv", f.version)
	q.Set("spr", f.protocol)
	q.Set("se", f.expiry)
	q.Set("sr", f.resource)
	q.Set("sp", f.perms)
	q.Set("sig", sign(s.key, f.stringToSign(canonicalName(s.account, container, ""))))
	return q.Encode()
}

// errAuth and errPerm distinguish a SAS that does not authenticate the
// request from one that does but does not allow it.
var (
	errAuth = errors.New("AuthenticationFailed")
	errPerm = errors.New("AuthorizationPermissionMismatch")
)

// checkSAS verifies the SAS in q for a request on container/blob needing
// one of the permissions in need, at now, arriving over TLS or not.
func (s *Server) checkSAS(q url.Values, container, blob, need string, now time.Time, tls bool) error {
	sig := q.Get("sig")
	if sig == "" {
		return fmt.Errorf("%w: the request carries no shared access signature", errAuth)
	}
	f := sasFromQuery(q)
	if f.version < sasMinVersion {
		return fmt.Errorf("%w: signed version %q is older than %s, the oldest this listener verifies", errAuth, f.version, sasMinVersion)
	}
	if f.identifier != "" || f.ip != "" {
		return fmt.Errorf("%w: stored access policies and IP ranges are not issued by this listener", errAuth)
	}
	var canonical string
	switch f.resource {
	case "c":
		canonical = canonicalName(s.account, container, "")
	case "b":
		if blob == "" {
			return fmt.Errorf("%w: a blob signature does not grant container operations", errAuth)
		}
		canonical = canonicalName(s.account, container, blob)
	default:
		return fmt.Errorf("%w: signed resource %q is not a container or blob", errAuth, f.resource)
	}
	want := sign(s.key, f.stringToSign(canonical))
	got, err := base64.StdEncoding.DecodeString(sig)
	wantRaw, _ := base64.StdEncoding.DecodeString(want)
	if err != nil || !hmac.Equal(got, wantRaw) {
		return fmt.Errorf("%w: signature did not match", errAuth)
	}
	expiry, err := time.Parse(sasTimeFormat, f.expiry)
	if err != nil {
		return fmt.Errorf("%w: signed expiry %q is not a time", errAuth, f.expiry)
	}
	if !now.Before(expiry) {
		return fmt.Errorf("%w: signature expired at %s", errAuth, f.expiry)
	}
	if f.start != "" {
		start, err := time.Parse(sasTimeFormat, f.start)
		if err != nil {
			return fmt.Errorf("%w: signed start %q is not a time", errAuth, f.start)
		}
		if now.Before(start) {
			return fmt.Errorf("%w: signature not valid before %s", errAuth, f.start)
		}
	}
	if f.protocol == "https" && !tls {
		return fmt.Errorf("%w: signature valid over HTTPS only", errAuth)
	}
	if !strings.ContainsAny(f.perms, need) {
		return fmt.Errorf("%w: signature grants %q, the operation needs one of %q", errPerm, f.perms, need)
	}
	return nil
}
