package request_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

// gate is a Gate over a fresh state directory, with a clock at now and a
// target server on which only the databases in existing exist.
type gate struct {
	*request.Gate
	site     *requesttest.Site
	existing map[string]bool
	checked  []string // databases the exists callback was asked about
}

func newGate(t *testing.T, site *requesttest.Site) *gate {
	t.Helper()
	g := &gate{site: site, existing: map[string]bool{"queue": true}}
	g.Gate = &request.Gate{Config: site.Config, Now: func() time.Time { return now }}
	g.open(t)
	g.Exists = func(_ context.Context, target *config.RestoreTarget, name string) (bool, error) {
		g.checked = append(g.checked, target.Name+"/"+name)
		return g.existing[name], nil
	}
	return g
}

// open (re)opens the nonce store and register, as a daemon start does.
func (g *gate) open(t *testing.T) {
	t.Helper()
	nonces, err := request.OpenNonceStore(g.site.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := register.Open(g.site.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nonces.Close(); reg.Close() })
	g.Nonces, g.Register = nonces, reg
}

func (g *gate) restart(t *testing.T) {
	t.Helper()
	g.Nonces.Close()
	g.Register.Close()
	g.open(t)
}

func (g *gate) entries(t *testing.T) []register.Entry {
	t.Helper()
	es, err := register.ReadFile(g.Register.Path())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// signed makes a request signed by the requester and approvers.
func signed(t testing.TB, site *requesttest.Site, d request.Draft, approvers ...string) *request.Request {
	t.Helper()
	r := newRequest(t, d)
	site.Sign(t, r, r.Requester)
	for _, a := range approvers {
		site.Sign(t, r, a)
	}
	return r
}

func goodRestore(t *testing.T, site *requesttest.Site) *request.Request {
	return signed(t, site, draft("restore", "standby-pg", "queue_restored"), requesttest.Approver, requesttest.Approver2)
}

// TestAccepted follows a request that passes through the register: received,
// approvals, accepted, started, finished.
func TestAccepted(t *testing.T) {
	site := requesttest.NewSite(t)
	g := newGate(t, site)
	r := goodRestore(t, site)
	acc, err := g.Receive(context.Background(), bytes.NewReader(r.Marshal()), "unix socket uid=1001")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Requester != requesttest.DBA || strings.Join(acc.Approvers, ",") != "wang.fang,zhao.min" ||
		acc.Target.Name != "standby-pg" || acc.Database.Name != "queue" || acc.Digest != r.Digest() {
		t.Fatalf("accepted: %+v", acc)
	}
	if strings.Join(g.checked, ",") != "standby-pg/queue_restored" {
		t.Fatalf("exists asked about %v", g.checked)
	}
	if err := g.Started(acc, "20260301T010000.000Z-ab12"); err != nil {
		t.Fatal(err)
	}
	if err := g.Finished(acc, "20260301T010000.000Z-ab12", 95*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range g.entries(t) {
		kinds = append(kinds, string(e.Kind))
		if e.Kind != register.Received && e.Ref != 1 {
			t.Fatalf("entry %d refers to %d", e.Seq, e.Ref)
		}
	}
	if got := strings.Join(kinds, ","); got != "received,approved,approved,accepted,started,finished" {
		t.Fatalf("register: %s", got)
	}
	if rcv := g.entries(t)[0]; strings.Join(rcv.Signers, ",") != "zhang.wei,wang.fang,zhao.min" || rcv.Source != "unix socket uid=1001" {
		t.Fatalf("receipt: %+v", rcv)
	}
	rows := register.Rows(g.entries(t))
	if len(rows) != 1 || rows[0].Outcome != register.Succeeded || rows[0].Backup != "20260301T010000.000Z-ab12" {
		t.Fatalf("rows: %+v", rows)
	}
	if rep, _ := register.VerifyFile(g.Register.Path(), nil); !rep.OK() {
		t.Fatalf("register: %v", rep.Problems)
	}
}

// TestAbuse submits every kind of bad request and checks each is refused
// with a clear reason, recorded as a refusal, and accepted nowhere.
func TestAbuse(t *testing.T) {
	site := requesttest.NewSite(t)
	resign := func(r *request.Request, names ...string) *request.Request {
		r.Signatures = nil
		for _, n := range names {
			site.Sign(t, r, n)
		}
		return r
	}
	cases := []struct {
		name string
		file func(t *testing.T) []byte
		at   time.Time // the daemon's clock; zero = now
		want string
	}{
		{"forged signature", func(t *testing.T) []byte {
			r := goodRestore(t, site)
			r.Signatures[0].Signature = flipSignatureByte(t, r.Signatures[0].Signature)
			return r.Marshal()
		}, time.Time{}, "signature 1 (zhang.wei) does not match the request: the request was changed after it was signed, or the signature is forged"},
		{"signature by an unknown key", func(t *testing.T) []byte {
			r := newRequest(t, draft("restore", "standby-pg", "queue_restored"))
			if err := r.Sign(site.Signer(t, requesttest.Outsider), requesttest.DBA); err != nil {
				t.Fatal(err)
			}
			site.Sign(t, r, requesttest.Approver)
			site.Sign(t, r, requesttest.Approver2)
			return r.Marshal()
		}, time.Time{}, "which is not a signer in the policy"},
		{"signature under another signer's name", func(t *testing.T) []byte {
			r := goodRestore(t, site)
			r.Signatures[1].Signer = requesttest.Approver2
			return r.Marshal()
		}, time.Time{}, `signature 2 says signer "zhao.min" but was made with the key of signer "wang.fang"`},
		{"requester without role dba", func(t *testing.T) []byte {
			d := draft("restore", "standby-pg", "queue_restored")
			d.Requester = requesttest.Auditor
			return signed(t, site, d, requesttest.Approver, requesttest.Approver2).Marshal()
		}, time.Time{}, `requester "chen.jie" does not have role "dba" (roles: auditor)`},
		{"approver without role approver", func(t *testing.T) []byte {
			return signed(t, site, draft("restore", "standby-pg", "queue_restored"), requesttest.Approver, requesttest.DBA2).Marshal()
		}, time.Time{}, `signature 3: "li.na" does not have role "approver" (roles: dba)`},
		{"self-approval", func(t *testing.T) []byte {
			return signed(t, site, draft("drill", "scratch-pg", "queue_drill"), requesttest.DBA).Marshal()
		}, time.Time{}, `the requester "zhang.wei" cannot approve their own request`},
		{"the same approver twice", func(t *testing.T) []byte {
			return signed(t, site, draft("restore", "standby-pg", "queue_restored"), requesttest.Approver, requesttest.Approver).Marshal()
		}, time.Time{}, `"wang.fang" already approved; one person counts once`},
		{"too few approvals", func(t *testing.T) []byte {
			return signed(t, site, draft("restore", "standby-pg", "queue_restored"), requesttest.Approver).Marshal()
		}, time.Time{}, "a restore needs 2 approval(s) (approvals { restore = 2 }), it has 1"},
		{"unsigned", func(t *testing.T) []byte {
			return newRequest(t, draft("drill", "scratch-pg", "queue_drill")).Marshal()
		}, time.Time{}, "the request is not signed"},
		{"requester not first", func(t *testing.T) []byte {
			return resign(newRequest(t, draft("drill", "scratch-pg", "queue_drill")), requesttest.Approver, requesttest.DBA).Marshal()
		}, time.Time{}, `the first signature must be the requester's ("zhang.wei"), but it is "wang.fang"'s`},
		{"expired", func(t *testing.T) []byte { return goodRestore(t, site).Marshal() },
			now.Add(request.DefaultLifetime + request.DefaultSkew + time.Second), "expired at 2026-03-01T12:15:00Z"},
		{"expired one second ago", func(t *testing.T) []byte { return goodRestore(t, site).Marshal() },
			now.Add(request.DefaultLifetime + time.Second), "expired at 2026-03-01T12:15:00Z (1s ago; expiry is exact on this clock)"},
		{"not yet valid", func(t *testing.T) []byte {
			d := draft("restore", "standby-pg", "queue_restored")
			d.NotBefore = now.Add(time.Hour)
			return signed(t, site, d, requesttest.Approver, requesttest.Approver2).Marshal()
		}, time.Time{}, "not valid yet: valid from 2026-03-01T11:15:00Z (in 1h0m0s)"},
		{"parameters changed after signing", func(t *testing.T) []byte {
			r := goodRestore(t, site)
			r.Parameters.Replace = true
			r.Parameters.As = "queue"
			return r.Marshal()
		}, time.Time{}, "none of the 3 signatures matches the request: it was changed after it was signed"},
		{"parameters changed in the file", func(t *testing.T) []byte {
			data := goodRestore(t, site).Marshal()
			return bytes.Replace(data, []byte(`"target": "standby-pg"`), []byte(`"target": "prod-pg"`), 1)
		}, time.Time{}, "none of the 3 signatures matches the request: it was changed after it was signed"},
		{"a drill aimed at a non-scratch target", func(t *testing.T) []byte {
			return signed(t, site, draft("drill", "standby-pg", "queue_drill"), requesttest.Approver).Marshal()
		}, time.Time{}, `drills go only to scratch targets; restore_target "standby-pg" is not scratch`},
		{"a restore onto a target without allow_restore", func(t *testing.T) []byte {
			return signed(t, site, draft("restore", "prod-pg", "queue_restored"), requesttest.Approver, requesttest.Approver2).Marshal()
		}, time.Time{}, `restore_target "prod-pg" is not a scratch target and does not have allow_restore = true`},
		{"a restore onto an existing database without signed replace", func(t *testing.T) []byte {
			return signed(t, site, draft("restore", "standby-pg", "queue"), requesttest.Approver, requesttest.Approver2).Marshal()
		}, time.Time{}, `database "queue" already exists on standby-pg and replace is not in the signed parameters`},
		{"a reserved name", func(t *testing.T) []byte {
			return signed(t, site, draft("drill", "scratch-pg", "dbopsd_verify_queue_x"), requesttest.Approver).Marshal()
		}, time.Time{}, "reserved for automated verification"},
		{"an unknown database", func(t *testing.T) []byte {
			d := draft("drill", "scratch-pg", "x")
			d.Parameters.Database = "payroll"
			return signed(t, site, d, requesttest.Approver).Marshal()
		}, time.Time{}, `database "payroll" is not in the policy`},
		{"engines differ", func(t *testing.T) []byte {
			return signed(t, site, draft("drill", "scratch-mysql", "x"), requesttest.Approver).Marshal()
		}, time.Time{}, `restore_target "scratch-mysql" is mysql, database "queue" is postgres`},
		{"truncated file", func(t *testing.T) []byte {
			data := goodRestore(t, site).Marshal()
			return data[:len(data)*2/3]
		}, time.Time{}, "truncated: the file ends inside the request"},
		{"huge file", func(t *testing.T) []byte {
			return append(goodRestore(t, site).Marshal(), bytes.Repeat([]byte(" "), request.MaxSize)...)
		}, time.Time{}, "the request file is larger than 65536 bytes"},
		{"malformed file", func(t *testing.T) []byte { return []byte("恢复 queue，谢谢") }, time.Time{}, "not valid JSON"},
		{"unknown field", func(t *testing.T) []byte {
			return bytes.Replace(goodRestore(t, site).Marshal(), []byte(`"reason"`), []byte(`"approved_by_boss": true, "reason"`), 1)
		}, time.Time{}, "approved_by_boss: unknown field"},
		{"duplicate key", func(t *testing.T) []byte {
			return bytes.Replace(goodRestore(t, site).Marshal(), []byte(`"replace": false`), []byte(`"replace": false, "replace": true`), 1)
		}, time.Time{}, "parameters.replace: duplicate field"},
		{"trailing data", func(t *testing.T) []byte {
			return append(goodRestore(t, site).Marshal(), []byte(`{"action":"restore"}`)...)
		}, time.Time{}, "unexpected data after the request object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGate(t, site)
			if !c.at.IsZero() {
				g.Now = func() time.Time { return c.at }
			}
			data := c.file(t)
			acc, err := g.Receive(context.Background(), bytes.NewReader(data), "test")
			assertRefused(t, g, acc, err, c.want)
		})
	}
}

// assertRefused checks a refusal: the reason, and the register's last two
// entries (received, refused with the same reason), and no acceptance.
func assertRefused(t *testing.T, g *gate, acc *request.Accepted, err error, want string) {
	t.Helper()
	var ref *request.Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("want a refusal, got accepted=%v err=%v", acc != nil, err)
	}
	if acc != nil {
		t.Fatal("refused and accepted")
	}
	if !strings.Contains(ref.Reason, want) {
		t.Fatalf("reason %q\ndoes not say %q", ref.Reason, want)
	}
	es := g.entries(t)
	last := es[len(es)-1]
	if last.Kind != register.Refused || last.Refusal != ref.Reason || last.Seq != ref.Seq {
		t.Fatalf("register does not record the refusal: %+v", last)
	}
	if rcv := es[last.Ref-1]; rcv.Kind != register.Received || rcv.FileSHA256 == "" {
		t.Fatalf("refusal does not refer to a receipt: %+v", rcv)
	}
	for _, e := range es {
		if e.Kind == register.Accepted && e.Ref == last.Ref {
			t.Fatal("the refused request was also accepted")
		}
	}
	t.Logf("refused: %s", ref.Reason)
}

// TestReplay submits the same request twice, then again after the nonce
// store and register are reopened (a daemon restart), and a different
// request reusing the id.
func TestReplay(t *testing.T) {
	site := requesttest.NewSite(t)
	g := newGate(t, site)
	r := goodRestore(t, site)
	ctx := context.Background()
	if _, err := g.Receive(ctx, bytes.NewReader(r.Marshal()), "test"); err != nil {
		t.Fatal(err)
	}
	acc, err := g.Receive(ctx, bytes.NewReader(r.Marshal()), "test")
	assertRefused(t, g, acc, err, "nonce: replayed request: its nonce was already used by request "+r.ID)
	if !errors.Is(err, request.ErrReplayed) {
		t.Fatalf("refusal does not wrap ErrReplayed: %v", err)
	}

	g.restart(t)
	acc, err = g.Receive(ctx, bytes.NewReader(r.Marshal()), "test")
	assertRefused(t, g, acc, err, "its nonce was already used")

	// Same id, new nonce: also refused.
	r2 := newRequest(t, draft("restore", "standby-pg", "queue_restored"))
	r2.ID = r.ID
	site.Sign(t, r2, requesttest.DBA)
	site.Sign(t, r2, requesttest.Approver)
	site.Sign(t, r2, requesttest.Approver2)
	acc, err = g.Receive(ctx, bytes.NewReader(r2.Marshal()), "test")
	assertRefused(t, g, acc, err, "request id "+r.ID+" was already used")

	// A request refused for another reason keeps its nonce: completed, it passes.
	r3 := signed(t, site, draft("restore", "standby-pg", "queue_r3"), requesttest.Approver)
	acc, err = g.Receive(ctx, bytes.NewReader(r3.Marshal()), "test")
	assertRefused(t, g, acc, err, "needs 2 approval(s)")
	site.Sign(t, r3, requesttest.Approver2)
	if _, err := g.Receive(ctx, bytes.NewReader(r3.Marshal()), "test"); err != nil {
		t.Fatalf("completed request: %v", err)
	}
	if rep, _ := register.VerifyFile(g.Register.Path(), nil); !rep.OK() {
		t.Fatalf("register: %v", rep.Problems)
	}
}

// TestConcurrentReplay submits one request from many goroutines: exactly
// one is accepted.
func TestConcurrentReplay(t *testing.T) {
	site := requesttest.NewSite(t)
	g := newGate(t, site)
	g.Exists = func(context.Context, *config.RestoreTarget, string) (bool, error) { return false, nil }
	data := goodRestore(t, site).Marshal()
	results := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := g.Receive(context.Background(), bytes.NewReader(data), "test")
			results <- err
		}()
	}
	accepted := 0
	for range 8 {
		err := <-results
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, request.ErrReplayed):
			t.Errorf("unexpected: %v", err)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d accepted", accepted)
	}
}

func TestReplaceAndTableRestore(t *testing.T) {
	site := requesttest.NewSite(t)
	g := newGate(t, site)
	ctx := context.Background()
	// Replace signed: the existing database may be replaced.
	d := draft("restore", "standby-pg", "queue")
	d.Parameters.Replace = true
	if _, err := g.Receive(ctx, bytes.NewReader(signed(t, site, d, requesttest.Approver, requesttest.Approver2).Marshal()), "test"); err != nil {
		t.Fatal(err)
	}
	// A table restore into an existing database: the engine refuses existing
	// tables without replace, so the database itself may exist.
	d = draft("restore", "standby-pg", "queue")
	d.Parameters.Tables = []string{"public.tickets"}
	acc, err := g.Receive(ctx, bytes.NewReader(signed(t, site, d, requesttest.Approver, requesttest.Approver2).Marshal()), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Tables) != 1 || acc.Tables[0].Schema != "public" || acc.Tables[0].Name != "tickets" {
		t.Fatalf("tables %+v", acc.Tables)
	}
	if len(g.checked) != 0 {
		t.Fatalf("exists was asked: %v", g.checked)
	}
	// The existence check failing refuses (fail closed), with the cause.
	g.Exists = func(context.Context, *config.RestoreTarget, string) (bool, error) {
		return false, fmt.Errorf("connection refused")
	}
	acc, err = g.Receive(ctx, bytes.NewReader(goodRestore(t, site).Marshal()), "test")
	assertRefused(t, g, acc, err, "cannot check whether \"queue_restored\" exists on standby-pg: connection refused")
}

// flipSignatureByte changes the last byte of the signature blob, keeping the
// armor valid: a forgery that claims the requester's key.
func flipSignatureByte(t *testing.T, armored string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(armored), "\n")
	blob, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	blob[len(blob)-1] ^= 0x01
	return lines[0] + "\n" + base64.StdEncoding.EncodeToString(blob) + "\n" + lines[len(lines)-1] + "\n"
}
