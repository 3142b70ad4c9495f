package request

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// LoadKey returns a signer for the OpenSSH private key file at path. When
// the key is encrypted, passphrase is asked for it (a nil passphrase makes
// that an error that suggests ssh-agent).
func LoadKey(path string, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	if strings.HasPrefix(strings.TrimSpace(string(pem)), "ssh-") || strings.HasPrefix(strings.TrimSpace(string(pem)), "ecdsa-") {
		return nil, fmt.Errorf("%s is a public key: give the private key, or use ssh-agent (--agent, or SSH_AUTH_SOCK set and --key FILE.pub)", path)
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			return nil, fmt.Errorf("key %s is encrypted: load it into ssh-agent (ssh-add %s) and sign with --agent", path, path)
		}
		pass, perr := passphrase()
		if perr != nil {
			return nil, fmt.Errorf("reading the passphrase of %s: %w", path, perr)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", path, err)
	}
	return s, nil
}

// ReadPublicKey reads one public key in authorized_keys form (a .pub file).
func ReadPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("reading public key %s: %w", path, err)
	}
	return pub, nil
}

// AgentSigner connects to the ssh-agent at sock and returns a signer for the
// agent's key pub (nil: the agent must hold exactly one key). Close the
// returned closer when done signing.
func AgentSigner(sock string, pub ssh.PublicKey) (ssh.Signer, io.Closer, error) {
	if sock == "" {
		return nil, nil, errors.New("no ssh-agent: SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to ssh-agent at %s: %w", sock, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("listing the keys in ssh-agent: %w", err)
	}
	if pub == nil {
		if len(signers) != 1 {
			conn.Close()
			return nil, nil, fmt.Errorf("ssh-agent holds %d keys: say which with --key FILE.pub", len(signers))
		}
		return signers[0], conn, nil
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s, conn, nil
		}
	}
	conn.Close()
	return nil, nil, fmt.Errorf("ssh-agent does not hold the key %s (%s); add it with ssh-add", ssh.FingerprintSHA256(pub), pub.Type())
}
