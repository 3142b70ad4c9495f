package sshsig_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/dbopsd/dbopsd/request/sshsig"
	"github.com/dbopsd/dbopsd/request/sshtest"
)

const ns = "dbopsd"

var keyTypes = []string{"ed25519", "ecdsa", "ecdsa-384", "rsa"}

func signerFromFile(t *testing.T, path string) ssh.Signer {
	t.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInteropWithSSHKeygen signs with this package and verifies with
// ssh-keygen, and the other way round, for every key type.
func TestInteropWithSSHKeygen(t *testing.T) {
	msg := []byte("{\"action\":\"restore\"}\n中文 and bytes \x00\xff")
	for _, typ := range keyTypes {
		t.Run(typ, func(t *testing.T) {
			k := sshtest.NewKey(t, t.TempDir(), typ, "alice")

			ours, err := sshsig.Sign(signerFromFile(t, k.Private), ns, bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if err := sshtest.Verify(t, "alice", k.Line, ns, ours, msg); err != nil {
				t.Fatalf("ssh-keygen rejects our signature: %v", err)
			}
			if err := sshtest.Verify(t, "alice", k.Line, "other", ours, msg); err == nil {
				t.Fatal("ssh-keygen accepted our signature under another namespace")
			}

			theirs := sshtest.Sign(t, k.Private, ns, "", msg)
			pub, err := sshsig.Verify(theirs, ns, bytes.NewReader(msg))
			if err != nil {
				t.Fatalf("ssh-keygen's signature does not verify here: %v", err)
			}
			if !bytes.Equal(pub.Marshal(), k.Pub.Marshal()) {
				t.Fatal("Verify returned another key than the one that signed")
			}
			if _, err := sshsig.Verify(theirs, "git", bytes.NewReader(msg)); !errors.Is(err, sshsig.ErrInvalid) {
				t.Fatalf("wrong namespace: got %v", err)
			}
			if _, err := sshsig.Verify(theirs, ns, bytes.NewReader(append(msg, '!'))); !errors.Is(err, sshsig.ErrInvalid) {
				t.Fatalf("changed message: got %v", err)
			}
		})
	}
}

// TestAgent signs through a real ssh-agent, and checks that ssh-keygen
// signing through the same agent verifies here.
func TestAgent(t *testing.T) {
	sock := sshtest.StartAgent(t)
	msg := []byte("restore queue onto standby-pg")
	for _, typ := range keyTypes {
		t.Run(typ, func(t *testing.T) {
			k := sshtest.NewKey(t, t.TempDir(), typ, "agent-"+typ)
			sshtest.AgentAdd(t, sock, k.Private)
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			signers, err := agent.NewClient(conn).Signers()
			if err != nil {
				t.Fatal(err)
			}
			var signer ssh.Signer
			for _, s := range signers {
				if bytes.Equal(s.PublicKey().Marshal(), k.Pub.Marshal()) {
					signer = s
				}
			}
			if signer == nil {
				t.Fatal("key not in the agent")
			}
			sig, err := sshsig.Sign(signer, ns, bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if err := sshtest.Verify(t, "bob", k.Line, ns, sig, msg); err != nil {
				t.Fatalf("ssh-keygen rejects the agent signature: %v", err)
			}
			// ssh-keygen signs with the agent when given only the .pub file.
			theirs := sshtest.Sign(t, k.Public, ns, sock, msg)
			if _, err := sshsig.Verify(theirs, ns, bytes.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	k := sshtest.NewKey(t, t.TempDir(), "ed25519", "carol")
	good, err := sshsig.Sign(signerFromFile(t, k.Private), ns, strings.NewReader("m"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(good)), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	cases := map[string]string{
		"empty":        "",
		"no armor":     body,
		"no end":       lines[0] + "\n" + body,
		"bad base64":   lines[0] + "\n" + body[:10] + "*" + body[11:] + "\n" + lines[len(lines)-1],
		"truncated":    lines[0] + "\n" + body[:len(body)/2] + "\n" + lines[len(lines)-1],
		"huge":         strings.Repeat("A", 20000),
		"other preamb": lines[0] + "\nU1NIU0lI" + body[8:] + "\n" + lines[len(lines)-1],
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := sshsig.Verify([]byte(in), ns, strings.NewReader("m")); !errors.Is(err, sshsig.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	// CRLF line ends (a file passed through a Windows editor) still parse.
	crlf := strings.ReplaceAll(string(good), "\n", "\r\n")
	if _, err := sshsig.Verify([]byte(crlf), ns, strings.NewReader("m")); err != nil {
		t.Fatalf("CRLF armor: %v", err)
	}
}
