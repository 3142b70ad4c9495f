package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/logging"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/site"
)

// globals are the flags every command that reads the policy takes.
type globals struct {
	configPath string
	stateDir   string
	logJSON    bool
	logLevel   string
	jsonOut    bool
	quiet      bool
	stdout     io.Writer
	stderr     io.Writer
}

func addGlobals(fs *flag.FlagSet, g *globals, withJSON bool, sio stdio) {
	fs.StringVar(&g.configPath, "config", config.DefaultPath(), "policy file (HCL); also $DBOPS_CONFIG")
	fs.StringVar(&g.stateDir, "state-dir", "", "state directory holding the catalog (default: daemon.state_dir)")
	fs.BoolVar(&g.logJSON, "log-json", false, "write logs as JSON lines")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.BoolVar(&g.quiet, "q", false, "no progress display")
	if withJSON {
		fs.BoolVar(&g.jsonOut, "json", false, "print the result as JSON")
	}
	g.stdout, g.stderr = sio.out, sio.err
}

// env is what a command works with once the policy is loaded.
type env struct {
	g      *globals
	cfg    *config.Config
	logger hclog.Logger
	cat    *catalog.Catalog
}

// loadConfig reads and validates the policy, printing diagnostics.
func loadConfig(g *globals) (*config.Config, error) {
	cfg, diags := config.Load(g.configPath)
	if len(diags) > 0 {
		config.PrintDiagnostics(g.stderr, diags)
	}
	if _, err := os.Stat(g.configPath); errors.Is(err, fs.ErrNotExist) {
		return nil, &exitError{code: 1, err: fmt.Errorf("no policy file at %s (%s): pass --config FILE or set DBOPS_CONFIG; config.hcl in the source tree is a sample",
			g.configPath, configSource(g.configPath))}
	}
	if diags.HasErrors() {
		return nil, &exitError{code: 1, err: fmt.Errorf("%s is not a valid policy file", g.configPath)}
	}
	return cfg, nil
}

// setup loads the policy, builds the logger and opens the catalog.
func setup(g *globals) (*env, error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	logger := logging.New(logging.Options{JSON: g.logJSON, Level: g.logLevel, Output: g.stderr})
	stateDir := g.stateDir
	if stateDir == "" {
		stateDir = cfg.Daemon.StateDir
	}
	cat, err := catalog.Open(stateDir)
	if err != nil {
		return nil, catalogError(err, stateDir)
	}
	return &env{g: g, cfg: cfg, logger: logger, cat: cat}, nil
}

// configSource says where the policy file's path came from.
func configSource(path string) string {
	switch {
	case os.Getenv("DBOPS_CONFIG") == path:
		return "from $DBOPS_CONFIG"
	case path == config.DefaultConfigPath:
		return "the default"
	}
	return "from --config"
}

// catalogError adds to a failure to open the catalog the advice that fits
// it: a full disk is not cured by choosing another state directory, a
// directory that cannot be made or written may be.
func catalogError(err error, stateDir string) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		strings.Contains(err.Error(), "disk is full"): // SQLite's SQLITE_FULL: "database or disk is full"
		return fmt.Errorf("%w (the file system holding %s is full: free space there)", err, stateDir)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (set daemon.state_dir or pass --state-dir)", err)
	}
	return err
}

func (e *env) close() {
	if e.cat != nil {
		e.cat.Close()
	}
}

// openRepo opens the repository (or a mirror) and brings the catalog up to
// date with it.
func (e *env) openRepo(ctx context.Context, storageOverride string) (*repository.Repo, error) {
	repo, err := site.OpenRepository(ctx, e.cfg, storageOverride, e.logger)
	if err != nil {
		return nil, err
	}
	return repo, nil
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint(os.Getuid())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// langFlag is the language a --lang value names, def when it is "".
func langFlag(value string, def i18n.Lang) (i18n.Lang, error) {
	if value == "" {
		return def, nil
	}
	l, err := i18n.NormalizeLang(value)
	if err != nil {
		return "", usageError("--lang: %v", err)
	}
	return l, nil
}

// writeTo writes a page or report with write to stdout when path is "-",
// else to the file path (created or truncated); what names it in errors.
func writeTo(path string, stdout io.Writer, what string, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing the %s: %w", what, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the %s: %w", what, err)
	}
	return nil
}

func needArgs(args []string, n int, what string) error {
	if len(args) != n {
		return &exitError{code: 2, err: fmt.Errorf("expected %s, got %q", what, strings.Join(args, " "))}
	}
	return nil
}

func usageError(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}
