// Package packaging holds what installs dbopsd as a service — no Go code,
// only its tests: the systemd unit with its hardening (systemd/), the
// system user and directories (sysusers.d, tmpfiles.d), and the sample
// /etc/dbopsd layout (etc/dbopsd: the policy, its secrets directory, the
// environment file). README.md is "Running as a service". The tests check
// that the sample policy validates and that the unit keeps its hardening
// and agrees with the policy's paths.
package packaging
