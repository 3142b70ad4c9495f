package request

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/request/sshsig"
)

// DefaultSkew is how far the daemon's clock may run behind the requester's:
// a request is accepted from not_before - skew. Expiry is exact on the
// daemon's clock: a request is refused from its expires on, so an expired
// request is never accepted late.
const DefaultSkew = 2 * time.Minute

// ReservedPrefix starts the names automated verification gives its scratch
// databases; a request may not restore under such a name, so that the daemon
// never drops a database it did not create.
const ReservedPrefix = "dbopsd_verify_"

// Check names, in the order they run.
const (
	CheckFormat     = "format"
	CheckSignatures = "signatures"
	CheckRequester  = "requester"
	CheckApprovers  = "approvers"
	CheckApprovals  = "approvals"
	CheckValidity   = "validity"
	CheckTarget     = "target"
	CheckAbsent     = "target database"
	CheckNonce      = "nonce"
)

// Verdicts.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "not checked"
)

// Result is one check's verdict.
type Result struct {
	Check   string `json:"check"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
}

// Report is the outcome of the checks on one request.
type Report struct {
	Results   []Result `json:"checks"`
	Requester string   `json:"requester,omitempty"` // the policy signer who signed first
	Approvers []string `json:"approvers,omitempty"` // policy signers whose approvals count
}

// OK reports whether no check failed.
func (rep *Report) OK() bool {
	return !slices.ContainsFunc(rep.Results, func(r Result) bool { return r.Verdict == Fail })
}

// Reason joins the details of the failed checks.
func (rep *Report) Reason() string {
	var parts []string
	for _, r := range rep.Results {
		if r.Verdict == Fail {
			parts = append(parts, r.Check+": "+r.Detail)
		}
	}
	return strings.Join(parts, "; ")
}

func (rep *Report) add(check, verdict, format string, a ...any) {
	rep.Results = append(rep.Results, Result{Check: check, Verdict: verdict, Detail: fmt.Sprintf(format, a...)})
}

// signerKeys indexes the policy's signers by key fingerprint. Validation of
// the policy guarantees every key parses and belongs to one signer.
func signerKeys(cfg *config.Config) map[string]*config.Signer {
	out := map[string]*config.Signer{}
	for _, s := range cfg.Signers {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.PublicKey)); err == nil {
			out[ssh.FingerprintSHA256(pub)] = s
		}
	}
	return out
}

// Required returns how many approvals the policy asks for action.
func Required(cfg *config.Config, action string) int {
	switch action {
	case ActionRestore:
		return cfg.Approvals.Restore
	case ActionDrill:
		return cfg.Approvals.Drill
	case ActionMaintenance:
		return cfg.Approvals.Maintenance
	}
	return 0
}

// Offline runs every check that needs only the policy and the clock:
// signatures, roles, approvals, validity and target. The daemon adds the
// target-database and nonce checks (Gate.Receive).
func Offline(cfg *config.Config, r *Request, now time.Time, skew time.Duration) *Report {
	rep := &Report{}
	keys := signerKeys(cfg)

	// Signatures: each one valid, by a key in the policy, under the name of
	// that key's signer.
	signers := make([]*config.Signer, len(r.Signatures)) // nil where not valid
	var bad, good []string
	mismatched := 0
	for i, s := range r.Signatures {
		pub, err := r.SignatureKey(i)
		switch {
		case errors.Is(err, sshsig.ErrMismatch):
			mismatched++
			bad = append(bad, fmt.Sprintf("signature %d (%s) does not match the request: the request was changed after it was signed, or the signature is forged", i+1, s.Signer))
		case err != nil:
			bad = append(bad, fmt.Sprintf("signature %d (%s) is not a valid SSH signature for dbopsd: %v", i+1, s.Signer, err))
		case keys[ssh.FingerprintSHA256(pub)] == nil:
			bad = append(bad, fmt.Sprintf("signature %d (%s) is by %s key %s, which is not a signer in the policy", i+1, s.Signer, pub.Type(), ssh.FingerprintSHA256(pub)))
		case keys[ssh.FingerprintSHA256(pub)].Name != s.Signer:
			bad = append(bad, fmt.Sprintf("signature %d says signer %q but was made with the key of signer %q", i+1, s.Signer, keys[ssh.FingerprintSHA256(pub)].Name))
		default:
			signers[i] = keys[ssh.FingerprintSHA256(pub)]
			good = append(good, s.Signer)
		}
	}
	switch {
	case len(r.Signatures) == 0:
		rep.add(CheckSignatures, Fail, "the request is not signed (dbopsd request sign)")
	case mismatched > 1 && mismatched == len(r.Signatures):
		rep.add(CheckSignatures, Fail, "none of the %d signatures matches the request: it was changed after it was signed", mismatched)
	case len(bad) > 0:
		rep.add(CheckSignatures, Fail, "%s", strings.Join(bad, "; "))
	default:
		rep.add(CheckSignatures, Pass, "%d valid: %s", len(good), strings.Join(good, ", "))
	}

	// Requester: the first signature is the requester's, who has role dba.
	req, reqOK := cfg.Signers[r.Requester]
	switch {
	case !reqOK:
		rep.add(CheckRequester, Fail, "requester %q is not a signer in the policy", r.Requester)
	case !slices.Contains(req.Roles, config.RoleDBA):
		rep.add(CheckRequester, Fail, "requester %q does not have role %q (roles: %s)", r.Requester, config.RoleDBA, strings.Join(req.Roles, ", "))
	case len(r.Signatures) == 0:
		rep.add(CheckRequester, Fail, "the requester %q has not signed", r.Requester)
	case signers[0] == nil:
		rep.add(CheckRequester, Fail, "the first signature, which must be the requester's, is not valid")
	case signers[0].Name != r.Requester:
		rep.add(CheckRequester, Fail, "the first signature must be the requester's (%q), but it is %q's", r.Requester, signers[0].Name)
	default:
		rep.Requester = r.Requester
		rep.add(CheckRequester, Pass, "%s (role %s) signed first", r.Requester, config.RoleDBA)
	}

	// Approvers: distinct, not the requester, role approver.
	var problems []string
	seen := map[string]bool{}
	for i := 1; i < len(signers); i++ {
		s := signers[i]
		switch {
		case s == nil:
			// Reported under signatures.
		case s.Name == r.Requester:
			problems = append(problems, fmt.Sprintf("signature %d: the requester %q cannot approve their own request", i+1, s.Name))
		case seen[s.Name]:
			problems = append(problems, fmt.Sprintf("signature %d: %q already approved; one person counts once", i+1, s.Name))
		case !slices.Contains(s.Roles, config.RoleApprover):
			problems = append(problems, fmt.Sprintf("signature %d: %q does not have role %q (roles: %s)", i+1, s.Name, config.RoleApprover, strings.Join(s.Roles, ", ")))
		default:
			seen[s.Name] = true
			rep.Approvers = append(rep.Approvers, s.Name)
		}
	}
	switch {
	case len(problems) > 0:
		rep.add(CheckApprovers, Fail, "%s", strings.Join(problems, "; "))
	case len(rep.Approvers) == 0:
		rep.add(CheckApprovers, Pass, "no approvals")
	default:
		rep.add(CheckApprovers, Pass, "approved by %s", strings.Join(rep.Approvers, ", "))
	}

	// Approvals: as many as the policy asks for this action.
	need := Required(cfg, r.Action)
	if len(rep.Approvers) < need {
		rep.add(CheckApprovals, Fail, "a %s needs %d approval(s) (approvals { %s = %d }), it has %d", r.Action, need, r.Action, need, len(rep.Approvers))
	} else {
		rep.add(CheckApprovals, Pass, "%d of %d needed for a %s", len(rep.Approvers), need, r.Action)
	}

	// Validity in time.
	switch {
	case now.Before(r.NotBefore.Add(-skew)):
		rep.add(CheckValidity, Fail, "not valid yet: valid from %s (in %s)", formatTime(r.NotBefore), r.NotBefore.Sub(now).Round(time.Second))
	case !now.Before(r.Expires):
		rep.add(CheckValidity, Fail, "expired at %s (%s ago; expiry is exact on this clock)", formatTime(r.Expires), now.Sub(r.Expires).Round(time.Second))
	default:
		rep.add(CheckValidity, Pass, "%s", ValidityRule(r, skew))
	}

	if detail, ok := checkTarget(cfg, r); ok {
		rep.add(CheckTarget, Pass, "%s", detail)
	} else {
		rep.add(CheckTarget, Fail, "%s", detail)
	}
	return rep
}

// ValidityRule says when r is accepted on this clock: from not_before less
// the skew allowed for a clock behind the requester's, until expires
// exactly. request verify prints it.
func ValidityRule(r *Request, skew time.Duration) string {
	if skew <= 0 {
		return fmt.Sprintf("valid from %s until %s (exact on this clock)", formatTime(r.NotBefore), formatTime(r.Expires))
	}
	return fmt.Sprintf("valid from %s until %s (accepted from %s before not_before for clock skew; expiry is exact on this clock)",
		formatTime(r.NotBefore), formatTime(r.Expires), skew)
}

// TargetAllowed reports whether the policy allows r's action on its target
// (the target check of Offline), for tools that want to say so before
// anything is signed.
func TargetAllowed(cfg *config.Config, r *Request) error {
	if detail, ok := checkTarget(cfg, r); !ok {
		return errors.New(detail)
	}
	return nil
}

// SignerOf returns the policy signer whose public key is pub, or nil.
func SignerOf(cfg *config.Config, pub ssh.PublicKey) *config.Signer {
	return signerKeys(cfg)[ssh.FingerprintSHA256(pub)]
}

// checkTarget decides whether the action is allowed on the target.
func checkTarget(cfg *config.Config, r *Request) (string, bool) {
	p := r.Parameters
	db, ok := cfg.Databases[p.Database]
	if !ok {
		return fmt.Sprintf("database %q is not in the policy", p.Database), false
	}
	if r.Action == ActionMaintenance {
		return checkMaintenance(db, r)
	}
	t, ok := cfg.RestoreTargets[p.Target]
	if !ok {
		return fmt.Sprintf("restore_target %q is not in the policy", p.Target), false
	}
	if t.Engine != db.Engine {
		return fmt.Sprintf("restore_target %q is %s, database %q is %s", p.Target, t.Engine, p.Database, db.Engine), false
	}
	if strings.HasPrefix(p.As, ReservedPrefix) {
		return fmt.Sprintf("%q: names starting with %q are reserved for automated verification", p.As, ReservedPrefix), false
	}
	switch {
	case r.Action == ActionDrill && !t.Scratch:
		return fmt.Sprintf("drills go only to scratch targets; restore_target %q is not scratch", p.Target), false
	case r.Action == ActionRestore && !t.Scratch && !t.AllowRestore:
		return fmt.Sprintf("restore_target %q is not a scratch target and does not have allow_restore = true", p.Target), false
	}
	kind := "a scratch target"
	if !t.Scratch {
		kind = "allow_restore = true"
	}
	return fmt.Sprintf("%s of %s onto %q (%s) as %q", r.Action, p.Database, p.Target, kind, p.As), true
}

// HasRole reports, as an error naming the policy file, when name is not a
// signer in the policy or does not hold role.
func HasRole(cfg *config.Config, name, role string) error {
	s, ok := cfg.Signers[name]
	if !ok {
		return fmt.Errorf("%q is not a signer in %s", name, cfg.Path)
	}
	if !slices.Contains(s.Roles, role) {
		return fmt.Errorf("signer %q does not have role %q in %s (roles: %s)", name, role, cfg.Path, strings.Join(s.Roles, ", "))
	}
	return nil
}

// Signing describes a signature about to be added to a request.
type Signing struct {
	Key     ssh.PublicKey // the key that signs
	Name    string        // the signer name claimed; "" = the policy signer of Key
	Approve bool          // an approval, not the requester's first signature
}

// SignerFor decides under which signer name s may sign r, and refuses what
// Offline would refuse later: a key that is not a signer, the wrong role, a
// requester approving their own request, a second signature by one person.
// cfg may be nil (no policy at hand): then only s.Name names the signer and
// only the rules that need no policy are applied. The signatures already on
// r must be valid (Request.SignatureKey); those that are not are ignored.
func SignerFor(cfg *config.Config, r *Request, s Signing) (string, error) {
	fp := ssh.FingerprintSHA256(s.Key)
	name := s.Name
	if cfg != nil {
		p := SignerOf(cfg, s.Key)
		switch {
		case p == nil:
			return "", fmt.Errorf("key %s (%s) is not a signer in %s: the daemon would refuse this signature", fp, s.Key.Type(), cfg.Path)
		case name != "" && name != p.Name:
			return "", fmt.Errorf("key %s belongs to signer %q in the policy, not %q", fp, p.Name, name)
		}
		name = p.Name
	}
	if name == "" {
		return "", fmt.Errorf("cannot tell which signer key %s is: pass --signer NAME, or --config with the policy", fp)
	}
	role := config.RoleDBA
	if s.Approve {
		role = config.RoleApprover
		if name == r.Requester {
			return "", fmt.Errorf("%q requested %s and cannot approve it", name, r.ID)
		}
		for i := range r.Signatures {
			k, err := r.SignatureKey(i)
			same := err == nil && bytes.Equal(k.Marshal(), s.Key.Marshal())
			if i == 0 && same {
				return "", fmt.Errorf("%q requested %s and cannot approve it", name, r.ID)
			}
			if same || r.Signatures[i].Signer == name {
				return "", fmt.Errorf("%q has already signed %s (signature %d)", name, r.ID, i+1)
			}
		}
	} else if r.Requester != "" && r.Requester != name {
		return "", fmt.Errorf("request %s names requester %q, but this key is %q's", r.ID, r.Requester, name)
	}
	if cfg != nil {
		if err := HasRole(cfg, name, role); err != nil {
			return "", err
		}
	}
	return name, nil
}
