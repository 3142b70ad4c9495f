package request_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
	"github.com/dbopsd/dbopsd/request/sshsig"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

var now = time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)

func draft(action, target, as string) request.Draft {
	return request.Draft{Action: action, Requester: requesttest.DBA, Reason: "误删工单，恢复核对",
		Parameters: request.Parameters{Database: "queue", Target: target, As: as}}
}

func newRequest(t testing.TB, d request.Draft) *request.Request {
	t.Helper()
	r, err := request.New(d, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewMarshalParseRoundTrip(t *testing.T) {
	d := draft("restore", "standby-pg", "queue_restored")
	d.Parameters.Tables = []string{"public.tickets", "public.window_staff"}
	r := newRequest(t, d)
	if r.Expires.Sub(r.NotBefore) != request.DefaultLifetime || len(r.Nonce) != 64 || !strings.HasPrefix(r.ID, "R20260301-101500-") {
		t.Fatalf("new request: %+v", r)
	}
	site := requesttest.NewSite(t)
	site.Sign(t, r, requesttest.DBA)
	data := r.Marshal()
	back, err := request.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Canonical(), r.Canonical()) || !bytes.Equal(back.Marshal(), data) {
		t.Fatal("round trip changed the request")
	}
	if _, err := back.SignatureKey(0); err != nil {
		t.Fatal(err)
	}
}

// TestCanonical pins the canonical form: a change here breaks every request
// signed before it.
func TestCanonical(t *testing.T) {
	r := &request.Request{
		Version: 1, ID: "R1", Action: "drill", Requester: "zhang.wei", Reason: "季度演练\n\"quoted\" <b>",
		Parameters: request.Parameters{Database: "queue", Target: "scratch-pg", As: "queue_drill"},
		Created:    now, NotBefore: now, Expires: now.Add(time.Hour), Nonce: strings.Repeat("ab", 16),
	}
	want := `{"action":"drill","created":"2026-03-01T10:15:00Z","expires":"2026-03-01T11:15:00Z","id":"R1",` +
		`"nonce":"abababababababababababababababab","not_before":"2026-03-01T10:15:00Z",` +
		`"parameters":{"as":"queue_drill","backup":"","database":"queue","replace":false,"tables":[],"target":"scratch-pg"},` +
		`"reason":"季度演练\n\"quoted\" <b>","requester":"zhang.wei","version":1}`
	if got := string(r.Canonical()); got != want {
		t.Fatalf("canonical form changed:\n got %s\nwant %s", got, want)
	}
	// Signatures are not part of it.
	r.Signatures = []request.Signature{{Signer: "x", Signature: "-----BEGIN SSH SIGNATURE-----"}}
	if string(r.Canonical()) != want {
		t.Fatal("signatures changed the canonical bytes")
	}
}

func TestParseStrict(t *testing.T) {
	site := requesttest.NewSite(t)
	r := newRequest(t, draft("restore", "standby-pg", "queue_restored"))
	site.Sign(t, r, requesttest.DBA)
	good := string(r.Marshal())
	if _, err := request.Parse([]byte(good)); err != nil {
		t.Fatal(err)
	}
	repl := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct{ name, in, want string }{
		{"empty", "", "the file is empty"},
		{"not json", "restore queue please", "not valid JSON"},
		{"array", "[]", "want an object"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"trailing data", good + "{}", "unexpected data after the request"},
		{"trailing garbage", good + "x", "unexpected data after the request"},
		{"unknown field", repl(`"reason"`, `"approved": true, "reason"`), "approved: unknown field"},
		{"field in other case", repl(`"reason"`, `"Reason"`), "Reason: unknown field"},
		{"duplicate field", repl(`"reason"`, `"as": "x", "reason"`), "unknown field"},
		{"duplicate top-level key", repl(`"reason"`, `"requester": "li.na", "reason"`), "requester: duplicate field"},
		{"duplicate parameter", repl(`"replace": false`, `"replace": false, "replace": true`), "parameters.replace: duplicate field"},
		{"null", repl(`"backup": ""`, `"backup": null`), "parameters.backup: want a string, got null"},
		{"wrong type", repl(`"replace": false`, `"replace": "yes"`), "parameters.replace: want a boolean"},
		{"missing field", repl(`"nonce"`, `"nonce2"`), "nonce2: unknown field"},
		{"missing nonce", strings.Replace(good, `"nonce": "`+r.Nonce+`",`, "", 1), "nonce: missing"},
		{"bad version", repl(`"version": 1`, `"version": 2`), "version: 2 is not supported"},
		{"float version", repl(`"version": 1`, `"version": 1.0`), "want a small integer"},
		{"bad action", repl(`"action": "restore"`, `"action": "drop"`), "action: \"drop\" is not one of"},
		{"local time", repl(`"created": "2026-03-01T10:15:00Z"`, `"created": "2026-03-01T18:15:00+08:00"`), "want a UTC time"},
		{"fractional time", repl(`"created": "2026-03-01T10:15:00Z"`, `"created": "2026-03-01T10:15:00.5Z"`), "want a UTC time"},
		{"expires before not_before", repl(`"expires": "2026-03-01T12:15:00Z"`, `"expires": "2026-03-01T10:00:00Z"`), "is not after not_before"},
		{"valid for a month", repl(`"expires": "2026-03-01T12:15:00Z"`, `"expires": "2026-04-01T12:15:00Z"`), "at most 168h0m0s"},
		{"short nonce", repl(r.Nonce, "abcd"), "nonce: want 32 to 128"},
		{"bad as", repl(`"as": "queue_restored"`, `"as": "x; DROP DATABASE queue"`), "parameters.as"},
		{"no as", repl(`"as": "queue_restored"`, `"as": ""`), "parameters.as"},
		{"bad table", repl(`"tables": []`, `"tables": ["public."]`), "parameters.tables[0]"},
		{"same table twice", repl(`"tables": []`, `"tables": ["a.b", "a.b"]`), "listed twice"},
		{"control character", repl(`"requester": "zhang.wei"`, `"requester": "zhang\u0007wei"`), "requester"},
		{"invalid utf-8", repl(`"reason": "`, "\"reason\": \"\xff"), "not valid UTF-8"},
		{"not a signature", repl(`"signature": "-----BEGIN SSH SIGNATURE-----`, `"signature": "-----BEGIN PGP SIGNATURE-----`), "not an armored SSH signature"},
		{"huge", good[:len(good)-2] + strings.Repeat(" ", request.MaxSize) + "}\n", "more than 65536 bytes"},
		{"maintenance with a target", strings.NewReplacer(`"action": "restore"`, `"action": "maintenance"`).Replace(good), "do not apply"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := request.Parse([]byte(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, request.ErrMalformed) && !errors.Is(err, request.ErrTooLarge) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestSSHKeygenInterop signs a request with ssh-keygen and with this
// package, and checks each side accepts the other's signatures.
func TestSSHKeygenInterop(t *testing.T) {
	site := requesttest.NewSite(t)
	r := newRequest(t, draft("restore", "standby-pg", "queue_restored"))

	// The requester signs with ssh-keygen over `dbopsd request canonical`.
	k := site.Keys[requesttest.DBA]
	sig := sshtest.Sign(t, k.Private, request.Namespace, "", r.Canonical())
	if _, err := r.AddSignature(requesttest.DBA, sig); err != nil {
		t.Fatalf("ssh-keygen's signature: %v", err)
	}
	// Approvers sign here (Ed25519 and ECDSA); ssh-keygen verifies.
	site.Sign(t, r, requesttest.Approver)
	site.Sign(t, r, requesttest.Approver2)
	for i, s := range r.Signatures {
		if err := sshtest.Verify(t, s.Signer, site.Keys[s.Signer].Line, request.Namespace, []byte(s.Signature), r.Canonical()); err != nil {
			t.Fatalf("signature %d: %v", i+1, err)
		}
	}
	rep := request.Offline(site.Config, r, now, request.DefaultSkew)
	if !rep.OK() {
		t.Fatalf("refused: %s", rep.Reason())
	}
	// A signature for another namespace is refused.
	other := newRequest(t, draft("restore", "standby-pg", "queue_restored"))
	if _, err := other.AddSignature(requesttest.DBA, sshtest.Sign(t, k.Private, "file", "", other.Canonical())); !errors.Is(err, sshsig.ErrInvalid) {
		t.Fatalf("namespace file: %v", err)
	}
}

// TestAgentSigning signs through a real ssh-agent holding the keys.
func TestAgentSigning(t *testing.T) {
	site := requesttest.NewSite(t)
	sock := sshtest.StartAgent(t)
	r := newRequest(t, draft("drill", "scratch-pg", "queue_drill"))
	for _, name := range []string{requesttest.DBA, requesttest.Approver2} {
		k := site.Keys[name]
		sshtest.AgentAdd(t, sock, k.Private)
		pub, err := request.ReadPublicKey(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		signer, closer, err := request.AgentSigner(sock, pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Sign(signer, name); err != nil {
			t.Fatal(err)
		}
		closer.Close()
	}
	if _, _, err := request.AgentSigner(sock, nil); err == nil || !strings.Contains(err.Error(), "holds 2 keys") {
		t.Fatalf("ambiguous agent: %v", err)
	}
	if _, _, err := request.AgentSigner(sock, site.Keys[requesttest.Outsider].Pub); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("key not in agent: %v", err)
	}
	if rep := request.Offline(site.Config, r, now, request.DefaultSkew); !rep.OK() {
		t.Fatalf("refused: %s", rep.Reason())
	}
}

func TestRequired(t *testing.T) {
	cfg := &config.Config{Approvals: config.Approvals{Drill: 1, Restore: 2, Maintenance: 3}}
	for action, want := range map[string]int{"drill": 1, "restore": 2, "maintenance": 3, "other": 0} {
		if got := request.Required(cfg, action); got != want {
			t.Errorf("%s: %d", action, got)
		}
	}
}

func TestLoadEncryptedKey(t *testing.T) {
	k := sshtest.NewKeyWithPassphrase(t, t.TempDir(), "ed25519", "enc", "s3cret-pass")
	if _, err := request.LoadKey(k.Private, nil); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Fatalf("encrypted key without a passphrase source: %v", err)
	}
	if _, err := request.LoadKey(k.Private, func() ([]byte, error) { return []byte("wrong"), nil }); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	s, err := request.LoadKey(k.Private, func() ([]byte, error) { return []byte("s3cret-pass"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.PublicKey().Marshal(), k.Pub.Marshal()) {
		t.Fatal("another key")
	}
	if _, err := request.LoadKey(k.Public, nil); err == nil || !strings.Contains(err.Error(), "is a public key") {
		t.Fatalf("public key as --key: %v", err)
	}
}
