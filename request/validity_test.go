package request_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

// validity is the verdict and detail of Offline's validity check at at.
func validity(site *requesttest.Site, r *request.Request, at time.Time) request.Result {
	for _, res := range request.Offline(site.Config, r, at, request.DefaultSkew).Results {
		if res.Check == request.CheckValidity {
			return res
		}
	}
	return request.Result{}
}

// TestValidityEdges: expiry is exact on the daemon's clock; the skew
// allowance applies to not_before only. An expired request used to be
// accepted for DefaultSkew (two minutes) more, and `request verify` printed
// "pass … valid until" after the expiry.
func TestValidityEdges(t *testing.T) {
	site := requesttest.NewSite(t)
	r := goodRestore(t, site)
	nb, exp := r.NotBefore, r.Expires
	for _, tc := range []struct {
		name string
		at   time.Time
		pass bool
		want string
	}{
		{"before not_before less the skew", nb.Add(-request.DefaultSkew - time.Second), false, "not valid yet: valid from 2026-03-01T10:15:00Z"},
		{"at not_before less the skew", nb.Add(-request.DefaultSkew), true, "accepted from 2m0s before not_before for clock skew; expiry is exact on this clock"},
		{"at not_before", nb, true, "valid from 2026-03-01T10:15:00Z until 2026-03-01T12:15:00Z"},
		{"a nanosecond before expiry", exp.Add(-time.Nanosecond), true, "valid from"},
		{"at expiry", exp, false, "expired at 2026-03-01T12:15:00Z (0s ago; expiry is exact on this clock)"},
		{"a second after expiry", exp.Add(time.Second), false, "expired at 2026-03-01T12:15:00Z (1s ago"},
		{"within the old skew after expiry", exp.Add(request.DefaultSkew - time.Second), false, "expired at 2026-03-01T12:15:00Z (1m59s ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := validity(site, r, tc.at)
			if (res.Verdict == request.Pass) != tc.pass || !strings.Contains(res.Detail, tc.want) {
				t.Errorf("at %s: %s %q, want pass=%v and %q", tc.at.Format(time.RFC3339Nano), res.Verdict, res.Detail, tc.pass, tc.want)
			}
		})
	}
	if got := request.ValidityRule(r, 0); got != "valid from 2026-03-01T10:15:00Z until 2026-03-01T12:15:00Z (exact on this clock)" {
		t.Errorf("ValidityRule without skew: %q", got)
	}
}

// FuzzValidity checks the rule at any instant around a request's window:
// it passes exactly when not_before - DefaultSkew <= now < expires.
//
// CI runs it briefly: go test -run=^$ -fuzz=FuzzValidity -fuzztime=10s ./request/
func FuzzValidity(f *testing.F) {
	site := requesttest.NewSite(f)
	r := signed(f, site, draft("drill", "scratch-pg", "queue_drill"), requesttest.Approver)
	for _, off := range []time.Duration{0, -1, 1, -request.DefaultSkew, -request.DefaultSkew - 1, request.DefaultLifetime,
		request.DefaultLifetime - 1, request.DefaultLifetime + 1, request.DefaultLifetime + request.DefaultSkew} {
		f.Add(int64(off))
	}
	f.Fuzz(func(t *testing.T, off int64) {
		at := r.NotBefore.Add(time.Duration(off))
		want := !at.Before(r.NotBefore.Add(-request.DefaultSkew)) && at.Before(r.Expires)
		if res := validity(site, r, at); (res.Verdict == request.Pass) != want {
			t.Fatalf("at not_before%+v: %s %q, want pass=%v", time.Duration(off), res.Verdict, res.Detail, want)
		}
	})
}
