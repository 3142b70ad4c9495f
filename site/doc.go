// Package site is the composition root: it assembles the runtime pieces
// that a policy file describes (the storages, the repository on them,
// engine adapters, the connections to databases and restore targets) and
// builds every job from them. The CLI, the daemon and signed requests get
// their backup, restore, verify and drill jobs from BackupJob,
// RestoreRequest, VerifyRequest and DrillSpec, adding only what is theirs
// (Run: the repository they opened, who started the job, a --parallel
// flag), so a policy means the same thing to all of them.
//
// site holds wiring, not use cases: what a job does lives in backup,
// restore, drill, prune and mirror.
package site
