// Command dbopsd is the database operations daemon (`dbopsd agent`) and its
// command-line interface. Each command lives in its own file: flags are
// wired in a small function, the work is done by a runX(ctx, opts) function
// that tests call directly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one CLI command.
type command struct {
	name    string // "backup", "repo init", ...
	summary string
	usage   string // arguments after the name
	// setup registers flags on fs and returns the function that runs the
	// command after parsing (with the remaining arguments). Output goes to
	// sio, so tests run commands in-process.
	setup func(fs *flag.FlagSet, sio stdio) func(ctx context.Context, args []string) error
}

// stdio is where a command writes: results to out, logs and progress to err.
type stdio struct {
	out, err io.Writer
}

func commands() []command {
	return []command{
		backupCmd(), listCmd(), restoreCmd(), verifyCmd(), checkCmd(),
		repoInitCmd(), repoRekeyCmd(), catalogRebuildCmd(), logCmd(),
		configValidateCmd(), versionCmd(), showCmd(),
		pruneCmd(),
		mirrorCmd(),
		agentCmd(), statusCmd(), runCmd(),
		requestNewCmd(), requestSignCmd(), requestApproveCmd(), requestVerifyCmd(), requestCanonicalCmd(),
		requestSubmitCmd(), requestStatusCmd(),
		registerShowCmd(), registerExportCmd(), registerVerifyCmd(), registerAnchorCmd(),
		drillReportCmd(), drillListCmd(),
		diagnoseHistoryCmd(), diagnoseCmd(), findingsCmd(),
	}
}

// exitError carries an exit code through error returns.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent is a failure whose details were already printed.
var errSilent = errors.New("")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest, ok := findCommand(args)
	if !ok {
		fmt.Fprintf(stderr, "dbopsd: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("dbopsd "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	runFn := cmd.setup(fs, stdio{out: stdout, err: stderr})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dbopsd %s [flags] %s\n\n%s\n\nFlags:\n", cmd.name, cmd.usage, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err := runFn(ctx, fs.Args())
	if err == nil {
		return 0
	}
	var ee *exitError
	code := 1
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "dbopsd %s: %s\n", cmd.name, msg)
	}
	return code
}

// findCommand matches the longest command name at the start of args.
func findCommand(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// interleave lets flags follow positional arguments ("request sign req.json
// --key k"), which the flag package alone does not.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "dbopsd %s — database backups, verified restores and diagnostics\n\nUsage: dbopsd <command> [flags]\n\nCommands:\n", version)
	cs := commands()
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, firstLine(c.summary))
	}
	fmt.Fprintf(w, "\nEvery command takes --config FILE (default $DBOPS_CONFIG, else /etc/dbopsd/config.hcl).\nRun `dbopsd <command> --help` for its flags.\n")
}

// firstLine is the summary's first sentence, on one line, for the command
// list.
func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 90 {
		s = string(r[:90])
		if i := strings.LastIndexAny(s, " ,"); i > 40 {
			s = s[:i]
		}
		s = strings.TrimRight(s, ",:") + " …"
	}
	return s
}
