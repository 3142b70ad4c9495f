// Package requesttest builds a site for signed-request tests: SSH keys made
// by ssh-keygen for a cast of signers, and a policy file that names them,
// with scratch, allow_restore and plain restore targets.
package requesttest
