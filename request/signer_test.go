package request_test

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

// TestSignerFor checks the rules request sign and request approve apply
// before they sign: the same as the daemon's, so that a DBA learns of a
// signature the daemon would refuse before anyone relies on it.
func TestSignerFor(t *testing.T) {
	site := requesttest.NewSite(t)
	unsigned := func() *request.Request { return newRequest(t, draft("restore", "standby-pg", "queue_restored")) }
	bySigner := func(approvers ...string) *request.Request {
		return signed(t, site, draft("restore", "standby-pg", "queue_restored"), approvers...)
	}
	key := func(name string) request.Signing {
		return request.Signing{Key: site.Signer(t, name).PublicKey()}
	}
	with := func(s request.Signing, f func(*request.Signing)) request.Signing { f(&s); return s }
	anonymous := unsigned()
	anonymous.Requester = ""
	for _, tc := range []struct {
		name    string
		noCfg   bool
		r       *request.Request
		s       request.Signing
		want    string // signer name, or
		wantErr string // a part of the error
	}{
		{name: "requester", r: unsigned(), s: key(requesttest.DBA), want: requesttest.DBA},
		{name: "requester found by key", r: anonymous, s: key(requesttest.DBA2), want: requesttest.DBA2},
		{name: "not the named requester", r: unsigned(), s: key(requesttest.DBA2), wantErr: `names requester "zhang.wei", but this key is "li.na"'s`},
		{name: "key not in policy", r: unsigned(), s: key(requesttest.Outsider), wantErr: "is not a signer in"},
		{name: "claimed name differs", r: unsigned(), s: with(key(requesttest.DBA), func(s *request.Signing) { s.Name = requesttest.DBA2 }),
			wantErr: `belongs to signer "zhang.wei" in the policy, not "li.na"`},
		{name: "requester without role dba", r: anonymous, s: key(requesttest.Approver), wantErr: `does not have role "dba"`},
		{name: "approver", r: bySigner(), s: with(key(requesttest.Approver), func(s *request.Signing) { s.Approve = true }), want: requesttest.Approver},
		{name: "second approver", r: bySigner(requesttest.Approver), s: with(key(requesttest.Approver2), func(s *request.Signing) { s.Approve = true }),
			want: requesttest.Approver2},
		{name: "requester approving", r: bySigner(), s: with(key(requesttest.DBA), func(s *request.Signing) { s.Approve = true }),
			wantErr: "cannot approve it"},
		{name: "approving twice", r: bySigner(requesttest.Approver), s: with(key(requesttest.Approver), func(s *request.Signing) { s.Approve = true }),
			wantErr: `"wang.fang" has already signed`},
		{name: "approver without role", r: bySigner(), s: with(key(requesttest.Auditor), func(s *request.Signing) { s.Approve = true }),
			wantErr: `does not have role "approver"`},
		{name: "no policy: name given", noCfg: true, r: unsigned(), s: with(key(requesttest.DBA), func(s *request.Signing) { s.Name = requesttest.DBA }),
			want: requesttest.DBA},
		{name: "no policy: no name", noCfg: true, r: unsigned(), s: key(requesttest.DBA), wantErr: "pass --signer NAME"},
		{name: "no policy: requester approving", noCfg: true, r: bySigner(),
			s: with(key(requesttest.DBA2), func(s *request.Signing) { s.Name, s.Approve = requesttest.DBA, true }), wantErr: "cannot approve it"},
		{name: "no policy: same key approving again", noCfg: true, r: bySigner(requesttest.Approver),
			s: with(key(requesttest.Approver), func(s *request.Signing) { s.Name, s.Approve = "someone.else", true }), wantErr: "has already signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := site.Config
			if tc.noCfg {
				cfg = nil
			}
			got, err := request.SignerFor(cfg, tc.r, tc.s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SignerFor = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("SignerFor = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
