package site

import (
	"github.com/dbopsd/dbopsd/engines"
	// Every adapter registers itself with engines; this import is what
	// links them into the CLI, the daemon and drills (engines/doc.go).
	_ "github.com/dbopsd/dbopsd/engines/all"
)

// Engine returns the adapter for an engine name from a policy file.
func Engine(name string) (engines.Engine, error) {
	return engines.New(name)
}
