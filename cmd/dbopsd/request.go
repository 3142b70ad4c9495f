package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/sshsig"
)

// The request commands: new, sign, approve, verify and canonical work on a
// request file without the daemon; submit sends one to the daemon, and
// status follows it there, over the daemon's socket or, with --server, over
// HTTPS to its request listener (request_server.go). Either way the daemon
// authenticates the request by its signatures alone.

type requestNewOpts struct {
	globals
	action    string
	database  string
	backupID  string
	target    string
	as        string
	tables    stringList
	replace   bool
	reason    string
	expires   time.Duration
	notBefore string
	requester string
	output    string
	// configExplicit: --config was given, so the policy must load.
	configExplicit bool
}

func requestNewCmd() command {
	var o requestNewOpts
	return command{
		name:  "request new",
		usage: "restore|drill --database X --target T --as NAME -o FILE",
		summary: "Write an unsigned restore or drill request (id, nonce, parameters, validity window).\n" +
			"Then sign it (request sign), have it approved (request approve), check it (request\n" +
			"verify) and submit it to the daemon.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.StringVar(&o.database, "database", "", "source database (its label in the policy)")
			fs.StringVar(&o.backupID, "backup", "", "backup id (default: the newest when the request runs)")
			fs.StringVar(&o.target, "target", "", "restore_target to restore onto")
			fs.StringVar(&o.as, "as", "", "name of the database to create on the target (drills: default <database>_drill_<date>)")
			fs.Var(&o.tables, "table", "restore only this table (schema.table; repeatable)")
			fs.BoolVar(&o.replace, "replace", false, "allow dropping and replacing an existing database or table of that name")
			fs.StringVar(&o.reason, "reason", "", "why (recorded in the register and the bureau's export)")
			fs.DurationVar(&o.expires, "expires", request.DefaultLifetime, "how long the request stays valid after not-before (at most 168h)")
			fs.StringVar(&o.notBefore, "not-before", "", "earliest time it may run: RFC 3339 time, or a delay such as 30m (default: now)")
			fs.StringVar(&o.requester, "requester", "", "your signer name in the policy (default: filled in by request sign)")
			fs.StringVar(&o.output, "o", "", "write the request to this file (\"-\": standard output)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the action: restore or drill"); err != nil {
					return err
				}
				o.action = args[0]
				o.configExplicit = flagWasSet(fs, "config")
				return runRequestNew(o)
			}
		},
	}
}

func runRequestNew(o requestNewOpts) error {
	if o.action != request.ActionRestore && o.action != request.ActionDrill {
		return usageError("action %q: want restore or drill", o.action)
	}
	if o.database == "" || o.target == "" {
		return usageError("--database and --target are required")
	}
	if o.output == "" {
		return usageError("-o FILE is required (\"-\" for standard output)")
	}
	now := time.Now()
	if o.as == "" {
		if o.action != request.ActionDrill {
			return usageError("--as is required: the name of the database to create on the target")
		}
		o.as = strings.ReplaceAll(o.database, "-", "_") + "_drill_" + now.Format("20060102_1504")
	}
	var nb time.Time
	if o.notBefore != "" {
		if d, err := time.ParseDuration(o.notBefore); err == nil {
			nb = now.Add(d)
		} else if nb, err = time.Parse(time.RFC3339, o.notBefore); err != nil {
			return usageError("--not-before %q: want an RFC 3339 time or a duration", o.notBefore)
		}
	}
	r, err := request.New(request.Draft{
		Action: o.action, Requester: o.requester, Reason: o.reason, NotBefore: nb, Lifetime: o.expires,
		Parameters: request.Parameters{Database: o.database, Backup: o.backupID, Target: o.target, As: o.as, Tables: o.tables, Replace: o.replace},
	}, now)
	if err != nil {
		return err
	}
	// With the policy at hand, refuse now what the daemon would refuse later.
	cfg, err := optionalConfig(&o.globals, o.configExplicit)
	if err != nil {
		return err
	}
	if cfg != nil {
		if err := request.TargetAllowed(cfg, r); err != nil {
			return err
		}
		if o.requester != "" {
			if err := hasRole(cfg, o.requester, config.RoleDBA); err != nil {
				return err
			}
		}
	}
	if err := writeRequest(o.output, r, false, o.stdout); err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "request %s: %s, valid %s to %s\n", r.ID, describeRequest(r), r.NotBefore.Local().Format("2006-01-02 15:04"), r.Expires.Local().Format("2006-01-02 15:04"))
	if o.output != "-" {
		fmt.Fprintf(o.stderr, "next: dbopsd request sign --key ~/.ssh/id_ed25519 %s\n", o.output)
	}
	return nil
}

// requestSignOpts serve sign and approve.
type requestSignOpts struct {
	globals
	key       string
	agent     bool
	signature string
	signer    string
	file      string
	approve   bool
	// configExplicit: --config was given, so the policy must load.
	configExplicit bool
}

func requestSignCmd() command { return signCommand(false) }

func requestApproveCmd() command { return signCommand(true) }

func signCommand(approve bool) command {
	o := requestSignOpts{approve: approve}
	c := command{
		name:  "request sign",
		usage: "--key KEY FILE",
		summary: "Sign a request as its requester (the first signature; needs role dba).\n" +
			"--key is an OpenSSH private key; with --agent, or with SSH_AUTH_SOCK set and --key\n" +
			"pointing at a .pub file, ssh-agent signs. --signature attaches a signature made by\n" +
			"`dbopsd request canonical FILE | ssh-keygen -Y sign -n dbopsd -f KEY`.",
	}
	if approve {
		c.name = "request approve"
		c.summary = "Approve a request: add your signature after the requester's (needs role approver).\n" +
			"The requester cannot approve. The signatures already there are checked first, so you\n" +
			"approve exactly what was signed. Keys as for request sign."
	}
	c.setup = func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
		addGlobals(fs, &o.globals, false, sio)
		fs.StringVar(&o.key, "key", "", "private key file, or its .pub file when ssh-agent holds the key")
		fs.BoolVar(&o.agent, "agent", false, "sign with ssh-agent ($SSH_AUTH_SOCK)")
		fs.StringVar(&o.signature, "signature", "", "attach this armored SSH signature (made with ssh-keygen -Y sign -n dbopsd)")
		fs.StringVar(&o.signer, "signer", "", "your signer name (default: found by your key in the policy)")
		return func(ctx context.Context, args []string) error {
			if err := needArgs(args, 1, "the request file"); err != nil {
				return err
			}
			o.file = args[0]
			o.configExplicit = flagWasSet(fs, "config")
			return runRequestSign(o)
		}
	}
	return c
}

func runRequestSign(o requestSignOpts) error {
	r, _, err := request.ReadFile(o.file)
	if err != nil {
		return err
	}
	if time.Now().After(r.Expires) {
		return fmt.Errorf("request %s expired at %s: make a new one (dbopsd request new)", r.ID, r.Expires.Local().Format("2006-01-02 15:04"))
	}
	if o.approve && len(r.Signatures) == 0 {
		return fmt.Errorf("request %s is not signed by its requester yet: it is signed first (dbopsd request sign), then approved", r.ID)
	}
	if !o.approve && len(r.Signatures) > 0 {
		return fmt.Errorf("request %s is already signed by %s; approvers use dbopsd request approve", r.ID, r.Signatures[0].Signer)
	}
	// Approve exactly what was signed: every signature must still match.
	var keys []ssh.PublicKey
	for i := range r.Signatures {
		pub, err := r.SignatureKey(i)
		if errors.Is(err, sshsig.ErrMismatch) {
			return fmt.Errorf("signature %d (%s) does not match request %s: it was changed after it was signed; do not approve it", i+1, r.Signatures[i].Signer, r.ID)
		}
		if err != nil {
			return fmt.Errorf("signature %d (%s): %w", i+1, r.Signatures[i].Signer, err)
		}
		keys = append(keys, pub)
	}
	cfg, err := optionalConfig(&o.globals, o.configExplicit)
	if err != nil {
		return err
	}

	var (
		pub     ssh.PublicKey
		signer  ssh.Signer
		armored []byte
	)
	if o.signature != "" {
		if armored, err = os.ReadFile(o.signature); err != nil {
			return fmt.Errorf("reading signature: %w", err)
		}
		if pub, err = sshsig.Verify(armored, request.Namespace, bytes.NewReader(r.Canonical())); err != nil {
			return fmt.Errorf("%s does not sign request %s: %w (sign the output of `dbopsd request canonical %s`)", o.signature, r.ID, err, o.file)
		}
	} else {
		var closer io.Closer
		if signer, closer, err = o.signerFromKey(); err != nil {
			return err
		}
		defer closer.Close()
		pub = signer.PublicKey()
	}
	name, err := o.signerName(cfg, r, pub, keys)
	if err != nil {
		return err
	}
	if !o.approve && r.Requester == "" {
		if signer == nil {
			return fmt.Errorf("request %s names no requester, so a signature made elsewhere cannot be its first; recreate it with --requester %s", r.ID, name)
		}
		r.Requester = name // before signing: the requester is signed
	}
	if signer != nil {
		err = r.Sign(signer, name)
	} else {
		_, err = r.AddSignature(name, armored)
	}
	if err != nil {
		return err
	}
	if err := writeRequest(o.file, r, true, o.stdout); err != nil {
		return err
	}
	what := "signed as requester"
	if o.approve {
		what = "approved"
	}
	fmt.Fprintf(o.stderr, "%s %s by %s (%s %s): %s\n", what, r.ID, name, pub.Type(), ssh.FingerprintSHA256(pub), describeRequest(r))
	if cfg != nil {
		need, have := request.Required(cfg, r.Action), len(r.Signatures)-1
		next := "dbopsd request approve --key KEY " + o.file
		if have >= need {
			next = "dbopsd request verify " + o.file + ", then submit it"
		}
		fmt.Fprintf(o.stderr, "approvals: %d of %d; next: %s\n", have, need, next)
	}
	return nil
}

// signerName decides under which policy name pub signs, and refuses what the
// daemon would refuse: an unknown key, the wrong role, a requester approving
// their own request, a second approval by the same key.
func (o requestSignOpts) signerName(cfg *config.Config, r *request.Request, pub ssh.PublicKey, existing []ssh.PublicKey) (string, error) {
	fp := ssh.FingerprintSHA256(pub)
	name := o.signer
	if cfg != nil {
		s := request.SignerOf(cfg, pub)
		switch {
		case s == nil:
			return "", fmt.Errorf("key %s (%s) is not a signer in %s: the daemon would refuse this signature", fp, pub.Type(), cfg.Path)
		case name != "" && name != s.Name:
			return "", fmt.Errorf("key %s belongs to signer %q in the policy, not %q", fp, s.Name, name)
		}
		name = s.Name
	}
	if name == "" {
		return "", fmt.Errorf("cannot tell which signer key %s is: pass --signer NAME, or --config with the policy", fp)
	}
	role := config.RoleDBA
	if o.approve {
		role = config.RoleApprover
		if name == r.Requester || bytes.Equal(existing[0].Marshal(), pub.Marshal()) {
			return "", fmt.Errorf("%q requested %s and cannot approve it", name, r.ID)
		}
		for i, k := range existing {
			if bytes.Equal(k.Marshal(), pub.Marshal()) || r.Signatures[i].Signer == name {
				return "", fmt.Errorf("%q has already signed %s (signature %d)", name, r.ID, i+1)
			}
		}
	} else if r.Requester != "" && r.Requester != name {
		return "", fmt.Errorf("request %s names requester %q, but this key is %q's", r.ID, r.Requester, name)
	}
	if cfg != nil {
		if err := hasRole(cfg, name, role); err != nil {
			return "", err
		}
	}
	return name, nil
}

// signerFromKey returns the signer --key and --agent describe.
func (o requestSignOpts) signerFromKey() (ssh.Signer, io.Closer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if o.agent || (sock != "" && strings.HasSuffix(o.key, ".pub")) {
		var pub ssh.PublicKey
		pubFile := o.key
		if pubFile != "" && !strings.HasSuffix(pubFile, ".pub") {
			pubFile += ".pub"
		}
		if pubFile != "" {
			var err error
			if pub, err = request.ReadPublicKey(pubFile); err != nil {
				return nil, nil, err
			}
		}
		return request.AgentSigner(sock, pub)
	}
	if o.key == "" {
		return nil, nil, usageError("--key is required (or --agent, or --signature)")
	}
	s, err := request.LoadKey(o.key, func() ([]byte, error) { return readPassphrase(o.key) })
	if err != nil {
		return nil, nil, err
	}
	return s, io.NopCloser(nil), nil
}

// readPassphrase asks for a key's passphrase on the terminal.
func readPassphrase(key string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return nil, fmt.Errorf("no terminal to ask for the passphrase of %s: load it into ssh-agent (ssh-add) and use --agent", key)
	}
	defer tty.Close()
	fmt.Fprintf(tty, "passphrase for %s: ", key)
	pass, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	return pass, err
}

type requestVerifyOpts struct {
	globals
	file string
	at   string
}

func requestVerifyCmd() command {
	var o requestVerifyOpts
	return command{
		name:  "request verify",
		usage: "FILE",
		summary: "Check a request against the policy and print each check's verdict.\n" +
			"Signatures, roles, approvals, validity and target are checked as the daemon will; the\n" +
			"target database and the nonce are checked by the daemon on submit. Exits 0 only when\n" +
			"every check made here passes.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.at, "at", "", "check validity at this RFC 3339 time instead of now")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				o.file = args[0]
				return runRequestVerify(o)
			}
		},
	}
}

func runRequestVerify(o requestVerifyOpts) error {
	cfg, err := loadConfig(&o.globals)
	if err != nil {
		return err
	}
	now := time.Now()
	if o.at != "" {
		if now, err = time.Parse(time.RFC3339, o.at); err != nil {
			return usageError("--at %q: want an RFC 3339 time", o.at)
		}
	}
	r, _, err := request.ReadFile(o.file)
	if err != nil {
		if o.jsonOut {
			_ = printJSON(o.stdout, map[string]any{"ok": false, "checks": []request.Result{{Check: request.CheckFormat, Verdict: request.Fail, Detail: err.Error()}}})
		}
		return err
	}
	rep := request.Offline(cfg, r, now, request.DefaultSkew)
	daemonOnly := "checked by the daemon when the request is submitted"
	rep.Results = append([]request.Result{{Check: request.CheckFormat, Verdict: request.Pass, Detail: "well-formed request " + r.ID}}, rep.Results...)
	rep.Results = append(rep.Results,
		request.Result{Check: request.CheckAbsent, Verdict: request.Skip, Detail: daemonOnly},
		request.Result{Check: request.CheckNonce, Verdict: request.Skip, Detail: daemonOnly})
	if o.jsonOut {
		if err := printJSON(o.stdout, map[string]any{"ok": rep.OK(), "id": r.ID, "request_sha256": r.Digest(), "checks": rep.Results}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.stdout, "request %s: %s\n", r.ID, describeRequest(r))
		if r.Reason != "" {
			fmt.Fprintf(o.stdout, "reason: %s\n", r.Reason)
		}
		fmt.Fprintf(o.stdout, "valid: %s to %s\n\n", r.NotBefore.Local().Format("2006-01-02 15:04:05"), r.Expires.Local().Format("2006-01-02 15:04:05"))
		for _, c := range rep.Results {
			fmt.Fprintf(o.stdout, "  %-11s  %-15s  %s\n", c.Verdict, c.Check, c.Detail)
		}
		if rep.OK() {
			fmt.Fprintf(o.stdout, "\npasses every check made here\n")
		} else {
			fmt.Fprintf(o.stdout, "\nthe daemon would refuse it\n")
		}
	}
	if !rep.OK() {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func requestCanonicalCmd() command {
	var o globals
	return command{
		name:  "request canonical",
		usage: "FILE",
		summary: "Print the bytes that request signatures sign, for ssh-keygen -Y sign and -Y verify.\n" +
			"No trailing newline: dbopsd request canonical req.json | ssh-keygen -Y sign -n dbopsd -f KEY > req.sig",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			o.stdout, o.stderr = sio.out, sio.err
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				r, _, err := request.ReadFile(args[0])
				if err != nil {
					return err
				}
				_, err = o.stdout.Write(r.Canonical())
				return err
			}
		},
	}
}

// describeRequest says what a request asks for, in one line.
func describeRequest(r *request.Request) string {
	p := r.Parameters
	if r.Action == request.ActionMaintenance {
		return fmt.Sprintf("maintenance of %s", p.Database)
	}
	backup := "the newest backup"
	if p.Backup != "" {
		backup = "backup " + p.Backup
	}
	what := r.Action + " of " + p.Database
	if len(p.Tables) > 0 {
		what += " (tables " + strings.Join(p.Tables, ", ") + ")"
	}
	s := fmt.Sprintf("%s from %s onto %s as %q", what, backup, p.Target, p.As)
	if p.Replace {
		s += ", replacing an existing one"
	}
	if r.Requester != "" {
		s += ", requested by " + r.Requester
	}
	return s
}

// writeRequest writes r to path ("-": stdout), atomically; an existing file
// is replaced only when replace is set (signing rewrites the file it read).
func writeRequest(path string, r *request.Request, replace bool, stdout io.Writer) error {
	data := r.Marshal()
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if !replace {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: remove it or choose another name", path)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".request-*")
	if err != nil {
		return fmt.Errorf("writing request: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing request %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing request %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing request %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing request %s: %w", path, err)
	}
	return nil
}

// optionalConfig loads the policy when there is one: request and register
// commands work without it (on a DBA's workstation, or on a copy of the
// register), but check against it when it is there. A policy named with
// --config or $DBOPS_CONFIG must load.
func optionalConfig(g *globals, explicit bool) (*config.Config, error) {
	if !explicit && os.Getenv("DBOPS_CONFIG") == "" {
		if _, err := os.Stat(g.configPath); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return loadConfig(g)
}

func hasRole(cfg *config.Config, name, role string) error {
	s, ok := cfg.Signers[name]
	if !ok {
		return fmt.Errorf("%q is not a signer in %s", name, cfg.Path)
	}
	for _, r := range s.Roles {
		if r == role {
			return nil
		}
	}
	return fmt.Errorf("signer %q does not have role %q in %s (roles: %s)", name, role, cfg.Path, strings.Join(s.Roles, ", "))
}

func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

type requestSubmitOpts struct {
	globals
	daemon daemonFlags
	file   string
}

func requestSubmitCmd() command {
	var o requestSubmitOpts
	return command{
		name:  "request submit",
		usage: "FILE",
		summary: "Send a signed, approved request to the daemon over its socket, or with --server over\n" +
			"HTTPS to a remote daemon's request listener. The daemon checks it (signatures, roles,\n" +
			"approvals, validity, target, the target database, the nonce), records the decision in the\n" +
			"restore register and queues the work. Prints the request id and exits 0 when accepted;\n" +
			"exits 1 with the reason when refused. Follow it with request status.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addDaemonFlags(fs, &o.daemon)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the request file"); err != nil {
					return err
				}
				o.file = args[0]
				return runRequestSubmit(ctx, o)
			}
		},
	}
}

func runRequestSubmit(ctx context.Context, o requestSubmitOpts) error {
	// Parse here first: a malformed or oversized file fails with a clear
	// message before it reaches the daemon (which would refuse it too).
	r, data, err := request.ReadFile(o.file)
	if err != nil {
		return err
	}
	c, err := o.daemon.client(&o.globals)
	if err != nil {
		return err
	}
	ra, err := c.SubmitRequest(ctx, data)
	err = o.daemon.explain(err)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == http.StatusForbidden {
		if o.jsonOut {
			if jerr := printJSON(o.stdout, map[string]any{"id": r.ID, "state": api.RequestRefused, "refusal": ae.Refusal,
				"register_seq": ae.RegisterSeq}); jerr != nil {
				return jerr
			}
		}
		return fmt.Errorf("request %s refused: %s", r.ID, ae.Refusal)
	}
	if err != nil {
		return fmt.Errorf("submitting request %s: %w", r.ID, err)
	}
	if o.jsonOut {
		return printJSON(o.stdout, ra)
	}
	fmt.Fprintln(o.stdout, ra.ID)
	fmt.Fprintf(o.stderr, "request %s accepted: %s; job #%d %s", ra.ID, describeRequest(r), ra.Task.ID, ra.State)
	if ra.Task.Waiting != "" {
		fmt.Fprintf(o.stderr, " (waiting for %s)", ra.Task.Waiting)
	}
	fmt.Fprintf(o.stderr, "\nfollow it: dbopsd request status %s --follow%s\n", ra.ID, o.daemon.args())
	return nil
}

type requestStatusOpts struct {
	globals
	daemon daemonFlags
	id     string
	follow bool
	poll   time.Duration
}

func requestStatusCmd() command {
	var o requestStatusOpts
	return command{
		name:  "request status",
		usage: "ID",
		summary: "Show a submitted request: received, refused (and why), queued (and what it waits\n" +
			"for), running (with progress), done or failed (with the outcome), from the restore\n" +
			"register and the daemon's queue. --follow waits until it ends and exits 1 unless it\n" +
			"is done. Over the socket, or with --server over HTTPS, as request submit.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addDaemonFlags(fs, &o.daemon)
			fs.BoolVar(&o.follow, "follow", false, "poll until the request is done, failed or refused, showing progress")
			fs.DurationVar(&o.poll, "poll", time.Second, "with --follow, how often to ask")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "a request id"); err != nil {
					return err
				}
				o.id = args[0]
				return runRequestStatus(ctx, o)
			}
		},
	}
}

func runRequestStatus(ctx context.Context, o requestStatusOpts) error {
	c, err := o.daemon.client(&o.globals)
	if err != nil {
		return err
	}
	rs, err := c.Request(ctx, o.id)
	if err != nil {
		return o.daemon.explain(err)
	}
	if !o.follow {
		if o.jsonOut {
			return printJSON(o.stdout, rs)
		}
		printRequestStatus(o.stdout, rs)
		return nil
	}
	var pr *progress
	last := ""
	for !rs.Finished() {
		if s := rs.State + waitingFor(rs); s != last && !o.jsonOut {
			if pr != nil {
				pr.finish()
			}
			fmt.Fprintf(o.stderr, "request %s: %s", rs.ID, rs.State)
			if w := waitingFor(rs); w != "" {
				fmt.Fprintf(o.stderr, " (waiting for %s)", w)
			}
			fmt.Fprintln(o.stderr)
			last = s
		}
		if rs.State == api.RequestRunning && rs.Task != nil {
			if pr == nil {
				pr = newProgress(o.stderr, rs.Action+" of "+rs.Database, rs.Task.TotalBytes, o.quiet || o.jsonOut)
			}
			pr.set(rs.Task.Bytes, rs.Task.TotalBytes)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.poll):
		}
		if rs, err = c.Request(ctx, o.id); err != nil {
			return o.daemon.explain(err)
		}
	}
	if pr != nil {
		pr.finish()
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, rs); err != nil {
			return err
		}
	} else {
		printRequestStatus(o.stdout, rs)
	}
	if rs.State != api.RequestDone {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func waitingFor(rs api.RequestStatus) string {
	if rs.State == api.RequestQueued && rs.Task != nil {
		return rs.Task.Waiting
	}
	return ""
}

// printRequestStatus prints a request's state, a few lines.
func printRequestStatus(w io.Writer, rs api.RequestStatus) {
	what := rs.Action + " of " + rs.Database
	if len(rs.Tables) > 0 {
		what += " (tables " + strings.Join(rs.Tables, ", ") + ")"
	}
	backup := "the newest backup"
	if rs.Backup != "" {
		backup = "backup " + rs.Backup
	}
	fmt.Fprintf(w, "request %s: %s\n", rs.ID, rs.State)
	fmt.Fprintf(w, "  %s from %s onto %s as %q\n", what, backup, rs.Target, rs.As)
	who := "requested by " + rs.Requester
	if len(rs.Approvers) > 0 {
		who += ", approved by " + strings.Join(rs.Approvers, ", ")
	}
	fmt.Fprintf(w, "  %s; received %s\n", who, rs.Received.Local().Format("2006-01-02 15:04:05"))
	if rs.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", rs.Reason)
	}
	switch rs.State {
	case api.RequestRefused:
		fmt.Fprintf(w, "  refused: %s\n", rs.Refusal)
	case api.RequestQueued:
		if rs.Task != nil {
			fmt.Fprintf(w, "  job #%d queued", rs.Task.ID)
			if rs.Task.Waiting != "" {
				fmt.Fprintf(w, ", waiting for %s", rs.Task.Waiting)
			}
			fmt.Fprintln(w)
		}
	case api.RequestRunning:
		if rs.Task != nil {
			fmt.Fprintf(w, "  job #%d running since %s: %s", rs.Task.ID, rs.Task.Started.Local().Format("15:04:05"), humanize.Bytes(rs.Task.Bytes))
			if rs.Task.TotalBytes > 0 {
				fmt.Fprintf(w, " of %s (%.0f%%)", humanize.Bytes(rs.Task.TotalBytes), 100*float64(rs.Task.Bytes)/float64(rs.Task.TotalBytes))
			}
			fmt.Fprintln(w)
		}
	case api.RequestDone, api.RequestFailed:
		fmt.Fprintf(w, "  %s after %s\n", rs.Outcome, (time.Duration(rs.Duration * float64(time.Second))).Round(time.Millisecond))
		if rs.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", rs.Error)
		}
	}
	if rs.Report != "" {
		fmt.Fprintf(w, "  drill report: dbopsd drill report %s\n", rs.Report)
	}
	if rs.Submissions > 1 {
		fmt.Fprintf(w, "  received %d times; a request runs at most once (see dbopsd register show --request %s)\n", rs.Submissions, rs.ID)
	}
}
