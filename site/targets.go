package site

import (
	"context"
	"fmt"
	"slices"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/restore"
)

// RestoreTarget is restore_target block t as package restore takes it: its
// connection and what the policy allows on it.
func RestoreTarget(cfg *config.Config, t *config.RestoreTarget) restore.Target {
	return restore.Target{Name: t.Name, Conn: TargetConn(cfg, t), Scratch: t.Scratch, AllowRestore: t.AllowRestore,
		KeepOnFailure: t.KeepOnFailure}
}

// ScratchTargets are the policy's restore targets dbopsd creates databases
// of its own on (scratch targets, and allow_restore ones for an engine's
// table-restore scratch copy) with their engines, where
// restore.CleanupStale looks for what a crash left behind.
// A target whose engine this build lacks is an error, with the others
// returned all the same.
func ScratchTargets(cfg *config.Config) ([]restore.CleanupTarget, error) {
	var out []restore.CleanupTarget
	var firstErr error
	for _, name := range sortedTargets(cfg) {
		t := cfg.RestoreTargets[name]
		if !t.Scratch && !t.AllowRestore {
			continue // dbopsd creates no database of its own there
		}
		eng, err := Engine(t.Engine)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("restore_target %q: %w", name, err)
			}
			continue
		}
		out = append(out, restore.CleanupTarget{Target: RestoreTarget(cfg, t), Engine: eng})
	}
	return out, firstErr
}

// DatabaseExists reports whether database name exists on the server of
// restore target t, through the target engine's own check: the signed
// request gate's request.ExistsFunc. Its errors are the engine's; the gate
// says what it was checking.
func DatabaseExists(cfg *config.Config) func(ctx context.Context, t *config.RestoreTarget, name string) (bool, error) {
	return func(ctx context.Context, t *config.RestoreTarget, name string) (bool, error) {
		eng, err := Engine(t.Engine)
		if err != nil {
			return false, fmt.Errorf("restore_target %q: %w", t.Name, err)
		}
		return eng.DatabaseExists(ctx, TargetConn(cfg, t), name)
	}
}

func sortedTargets(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.RestoreTargets))
	for name := range cfg.RestoreTargets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
