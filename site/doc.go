// Package site assembles the runtime pieces that a policy file describes:
// the storages, the repository on them, engine adapters and the connections
// to databases and restore targets. The CLI and the daemon both build their
// jobs from here, so a policy means the same thing to both.
package site
