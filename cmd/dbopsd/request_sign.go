package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/sshsig"
)

// requestSignOpts serve sign and approve (request_approve.go): both add a
// signature, the requester's first, then the approvers'.
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

func requestSignCmd() command {
	var o requestSignOpts
	return command{
		name:  "request sign",
		usage: "--key KEY FILE",
		summary: "Sign a request as its requester (the first signature; needs role dba).\n" +
			"--key is an OpenSSH private key; with --agent, or with SSH_AUTH_SOCK set and --key\n" +
			"pointing at a .pub file, ssh-agent signs. --signature attaches a signature made by\n" +
			"`dbopsd request canonical FILE | ssh-keygen -Y sign -n dbopsd -f KEY`.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addSignFlags(fs, &o, sio)
			return func(ctx context.Context, args []string) error {
				if err := o.parseArgs(fs, args); err != nil {
					return err
				}
				return runRequestSign(ctx, o)
			}
		},
	}
}

// addSignFlags wires the flags request sign and request approve share.
func addSignFlags(fs *flag.FlagSet, o *requestSignOpts, sio stdio) {
	addGlobals(fs, &o.globals, false, sio)
	fs.StringVar(&o.key, "key", "", "private key file, or its .pub file when ssh-agent holds the key")
	fs.BoolVar(&o.agent, "agent", false, "sign with ssh-agent ($SSH_AUTH_SOCK)")
	fs.StringVar(&o.signature, "signature", "", "attach this armored SSH signature (made with ssh-keygen -Y sign -n dbopsd)")
	fs.StringVar(&o.signer, "signer", "", "your signer name (default: found by your key in the policy)")
}

func (o *requestSignOpts) parseArgs(fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "the request file"); err != nil {
		return err
	}
	o.file = args[0]
	o.configExplicit = flagWasSet(fs, "config")
	return nil
}

// runRequestSign adds the requester's signature.
func runRequestSign(ctx context.Context, o requestSignOpts) error {
	o.approve = false
	return addSignature(ctx, o)
}

// addSignature adds the requester's signature or, with o.approve, an
// approval.
func addSignature(_ context.Context, o requestSignOpts) error {
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
	for i := range r.Signatures {
		_, err := r.SignatureKey(i)
		if errors.Is(err, sshsig.ErrMismatch) {
			return fmt.Errorf("signature %d (%s) does not match request %s: it was changed after it was signed; do not approve it", i+1, r.Signatures[i].Signer, r.ID)
		}
		if err != nil {
			return fmt.Errorf("signature %d (%s): %w", i+1, r.Signatures[i].Signer, err)
		}
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
	name, err := request.SignerFor(cfg, r, request.Signing{Key: pub, Name: o.signer, Approve: o.approve})
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
