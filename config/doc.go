// Package config reads and validates dbopsd policy files (HCL).
//
// Secrets come from env("NAME") and file("/path") and are held as
// secret.Value. Errors are hcl.Diagnostics with file, line, column and the
// offending snippet; a configuration with any error is refused whole.
//
// # Using it
//
//	cfg, diags := config.Load(config.DefaultPath()) // or the --config flag
//	config.PrintDiagnostics(os.Stderr, diags)       // warnings too; snippets included
//	if diags.HasErrors() {
//		return errors.New("invalid configuration") // cfg is nil
//	}
//	db, err := cfg.Database("queue")   // error lists the defined names
//	policy := cfg.PolicyFor(db)
//
// The diagnostics carry the source they point into, so PrintDiagnostics
// needs nothing else; it uses colour only on a terminal. Parse does the same
// for a policy held in memory (tests, SIGHUP reloads of a file read once).
//
// # What is checked
//
// The schema is explicit (decode.go): an unknown block or argument is an
// error with a "did you mean". Then validate.go checks values and the
// references between blocks: engines, storage types, schedules (named or a
// five-field cron expression) and the named schedules' day and times
// (full_day, full_time, differential_time, differential_anchor; a warning
// where a cron expression makes them moot), windows, the timezone, DSNs (which must not
// hold a password), SSH keys and roles of signers, notify types and events,
// report languages, and the contract's rule that a critical database gets a
// backup at least every two weeks.
//
// # Engines
//
// Engines and their DSNs come from the engine registry (engines.Register):
// an engine name or alias is checked, and a DSN parsed, by the adapter that
// registered it. The daemon { } block also takes each registered engine's
// client-tool setting (engines.Registration.ToolDirSetting: pg_bin_dir, where
// pg_dump and pg_restore live), read into Daemon.ToolDirs; an adapter that
// registers a setting adds it to the schema without a change here.
//
// # Secrets
//
// env() of an unset variable is "" (an empty password means none: trust or
// peer authentication). file() of an unreadable file is an error: a daemon
// must not start without its secret. Relative file() paths are taken from
// the policy file's directory. A secret written literally into the file is
// accepted with a warning. No diagnostic shows a secret: literal secrets and
// DSN passwords are replaced by a fixed mask in the snippets, and a value
// from env() or file(), even in a setting that is not a secret, is named by
// its source ("the value of env(\"TZ\")") in every message about it.
// file() reads regular files only (a FIFO or device is refused at once).
//
// # Hostile input
//
// limits.go bounds what the loader accepts, so that no input ends the
// process or runs for long: a policy file is at most MaxPolicyFile bytes,
// nests at most MaxNesting levels (checked on hcl's tokens before parsing,
// since hcl recurses per level and a Go stack overflow is fatal), and has no
// string of more than MaxTemplateParts pieces. Snippets are cut around their
// subject, messages quote at most 256 bytes of a value, and at most a
// hundred diagnostics are returned.
package config
