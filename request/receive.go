package request

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/register"
)

// ExistsFunc reports whether database name exists on the server of target.
// The daemon plugs in the engine's DatabaseExists.
type ExistsFunc func(ctx context.Context, target *config.RestoreTarget, name string) (bool, error)

// Gate decides on requests the daemon receives and records every decision in
// the register. Its fields are read without locking: on a configuration
// reload, make a new Gate with the new Config that shares Nonces and
// Register, rather than assigning to the Config of a Gate in use.
type Gate struct {
	Config   *config.Config
	Nonces   *NonceStore
	Register *register.Register
	Exists   ExistsFunc
	// Now is the clock (nil: time.Now); Skew the allowance for clock skew
	// on not_before (0: DefaultSkew). Expiry is exact.
	Now  func() time.Time
	Skew time.Duration
}

// Refusal is the error Receive returns for a refused request. It has been
// recorded in the register.
type Refusal struct {
	Reason  string
	Request *Request // nil when the file did not parse
	Report  *Report  // the checks that ran; nil when the file did not parse
	Seq     int64    // the register entry recording the refusal
	Err     error    // the underlying error, if any (ErrMalformed, ErrReplayed, ...)
}

func (e *Refusal) Error() string { return "request refused: " + e.Reason }
func (e *Refusal) Unwrap() error { return e.Err }

// Accepted is a request that passed every check, normalised for the runner:
// the policy blocks it names, looked up, and its tables parsed.
type Accepted struct {
	Request   *Request
	Digest    string // SHA-256 of the canonical bytes
	Requester string
	Approvers []string
	Database  *config.Database
	Target    *config.RestoreTarget // nil for maintenance
	Tables    []engines.TableRef    // empty: the whole database
	// Ref is the register entry that recorded the request's receipt; the
	// start and outcome entries refer to it.
	Ref int64
}

// Receive is the daemon's entry point for a request file sent to it: it reads
// at most MaxSize bytes from body, parses the request strictly, runs every
// check (signatures, roles, approvals, validity, target, the target database
// not existing unless replace is signed, the nonce never used), and returns
// the accepted request, or a *Refusal saying why not. Both the receipt and
// the decision are appended to the register; source (e.g. "unix socket
// uid=1001") is recorded with the receipt.
//
// A check that cannot run (the nonce store or the target server
// unavailable) refuses the request too, with the cause in Refusal.Err. Any
// error other than a *Refusal means the register could not be written: the
// request was not accepted either. Checks run in the order of the Check
// constants, and the nonce is claimed last, so that a request refused for
// another reason (e.g. one approval short) can be completed and submitted
// again.
func (g *Gate) Receive(ctx context.Context, body io.Reader, source string) (*Accepted, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	skew := g.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	r, data, err := Read(body)
	sum := sha256.Sum256(data)
	received := register.Entry{Kind: register.Received, FileSHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Source: source}
	if r != nil {
		received = entryFor(received, r)
	}
	rcv, aerr := g.Register.Append(received)
	if aerr != nil {
		return nil, fmt.Errorf("recording a received request: %w", aerr)
	}
	refuse := func(reason string, rep *Report, cause error) (*Accepted, error) {
		e := register.Entry{Kind: register.Refused, Ref: rcv.Seq, Refusal: reason}
		if r != nil {
			e.Request, e.Digest = r.ID, r.Digest()
		}
		e, aerr := g.Register.Append(e)
		if aerr != nil {
			return nil, fmt.Errorf("recording the refusal of a request (%s): %w", reason, aerr)
		}
		return nil, &Refusal{Reason: reason, Request: r, Report: rep, Seq: e.Seq, Err: cause}
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return refuse(fmt.Sprintf("the request file is larger than %d bytes", MaxSize), nil, err)
		}
		return refuse(err.Error(), nil, err)
	}

	rep := Offline(g.Config, r, now(), skew)
	if !rep.OK() {
		return refuse(rep.Reason(), rep, nil)
	}
	if err := g.Nonces.Check(ctx, r); err != nil {
		rep.add(CheckNonce, Fail, "%s", err)
		return refuse(rep.Reason(), rep, err)
	}
	acc := &Accepted{Request: r, Digest: r.Digest(), Requester: rep.Requester, Approvers: rep.Approvers,
		Database: g.Config.Databases[r.Parameters.Database], Ref: rcv.Seq}
	for _, s := range r.Parameters.Tables {
		t, _ := engines.ParseTableRef(s) // Parse checked it
		acc.Tables = append(acc.Tables, t)
	}
	if r.Action != ActionMaintenance {
		acc.Target = g.Config.RestoreTargets[r.Parameters.Target]
		detail, ok, err := g.checkAbsent(ctx, acc)
		if !ok {
			rep.add(CheckAbsent, Fail, "%s", detail)
			return refuse(rep.Reason(), rep, err)
		}
		rep.add(CheckAbsent, Pass, "%s", detail)
	}
	if err := g.Nonces.Claim(ctx, r, now()); err != nil {
		rep.add(CheckNonce, Fail, "%s", err)
		return refuse(rep.Reason(), rep, err)
	}
	for _, a := range acc.Approvers {
		if _, err := g.Register.Append(register.Entry{Kind: register.Approved, Ref: rcv.Seq, Request: r.ID, Digest: acc.Digest, Signer: a}); err != nil {
			return nil, fmt.Errorf("recording an approval of request %s: %w", r.ID, err)
		}
	}
	if _, err := g.Register.Append(register.Entry{Kind: register.Accepted, Ref: rcv.Seq, Request: r.ID, Digest: acc.Digest,
		Requester: acc.Requester, Approvers: acc.Approvers}); err != nil {
		return nil, fmt.Errorf("recording the acceptance of request %s: %w", r.ID, err)
	}
	return acc, nil
}

// checkAbsent enforces: the database to create must not exist on the target
// unless replace is signed. A table restore goes into a database that may
// exist (the engine refuses existing tables unless replace), so only whole
// database restores are checked here.
func (g *Gate) checkAbsent(ctx context.Context, a *Accepted) (detail string, ok bool, err error) {
	p := a.Request.Parameters
	switch {
	case p.Replace:
		return fmt.Sprintf("replace is signed: an existing %q on %s will be replaced", p.As, p.Target), true, nil
	case len(p.Tables) > 0:
		return fmt.Sprintf("table restore into %q on %s; existing tables are refused without replace", p.As, p.Target), true, nil
	case g.Exists == nil:
		return fmt.Sprintf("cannot check whether %q exists on %s", p.As, p.Target), false, errors.New("no database-existence check configured")
	}
	exists, err := g.Exists(ctx, a.Target, p.As)
	if err != nil {
		return fmt.Sprintf("cannot check whether %q exists on %s: %v", p.As, p.Target, err), false, err
	}
	if exists {
		return fmt.Sprintf("database %q already exists on %s and replace is not in the signed parameters", p.As, p.Target), false, nil
	}
	return fmt.Sprintf("%q does not exist on %s", p.As, p.Target), true, nil
}

// entryFor copies the request's fields into a register entry.
func entryFor(e register.Entry, r *Request) register.Entry {
	p := r.Parameters
	e.Request, e.Digest, e.Action = r.ID, r.Digest(), r.Action
	e.Database, e.Backup, e.Target, e.As, e.Tables, e.Replace = p.Database, p.Backup, p.Target, p.As, p.Tables, p.Replace
	e.Requester, e.Reason = r.Requester, r.Reason
	if len(e.Tables) == 0 {
		e.Tables = nil
	}
	for _, s := range r.Signatures {
		e.Signers = append(e.Signers, s.Signer)
	}
	if r.Action == ActionMaintenance {
		e.Note = maintenanceNote(r)
	}
	return e
}

// Started records that the work of an accepted request began, on backupID
// (the backup actually used, once "newest" is resolved).
func (g *Gate) Started(a *Accepted, backupID string) error {
	_, err := g.Register.Append(register.Entry{Kind: register.Started, Ref: a.Ref, Request: a.Request.ID, Digest: a.Digest, Backup: backupID})
	if err != nil {
		return fmt.Errorf("recording the start of request %s: %w", a.Request.ID, err)
	}
	return nil
}

// Finished records the outcome of an accepted request: runErr nil for
// success. The error text is recorded; it must hold no secret (ARCHITECTURE.md,
// "Secrets"), which the runners' errors guarantee.
func (g *Gate) Finished(a *Accepted, backupID string, took time.Duration, runErr error) error {
	return g.FinishedNote(a, backupID, took, runErr, "")
}

// FinishedNote is Finished with a note on the entry (a maintenance's
// before and after).
func (g *Gate) FinishedNote(a *Accepted, backupID string, took time.Duration, runErr error, note string) error {
	e := register.Entry{Kind: register.Finished, Ref: a.Ref, Request: a.Request.ID, Digest: a.Digest, Backup: backupID,
		Outcome: register.Succeeded, DurationMS: took.Milliseconds(), Note: note}
	if runErr != nil {
		e.Outcome, e.Error = register.Failed, runErr.Error()
	}
	if _, err := g.Register.Append(e); err != nil {
		return fmt.Errorf("recording the outcome of request %s: %w", a.Request.ID, err)
	}
	return nil
}
