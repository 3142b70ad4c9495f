package enginetest

import (
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

// Pipeline runs the suite's Differential case through the production path:
// backup.Run into a real repository, then restore.Verify and
// restore.Restore. Those packages sit above engines, and enginetest imports
// nothing above engines (ARCHITECTURE.md, "Layers"), so the case lives in
// internal/pipelinetest, and every adapter's test passes
// pipelinetest.New() as Setup.Pipeline.
type Pipeline interface {
	// Full takes a full backup of src into a fresh repository. Run calls it
	// before any case changes src.
	Full(t *testing.T, s Setup, src Database)
	// Differential runs after Mutate: a differential of src joins the full's
	// generation, both verify on the target server, and the full still
	// restores to the state it recorded.
	Differential(t *testing.T, s Setup, src Database)
}

// StatsEqual fails t unless the statistics of the tables of want in
// database on the server of conn equal want.
func (s Setup) StatsEqual(t *testing.T, conn engines.Conn, database string, want []engines.TableStats) {
	t.Helper()
	(&runner{Setup: s}).statsEqual(t, conn, database, want)
}

// DropAtCleanup drops database name on the server of conn when t ends.
func (s Setup) DropAtCleanup(t *testing.T, conn engines.Conn, name string) {
	(&runner{Setup: s}).dropAtCleanup(t, conn, name)
}

// NewName returns a database name that is a plain identifier in every
// engine, unique across runs on a shared server.
func NewName(purpose string) string { return newName(purpose) }
