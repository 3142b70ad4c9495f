// Package sshsig signs and verifies messages in the SSH signature format
// that `ssh-keygen -Y sign` writes and `ssh-keygen -Y verify` reads
// (OpenSSH's PROTOCOL.sshsig), on golang.org/x/crypto/ssh keys: Ed25519,
// ECDSA and RSA (rsa-sha2-512), from key files or from ssh-agent.
//
// # Format
//
// What is signed is not the message itself but a blob that binds the
// signature to a namespace, so that a signature made for one purpose (here
// "dbopsd") cannot be replayed for another (e.g. "git" or "file"):
//
//	byte[6] "SSHSIG"
//	string  namespace
//	string  reserved (empty)
//	string  hash algorithm ("sha512" or "sha256")
//	string  H(message)
//
// The signature is then
//
//	byte[6] "SSHSIG"
//	uint32  version (1)
//	string  public key
//	string  namespace
//	string  reserved
//	string  hash algorithm
//	string  signature (an SSH signature: algorithm name and blob)
//
// armored as base64 between "-----BEGIN SSH SIGNATURE-----" and
// "-----END SSH SIGNATURE-----", wrapped at 70 columns as ssh-keygen does.
//
// Verify reports which key made a signature; whether that key may sign is
// the caller's decision.
package sshsig
