// Package config reads and validates dbopsd policy files (HCL).
//
// Secrets come from env("NAME") and file("/path") and are held as
// secret.Value. Errors are hcl.Diagnostics with file, line, column and the
// offending snippet; a configuration with any error is refused whole.
package config
