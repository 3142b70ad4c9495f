package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/internal/atomicfile"
	"github.com/dbopsd/dbopsd/request"
)

// The request commands: new, sign, approve, verify and canonical work on a
// request file without the daemon; submit sends one to the daemon, and
// status follows it there, over the daemon's socket or, with --server, over
// HTTPS to its request listener (request_server.go). Either way the daemon
// authenticates the request by its signatures alone.

// describeRequest says what a request asks for, in one line.
func describeRequest(r *request.Request) string {
	p := r.Parameters
	if r.Action == request.ActionMaintenance {
		return fmt.Sprintf("maintenance of %s: %s", p.Database, r.MaintenanceText())
	}
	backup := "the newest backup"
	if p.Backup != "" {
		backup = "backup " + p.Backup
	}
	what := r.Action + " of " + p.Database
	if len(p.Tables) > 0 {
		what += " (tables " + strings.Join(p.Tables, ", ") + ")"
	}
	s := fmt.Sprintf("%s from %s onto %s as %q", what, backup, p.Target, p.As)
	if p.Replace {
		s += ", replacing an existing one"
	}
	if r.Requester != "" {
		s += ", requested by " + r.Requester
	}
	return s
}

// writeRequest writes r to path ("-": stdout), atomically; an existing file
// is replaced only when replace is set (signing rewrites the file it read).
func writeRequest(path string, r *request.Request, replace bool, stdout io.Writer) error {
	data := r.Marshal()
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if !replace {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: remove it or choose another name", path)
		}
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing request %s: %w", path, err)
	}
	return nil
}

// optionalConfig loads the policy when there is one: request and register
// commands work without it (on a DBA's workstation, or on a copy of the
// register), but check against it when it is there. A policy named with
// --config or $DBOPS_CONFIG must load.
func optionalConfig(g *globals, explicit bool) (*config.Config, error) {
	if !explicit && os.Getenv("DBOPS_CONFIG") == "" {
		if _, err := os.Stat(g.configPath); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return loadConfig(g)
}

func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
