package sshtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Key is a key pair made by ssh-keygen.
type Key struct {
	Private string // path of the private key file
	Public  string // path of the .pub file
	Line    string // the public key as one authorized_keys line
	Pub     ssh.PublicKey
}

// tool finds an OpenSSH program; tests that need one fail (not skip) when it
// is missing, since `make test` installs openssh-client.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (install openssh-client): %v", name, err)
	}
	return p
}

// NewKey makes a key of type typ ("ed25519", "ecdsa", "ecdsa-384", "rsa")
// named name in dir.
func NewKey(t testing.TB, dir, typ, name string) Key {
	t.Helper()
	return NewKeyWithPassphrase(t, dir, typ, name, "")
}

// NewKeyWithPassphrase is NewKey with the private key encrypted under
// passphrase.
func NewKeyWithPassphrase(t testing.TB, dir, typ, name, passphrase string) Key {
	t.Helper()
	path := filepath.Join(dir, name)
	args := []string{"-q", "-N", passphrase, "-C", name + "@test", "-f", path}
	switch typ {
	case "ed25519":
		args = append(args, "-t", "ed25519")
	case "ecdsa":
		args = append(args, "-t", "ecdsa", "-b", "256")
	case "ecdsa-384":
		args = append(args, "-t", "ecdsa", "-b", "384")
	case "rsa":
		args = append(args, "-t", "rsa", "-b", "3072")
	default:
		t.Fatalf("unknown key type %q", typ)
	}
	run(t, nil, "", tool(t, "ssh-keygen"), args...)
	line, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Private: path, Public: path + ".pub", Line: strings.TrimSpace(string(line)), Pub: pub}
}

// Sign signs msg with `ssh-keygen -Y sign -n namespace` and the key file
// keyFile (a private key, or a .pub file whose key is in the agent at
// agentSock), returning the armored signature.
func Sign(t testing.TB, keyFile, namespace, agentSock string, msg []byte) []byte {
	t.Helper()
	return run(t, msg, agentSock, tool(t, "ssh-keygen"), "-Y", "sign", "-f", keyFile, "-n", namespace)
}

// Verify checks sig over msg with `ssh-keygen -Y verify`, trusting pub for
// identity, and returns ssh-keygen's error (nil when it accepts).
func Verify(t testing.TB, identity, pub, namespace string, sig, msg []byte) error {
	t.Helper()
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(identity+" "+pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "msg.sig")
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool(t, "ssh-keygen"), "-Y", "verify", "-f", allowed, "-I", identity, "-n", namespace, "-s", sigFile)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -Y verify: %w: %s", err, out)
	}
	return nil
}

// StartAgent starts an ssh-agent on a socket in a temporary directory,
// stopped when the test ends, and returns the socket's path.
func StartAgent(t testing.TB) string {
	t.Helper()
	// Unix socket paths are limited to ~108 bytes: t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(tool(t, "ssh-agent"), "-D", "-a", sock)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ssh-agent: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		os.RemoveAll(dir)
	})
	// The socket file appears at bind(), before listen(): wait until the
	// agent accepts a connection.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-agent did not create %s: %s", sock, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// AgentAdd adds the private key file to the agent at sock with ssh-add.
func AgentAdd(t testing.TB, sock, private string) {
	t.Helper()
	run(t, nil, sock, tool(t, "ssh-add"), "-q", private)
}

// run runs prog and returns its standard output, failing the test on error.
func run(t testing.TB, stdin []byte, agentSock, prog string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = os.Environ()
	if agentSock != "" {
		cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+agentSock)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", filepath.Base(prog), strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}
