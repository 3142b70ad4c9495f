package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/dbopsd/dbopsd/api"
)

// request submit and request status reach the daemon over its socket, or,
// with --server, over HTTPS at its request listener (daemon.request_listen)
// from another machine. The policy is not needed then: the daemon checks
// the request against its own.

// Environment variables that stand for --server and --ca-file, as
// DBOPS_CONFIG stands for --config: a DBA's workstation sets them once.
const (
	envServer = "DBOPS_SERVER"
	envCAFile = "DBOPS_CA_FILE"
)

// daemonFlags choose how request submit and request status reach the
// daemon.
type daemonFlags struct {
	socket string
	server string
	caFile string
	fs     *flag.FlagSet
}

func addDaemonFlags(fs *flag.FlagSet, d *daemonFlags) {
	d.fs = fs
	addSocket(fs, &d.socket)
	fs.StringVar(&d.server, "server", os.Getenv(envServer),
		"reach a remote daemon at its HTTPS request listener, https://host:port (default $"+envServer+"; without it, the local socket)")
	fs.StringVar(&d.caFile, "ca-file", os.Getenv(envCAFile),
		"with --server: PEM file of the CA that signed the daemon's certificate (default $"+envCAFile+", else the system's CAs)")
}

// remote reports whether the daemon is reached over HTTPS: --server, or
// $DBOPS_SERVER unless --socket is given.
func (d *daemonFlags) remote() bool {
	return d.server != "" && !(flagWasSet(d.fs, "socket") && !flagWasSet(d.fs, "server"))
}

// client connects to the daemon as the flags say.
func (d *daemonFlags) client(g *globals) (*api.Client, error) {
	if flagWasSet(d.fs, "socket") && flagWasSet(d.fs, "server") {
		return nil, usageError("--socket and --server both given: the local daemon's socket, or a remote daemon over HTTPS, not both")
	}
	if !d.remote() {
		if flagWasSet(d.fs, "ca-file") {
			return nil, usageError("--ca-file goes with --server: the socket needs no certificate")
		}
		return daemonClient(g, d.socket)
	}
	c, err := api.NewHTTPSClient(d.server, d.caFile)
	if errors.Is(err, api.ErrNotHTTPS) {
		return nil, usageError("--server: %v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	return c, nil
}

// explain adds to an error of an HTTPS call what to do about it.
func (d *daemonFlags) explain(err error) error {
	if !errors.Is(err, api.ErrUntrusted) {
		return err
	}
	if d.caFile == "" {
		return fmt.Errorf("%w; pass the CA certificate that signed it with --ca-file PEM (or $%s)", err, envCAFile)
	}
	return fmt.Errorf("%w; the CA certificates in %s did not verify it: is it the CA that signed the daemon's certificate, and does the certificate name this host?", err, d.caFile)
}

// args are the flags that reach the same daemon again, for the hints
// printed after a submit.
func (d *daemonFlags) args() string {
	if !d.remote() {
		if d.socket != "" {
			return " --socket " + d.socket
		}
		return ""
	}
	s := " --server " + d.server
	if d.caFile != "" {
		s += " --ca-file " + d.caFile
	}
	return s
}
