package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/dbopsd/dbopsd/internal/atomicfile"
)

// HeartbeatFile is written in the state directory every minute while the
// daemon runs; at start it tells how long the daemon was away.
const HeartbeatFile = "heartbeat"

func readHeartbeat(stateDir string) time.Time {
	b, err := os.ReadFile(filepath.Join(stateDir, HeartbeatFile))
	if err != nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	return t
}

func writeHeartbeat(stateDir string, t time.Time) error {
	return atomicfile.WriteFile(filepath.Join(stateDir, HeartbeatFile), []byte(t.UTC().Format(time.RFC3339Nano)+"\n"), 0o600)
}

// heartbeat writes the heartbeat every interval until ctx ends, and once
// more then.
func heartbeat(ctx context.Context, clock clockwork.Clock, stateDir string, interval time.Duration, warn func(error)) error {
	t := clock.NewTicker(interval)
	defer t.Stop()
	for {
		if err := writeHeartbeat(stateDir, clock.Now()); err != nil {
			warn(err)
		}
		select {
		case <-ctx.Done():
			if err := writeHeartbeat(stateDir, clock.Now()); err != nil {
				warn(err)
			}
			return nil
		case <-t.Chan():
		}
	}
}
