package sshsig

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

const (
	magic   = "SSHSIG"
	version = 1

	beginArmor = "-----BEGIN SSH SIGNATURE-----"
	endArmor   = "-----END SSH SIGNATURE-----"
	lineWidth  = 70

	// HashSHA512 is the hash Sign uses, as ssh-keygen does by default.
	HashSHA512 = "sha512"
	// HashSHA256 is the other hash PROTOCOL.sshsig allows; Verify accepts it.
	HashSHA256 = "sha256"
)

// maxArmored bounds what Parse reads: an RSA-16384 signature armors to about
// 6 KiB, so anything larger is not a signature.
const maxArmored = 16 << 10

// ErrInvalid is wrapped by every error that says a signature is malformed or
// does not verify.
var ErrInvalid = errors.New("invalid SSH signature")

// ErrMismatch is wrapped (with ErrInvalid) when a well-formed signature does
// not match the message: the message changed after signing, or the
// signature is forged.
var ErrMismatch = fmt.Errorf("%w: does not match the signed message", ErrInvalid)

// Signature is a parsed SSH signature.
type Signature struct {
	PublicKey ssh.PublicKey
	Namespace string
	Hash      string
	Signature *ssh.Signature
}

// wireSignature is the binary layout of a signature after the magic bytes.
type wireSignature struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	Hash      string
	Signature []byte
}

// signedData is the binary layout of what the key signs, after the magic.
type signedData struct {
	Namespace string
	Reserved  string
	Hash      string
	Digest    []byte
}

func newHash(name string) (hash.Hash, error) {
	switch name {
	case HashSHA512:
		return sha512.New(), nil
	case HashSHA256:
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("%w: hash algorithm %q is not sha512 or sha256", ErrInvalid, name)
}

// message returns the blob a key signs for message under namespace.
func message(namespace, hashName string, msg io.Reader) ([]byte, error) {
	h, err := newHash(hashName)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(h, msg); err != nil {
		return nil, fmt.Errorf("reading the message to sign: %w", err)
	}
	return append([]byte(magic), ssh.Marshal(signedData{Namespace: namespace, Hash: hashName, Digest: h.Sum(nil)})...), nil
}

// Sign signs msg with signer under namespace, hashing with SHA-512, and
// returns the armored signature. RSA keys sign with rsa-sha2-512 (the SHA-1
// "ssh-rsa" algorithm is not allowed by PROTOCOL.sshsig); such signers must
// implement ssh.AlgorithmSigner, as those from key files and ssh-agent do.
func Sign(signer ssh.Signer, namespace string, msg io.Reader) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("signing: empty namespace")
	}
	data, err := message(namespace, HashSHA512, msg)
	if err != nil {
		return nil, err
	}
	pub := signer.PublicKey()
	var sig *ssh.Signature
	if pub.Type() == ssh.KeyAlgoRSA {
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("signing: this RSA signer cannot make rsa-sha2-512 signatures")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("signing with %s key %s: %w", pub.Type(), ssh.FingerprintSHA256(pub), err)
	}
	blob := append([]byte(magic), ssh.Marshal(wireSignature{
		Version:   version,
		PublicKey: pub.Marshal(),
		Namespace: namespace,
		Hash:      HashSHA512,
		Signature: ssh.Marshal(sig),
	})...)
	return armor(blob), nil
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(beginArmor + "\n")
	for len(enc) > lineWidth {
		b.WriteString(enc[:lineWidth] + "\n")
		enc = enc[lineWidth:]
	}
	b.WriteString(enc + "\n" + endArmor + "\n")
	return b.Bytes()
}

// Parse decodes an armored signature. It checks the structure only: use
// Verify to check it against a message.
func Parse(armored []byte) (*Signature, error) {
	if len(armored) > maxArmored {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxArmored)
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(armored), "\r\n", "\n"))
	body, ok := strings.CutPrefix(s, beginArmor)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %q", ErrInvalid, beginArmor)
	}
	body, ok = strings.CutSuffix(body, endArmor)
	if !ok {
		return nil, fmt.Errorf("%w: does not end with %q", ErrInvalid, endArmor)
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrInvalid, err)
	}
	rest, ok := bytes.CutPrefix(blob, []byte(magic))
	if !ok {
		return nil, fmt.Errorf("%w: missing the %q preamble", ErrInvalid, magic)
	}
	var w wireSignature
	if err := ssh.Unmarshal(rest, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if w.Version != version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalid, w.Version, version)
	}
	if _, err := newHash(w.Hash); err != nil {
		return nil, err
	}
	pub, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrInvalid, err)
	}
	if _, isCert := pub.(*ssh.Certificate); isCert {
		return nil, fmt.Errorf("%w: signed with a certificate; sign with the plain key", ErrInvalid)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(w.Signature, &sig); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrInvalid, err)
	}
	return &Signature{PublicKey: pub, Namespace: w.Namespace, Hash: w.Hash, Signature: &sig}, nil
}

// Verify checks that armored is a valid signature of msg under namespace and
// returns the key that made it.
func Verify(armored []byte, namespace string, msg io.Reader) (ssh.PublicKey, error) {
	s, err := Parse(armored)
	if err != nil {
		return nil, err
	}
	if s.Namespace != namespace {
		return nil, fmt.Errorf("%w: made for namespace %q, not %q", ErrInvalid, s.Namespace, namespace)
	}
	if s.PublicKey.Type() == ssh.KeyAlgoRSA && s.Signature.Format == ssh.KeyAlgoRSA {
		return nil, fmt.Errorf("%w: RSA signature with SHA-1 (ssh-rsa); sshsig requires rsa-sha2-256 or rsa-sha2-512", ErrInvalid)
	}
	data, err := message(namespace, s.Hash, msg)
	if err != nil {
		return nil, err
	}
	if err := s.PublicKey.Verify(data, s.Signature); err != nil {
		return nil, fmt.Errorf("%w (%s key %s: %v)", ErrMismatch, s.PublicKey.Type(), ssh.FingerprintSHA256(s.PublicKey), err)
	}
	return s.PublicKey, nil
}
