// Package sshtest drives the real OpenSSH tools for tests: it makes keys
// with ssh-keygen, signs and verifies with `ssh-keygen -Y`, and starts an
// ssh-agent holding keys, so that signatures are checked against the
// implementation users have, not against our own reading of the format.
package sshtest
