package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/internal/atomicfile"
	"github.com/dbopsd/dbopsd/logging"
	"github.com/dbopsd/dbopsd/register"
	"github.com/dbopsd/dbopsd/site"
	"github.com/dbopsd/dbopsd/storage"
)

// The register commands read the restore register the daemon writes; only
// `register anchor` writes, and only to the repository's storage.

type registerOpts struct {
	globals
	file           string // a register file (a copy, for an auditor); default <state dir>/register.jsonl
	since          string
	configExplicit bool
	// show
	request string
	// export
	csv, xlsx bool
	output    string
	lang      string
	noBOM     bool
	force     bool
	// verify
	noAnchors bool
}

// registerEnv is what the register commands work with.
type registerEnv struct {
	cfg  *config.Config // nil without a policy file
	path string
	loc  *time.Location
}

func (o *registerOpts) open() (*registerEnv, error) {
	cfg, err := optionalConfig(&o.globals, o.configExplicit)
	if err != nil {
		return nil, err
	}
	e := &registerEnv{cfg: cfg, path: o.file, loc: time.Local}
	if cfg != nil && cfg.Daemon.Location != nil {
		e.loc = cfg.Daemon.Location
	}
	if e.path == "" {
		dir := o.stateDir
		if dir == "" && cfg != nil {
			dir = cfg.Daemon.StateDir
		}
		if dir == "" {
			return nil, usageError("no policy file to find the state directory: pass --config, --state-dir or --file")
		}
		e.path = filepath.Join(dir, register.FileName)
	}
	if _, err := os.Stat(e.path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no restore register at %s (the daemon creates it when it receives its first request)", e.path)
		}
		return nil, fmt.Errorf("reading restore register: %w", err)
	}
	return e, nil
}

// sinceTime parses --since: a date (in the daemon's time zone) or an RFC 3339 time.
func (o *registerOpts) sinceTime(loc *time.Location) (time.Time, error) {
	if o.since == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", o.since, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, o.since); err == nil {
		return t, nil
	}
	return time.Time{}, usageError("--since %q: want a date (2026-03-01) or an RFC 3339 time", o.since)
}

func addRegisterFlags(fs *flag.FlagSet, o *registerOpts, sio stdio, withSince bool) {
	addGlobals(fs, &o.globals, true, sio)
	fs.StringVar(&o.file, "file", "", "read this register file instead of the state directory's (e.g. a copy)")
	if withSince {
		fs.StringVar(&o.since, "since", "", "only requests received from this date (2026-03-01) or time on")
	}
}

func registerShowCmd() command {
	var o registerOpts
	return command{
		name: "register show",
		summary: "Show the restore register (数据库恢复登记表), oldest entry first.\n" +
			"Every request received, approval, refusal (with its reason), start and outcome.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addRegisterFlags(fs, &o, sio, true)
			fs.StringVar(&o.request, "request", "", "only the entries of this request id")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				o.configExplicit = flagWasSet(fs, "config")
				return runRegisterShow(o)
			}
		},
	}
}

func runRegisterShow(o registerOpts) error {
	e, err := o.open()
	if err != nil {
		return err
	}
	since, err := o.sinceTime(e.loc)
	if err != nil {
		return err
	}
	all, err := register.ReadFile(e.path)
	if err != nil {
		return err
	}
	// Entries after --since, and the later entries of requests received then.
	refs := map[int64]bool{}
	shown := []register.Entry{}
	for _, en := range all {
		keep := !en.Time.Before(since) || refs[en.Ref]
		if en.Kind == register.Received && keep {
			refs[en.Seq] = true
		}
		if keep && (o.request == "" || en.Request == o.request) {
			shown = append(shown, en)
		}
	}
	if o.jsonOut {
		return printJSON(o.stdout, shown)
	}
	fmt.Fprintf(o.stdout, "%-5s  %-19s  %-9s  %-24s  %s\n", "SEQ", "TIME", "KIND", "REQUEST", "DETAIL")
	for _, en := range shown {
		fmt.Fprintf(o.stdout, "%-5d  %-19s  %-9s  %-24s  %s\n", en.Seq, en.Time.In(e.loc).Format("2006-01-02 15:04:05"), en.Kind, en.Request, entryDetail(en))
	}
	return nil
}

// entryDetail says in one line what an entry records.
func entryDetail(e register.Entry) string {
	switch e.Kind {
	case register.Received:
		if e.Action == "" {
			return fmt.Sprintf("%d bytes from %s (not a valid request)", e.Size, e.Source)
		}
		s := fmt.Sprintf("%s of %s onto %s as %s, by %s", e.Action, e.Database, e.Target, e.As, e.Requester)
		if len(e.Tables) > 0 {
			s += ", tables " + strings.Join(e.Tables, ", ")
		}
		if e.Replace {
			s += ", replace"
		}
		if e.Source != "" {
			s += " (from " + e.Source + ")"
		}
		return s
	case register.Approved:
		return "approved by " + e.Signer
	case register.Refused:
		return e.Refusal
	case register.Accepted:
		if len(e.Approvers) == 0 {
			return "accepted (no approval needed)"
		}
		return "accepted, approved by " + strings.Join(e.Approvers, ", ")
	case register.Started:
		return "started on backup " + e.Backup
	case register.Finished:
		s := fmt.Sprintf("%s in %s", e.Outcome, e.Duration().Round(time.Second))
		if e.Error != "" {
			s += ": " + e.Error
		}
		return s
	}
	return e.Note
}

func registerExportCmd() command {
	var o registerOpts
	return command{
		name:  "register export",
		usage: "--csv|--xlsx -o FILE",
		summary: "Export the restore register for the bureau as CSV or XLSX, one row per request.\n" +
			"Columns 日期, 数据库, 使用的备份, 恢复目标, 申请人, 审批人, 原因, 结果, 耗时 (English with --lang en).\n" +
			"The register is verified first; a damaged one is exported only with --force.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addRegisterFlags(fs, &o, sio, true)
			fs.BoolVar(&o.csv, "csv", false, "write CSV (UTF-8 with a byte-order mark, for spreadsheet programs)")
			fs.BoolVar(&o.xlsx, "xlsx", false, "write an Excel workbook")
			fs.StringVar(&o.output, "o", "", "output file (\"-\": standard output, CSV only)")
			fs.StringVar(&o.lang, "lang", "zh-CN", "language of headers and outcomes: zh-CN or en")
			fs.BoolVar(&o.noBOM, "no-bom", false, "CSV without the byte-order mark")
			fs.BoolVar(&o.force, "force", false, "export even if the register fails verification")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				o.configExplicit = flagWasSet(fs, "config")
				return runRegisterExport(o)
			}
		},
	}
}

func runRegisterExport(o registerOpts) error {
	if o.csv == o.xlsx {
		return usageError("give one of --csv and --xlsx")
	}
	if o.output == "" || (o.output == "-" && o.xlsx) {
		return usageError("-o FILE is required (\"-\" for standard output, CSV only)")
	}
	lang, err := i18n.NormalizeLang(o.lang)
	if err != nil {
		return usageError("--lang: %v", err)
	}
	e, err := o.open()
	if err != nil {
		return err
	}
	since, err := o.sinceTime(e.loc)
	if err != nil {
		return err
	}
	rep, err := register.VerifyFile(e.path, nil)
	if err != nil {
		return err
	}
	if !rep.OK() {
		if !o.force {
			return fmt.Errorf("the register fails verification (%s); see dbopsd register verify, or export anyway with --force", rep.Problems[0])
		}
		fmt.Fprintf(o.stderr, "warning: the register fails verification (%s); exporting anyway\n", rep.Problems[0])
	}
	entries, err := register.ReadFile(e.path)
	if err != nil {
		return err
	}
	var rows []register.Row
	for _, r := range register.Rows(entries) {
		if !r.Date.Before(since) {
			rows = append(rows, r)
		}
	}
	write := func(w io.Writer) error {
		if o.xlsx {
			return register.WriteXLSX(w, rows, lang, e.loc)
		}
		return register.WriteCSV(w, rows, lang, e.loc, !o.noBOM)
	}
	if o.output == "-" {
		return write(o.stdout)
	}
	err = atomicfile.Write(o.output, 0o640, func(w io.Writer) error {
		if err := write(w); err != nil {
			return fmt.Errorf("writing %s: %w", o.output, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "wrote %d request(s) to %s\n", len(rows), o.output)
	return nil
}

func registerVerifyCmd() command {
	var o registerOpts
	return command{
		name: "register verify",
		summary: "Verify the restore register offline and name the first bad line.\n" +
			"Detects any entry edited, deleted, inserted or reordered, and, against the anchors in\n" +
			"the repository, entries cut from the end. Exits 0 only when intact.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addRegisterFlags(fs, &o, sio, false)
			fs.BoolVar(&o.noAnchors, "no-anchors", false, "do not read the anchors from the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				o.configExplicit = flagWasSet(fs, "config")
				return runRegisterVerify(ctx, o)
			}
		},
	}
}

func runRegisterVerify(ctx context.Context, o registerOpts) error {
	e, err := o.open()
	if err != nil {
		return err
	}
	var anchors []register.Anchor
	anchorNote := "anchors: not checked (--no-anchors)"
	if !o.noAnchors {
		if e.cfg == nil {
			anchorNote = "anchors: not checked (no policy file naming the repository; pass --config)"
		} else {
			st, err := anchorStorage(ctx, o.globals, e.cfg)
			if err != nil {
				return err
			}
			if anchors, err = register.ListAnchors(ctx, st, register.AnchorPrefix); err != nil {
				return err
			}
			anchorNote = fmt.Sprintf("anchors: %d in %s", len(anchors), st)
			if n := len(anchors); n > 0 {
				anchorNote += fmt.Sprintf(", the newest at seq %d, written %s", anchors[n-1].Seq, anchors[n-1].Time.In(e.loc).Format("2006-01-02 15:04:05"))
			}
		}
	}
	rep, err := register.VerifyFile(e.path, anchors)
	if err != nil {
		return err
	}
	if o.jsonOut {
		if err := printJSON(o.stdout, map[string]any{"ok": rep.OK(), "file": e.path, "report": rep}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.stdout, "register %s: %d lines, head seq %d (%s)\n%s\n", e.path, rep.Lines, rep.Head.Seq, rep.Head.Hash, anchorNote)
		if rep.OK() {
			fmt.Fprintln(o.stdout, "intact: no entry edited, deleted, inserted or reordered")
		} else {
			fmt.Fprintf(o.stdout, "TAMPERED OR DAMAGED: first bad line %d\n", rep.Problems[0].Line)
			for _, p := range rep.Problems {
				fmt.Fprintf(o.stdout, "  %s\n", p)
			}
		}
	}
	if !rep.OK() {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func anchorStorage(ctx context.Context, g globals, cfg *config.Config) (storage.Storage, error) {
	logger := logging.New(logging.Options{JSON: g.logJSON, Level: g.logLevel, Output: g.stderr})
	return site.OpenStorage(ctx, cfg, cfg.Repository.Storage, logger)
}

func registerAnchorCmd() command {
	var o registerOpts
	return command{
		name: "register anchor",
		summary: "Anchor the restore register: store its head hash in the repository's storage.\n" +
			"Writes a new object under register/anchors/ (as the daemon does periodically), after\n" +
			"verifying the register.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addRegisterFlags(fs, &o, sio, false)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runRegisterAnchor(ctx, o)
			}
		},
	}
}

func runRegisterAnchor(ctx context.Context, o registerOpts) error {
	o.configExplicit = true // anchoring needs the repository the policy names
	e, err := o.open()
	if err != nil {
		return err
	}
	// Anchor only an intact register: an anchor vouches for what precedes it.
	rep, err := register.VerifyFile(e.path, nil)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("the register fails verification (%s): not anchoring it; see dbopsd register verify", rep.Problems[0])
	}
	st, err := anchorStorage(ctx, o.globals, e.cfg)
	if err != nil {
		return err
	}
	// On object-locked storage, keep anchors as long as any backup is kept.
	var opts storage.PutOptions
	for _, p := range e.cfg.Policies {
		if t := site.RetainUntil(e.cfg, p, time.Now()); t.After(opts.RetainUntil) {
			opts.RetainUntil = t
		}
	}
	a, err := register.WriteAnchor(ctx, st, register.AnchorPrefix, rep.Head, time.Now(), opts)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return printJSON(o.stdout, map[string]any{"key": a.Key, "seq": a.Seq, "hash": a.Hash, "time": a.Time})
	}
	fmt.Fprintf(o.stdout, "anchored seq %d (%s) as %s in %s\n", a.Seq, a.Hash, a.Key, st)
	return nil
}
