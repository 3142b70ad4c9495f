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
		reconcileRunCmd(), reconcileShowCmd(),
		reportMonthlyCmd(), reportWeeklyCmd(),
		maintenanceProposeCmd(), maintenanceListCmd(),
		dictDiffCmd(), dictCommentsCmd(), dictCmd(), volumeSampleCmd(), volumeCmd(),
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
		fmt.Fprintf(stderr, "dbopsd: unknown command %q", strings.Join(args[:min(2, len(args))], " "))
		if s := suggestCommand(args); s != "" {
			fmt.Fprintf(stderr, "; did you mean %q?", s)
		}
		fmt.Fprintf(stderr, "\nRun `dbopsd help` for the list of commands.\n")
		return 2
	}
	fs := flag.NewFlagSet("dbopsd "+cmd.name, flag.ContinueOnError)
	// The flag package prints its errors and the usage itself, to one
	// writer; help goes to stdout (asked for) and errors to stderr (a
	// mistake), so they are printed here instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runFn := cmd.setup(fs, stdio{out: stdout, err: stderr})
	if err := fs.Parse(interleave(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: dbopsd %s [flags] %s\n\n%s\n\nFlags:\n", cmd.name, cmd.usage, cmd.summary)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "dbopsd %s: %s\n", cmd.name, flagError(fs, err))
		fmt.Fprintf(stderr, "Run `dbopsd %s --help` for its flags.\n", cmd.name)
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

// suggestCommand is the command closest to a misspelt one, or "".
func suggestCommand(args []string) string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	// Two-word commands ("repo init") are matched on two words, the others
	// on the first.
	best := closest(args[0], names)
	if len(args) > 1 {
		if two := closest(args[0]+" "+args[1], names); two != "" && strings.Contains(two, " ") {
			best = two
		}
	}
	return best
}

// flagError rewrites the flag package's "flag provided but not defined:
// -tabel" as "unknown flag --tabel; did you mean --table?".
func flagError(fs *flag.FlagSet, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err.Error()
	}
	name = strings.TrimLeft(name, "-")
	msg := "unknown flag --" + name
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if s := closest(name, names); s != "" {
		msg += "; did you mean --" + s + "?"
	}
	return msg
}

// closest is the candidate nearest to s by edit distance, if near enough
// to be a typing mistake (at most a third of its length, and at least one
// edit), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", max(1, len([]rune(s))/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein (optimal string alignment)
// distance: a swap of two neighbouring letters counts as one edit.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
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
