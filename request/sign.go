package request

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/dbopsd/dbopsd/request/sshsig"
)

// Sign signs the request's canonical bytes with signer and appends the
// signature under the signer name name. It does not check the policy: the
// daemon does.
func (r *Request) Sign(signer ssh.Signer, name string) error {
	armored, err := sshsig.Sign(signer, Namespace, bytes.NewReader(r.Canonical()))
	if err != nil {
		return fmt.Errorf("signing request %s: %w", r.ID, err)
	}
	r.Signatures = append(r.Signatures, Signature{Signer: name, Signature: string(armored)})
	return nil
}

// AddSignature appends a signature made elsewhere, e.g. by
// `dbopsd request canonical req.json | ssh-keygen -Y sign -n dbopsd -f KEY`,
// after checking that it signs this request. It returns the signing key.
func (r *Request) AddSignature(name string, armored []byte) (ssh.PublicKey, error) {
	pub, err := sshsig.Verify(armored, Namespace, bytes.NewReader(r.Canonical()))
	if err != nil {
		return nil, fmt.Errorf("signature for request %s: %w", r.ID, err)
	}
	r.Signatures = append(r.Signatures, Signature{Signer: name, Signature: string(armored)})
	return pub, nil
}

// SignatureKey verifies signature i over the request and returns its key.
// An error wrapping sshsig.ErrMismatch means the request was changed after
// the signature was made (or the signature is forged).
func (r *Request) SignatureKey(i int) (ssh.PublicKey, error) {
	if i < 0 || i >= len(r.Signatures) {
		return nil, errors.New("no such signature")
	}
	return sshsig.Verify([]byte(r.Signatures[i].Signature), Namespace, bytes.NewReader(r.Canonical()))
}
