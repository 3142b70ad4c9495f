package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/drill"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/site"
)

// The dict commands: the data dictionary (数据字典) of a database, what
// changed in it between runs, and the statements that would apply comments
// the business side wrote.

type dictOpts struct {
	globals
	database string
	all      bool
	formats  string
	out      string
	lang     string
	noSave   bool
	since    string
	from     string
}

var dictFormats = []string{"html", "md", "xlsx", "json"}

// dictMemoryLimit is the soft memory limit of dbopsd dict.
const dictMemoryLimit = 100 << 20

func dictCmd() command {
	var o dictOpts
	return command{
		name: "dict",
		summary: "Write the data dictionary (数据字典) of a database (or --all): schemas, tables and views,\n" +
			"columns, keys, indexes, foreign keys both ways, checks, triggers, routines, sequences, types,\n" +
			"partitions, rows and bytes, comment coverage, ER pictures, and what changed since the\n" +
			"previous run. --format html|md|xlsx|json (several: html,xlsx) into --out DIR. Each run is\n" +
			"stored in the repository and the catalog (--no-save: not; a repository that does not\n" +
			"open gets a warning, and the files are written all the same).",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.StringVar(&o.database, "database", "", "the database (a database block's name)")
			fs.BoolVar(&o.all, "all", false, "every database of the policy")
			fs.StringVar(&o.formats, "format", "html", "html, md, xlsx or json; several separated by commas")
			fs.StringVar(&o.out, "out", ".", "directory the files are written into")
			fs.StringVar(&o.lang, "lang", "", "language of the headings: zh-CN or en (default: the policy's report language)")
			fs.BoolVar(&o.noSave, "no-save", false, "do not store this run (what changed is still shown)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDict(ctx, o)
			}
		},
	}
}

func dictDiffCmd() command {
	var o dictOpts
	return command{
		name: "dict diff",
		summary: "List what changed between the stored dictionaries of a database: tables and columns\n" +
			"added, dropped, retyped, comments changed; --since DATE from that day on.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "the database (a database block's name)")
			fs.StringVar(&o.since, "since", "", "only runs on or after this date (YYYY-MM-DD), each compared with the run before it")
			fs.StringVar(&o.lang, "lang", "", "language: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDictDiff(ctx, o)
			}
		},
	}
}

func dictCommentsCmd() command {
	var o dictOpts
	return command{
		name: "dict comments",
		summary: "Show the COMMENT ON / ALTER TABLE … COMMENT statements that would apply the comments in\n" +
			"--from FILE (CSV or xlsx: schema, table, column, comment). Nothing is run here: apply them with\n" +
			"a signed maintenance request, `dbopsd request new maintenance --database X --comments-from FILE\n" +
			"-o r.json`, then request sign, request approve (approvals { maintenance = N }) and request submit;\n" +
			"the daemon sets them (PostgreSQL: in one transaction) and the register keeps each comment before\n" +
			"and after. The command to use is printed with the statements.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "the database (a database block's name)")
			fs.StringVar(&o.from, "from", "", "the comments file (.csv or .xlsx)")
			fs.StringVar(&o.lang, "lang", "", "language: zh-CN or en (default: the policy's report language)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runDictComments(ctx, o)
			}
		},
	}
}

func dictLang(cfg *config.Config, flagLang string) (i18n.Lang, error) {
	return langFlag(flagLang, i18n.Lang(drill.ReportLanguage(cfg)))
}

func dictDatabases(cfg *config.Config, o dictOpts) ([]*config.Database, error) {
	switch {
	case o.all && o.database != "":
		return nil, usageError("--database and --all exclude each other")
	case o.all:
		var dbs []*config.Database
		for _, name := range cfg.DatabaseNames() {
			dbs = append(dbs, cfg.Databases[name])
		}
		return dbs, nil
	case o.database == "":
		return nil, usageError("--database NAME (or --all) is required")
	}
	db, err := cfg.Database(o.database)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return []*config.Database{db}, nil
}

func runDict(ctx context.Context, o dictOpts) error {
	formats := map[string]bool{}
	for _, f := range strings.Split(o.formats, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "markdown" {
			f = "md"
		}
		if !contains(dictFormats, f) {
			return usageError("--format %q: want %s", f, strings.Join(dictFormats, ", "))
		}
		formats[f] = true
	}
	// Rendering thousands of tables (excelize above all) makes much
	// short-lived garbage: a soft memory limit keeps the peak near the live
	// heap (2,000 tables: about 110 MB instead of 200 MB), unless the
	// operator set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(dictMemoryLimit))
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	dbs, err := dictDatabases(e.cfg, o)
	if err != nil {
		return err
	}
	lang, err := dictLang(e.cfg, o.lang)
	if err != nil {
		return err
	}
	hs := history.Store{Catalog: e.cat}
	if !o.noSave {
		// Storing the run is what lets the next one mark changes; a
		// repository that does not open (not initialised yet, storage
		// down) must not cost the operator the dictionary itself.
		repo, err := e.openRepo(ctx, "")
		if err != nil {
			fmt.Fprintf(o.stderr, "warning: this run is not stored, so the next one cannot compare with it: %v\n", err)
		} else {
			hs.Repo = repo
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var failed []string
	for _, db := range dbs {
		err := dictOne(ctx, e, o, hs, db, formats, lang)
		switch {
		case errors.Is(err, dictionary.ErrNotSupported):
			fmt.Fprintf(o.stderr, "%s: not supported: the %s engine has no data dictionary\n", db.Name, db.Engine)
		case err != nil:
			fmt.Fprintf(o.stderr, "%s: %v\n", db.Name, err)
			failed = append(failed, db.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("no dictionary of %s", strings.Join(failed, ", "))
	}
	return nil
}

func dictOne(ctx context.Context, e *env, o dictOpts, hs history.Store, db *config.Database, formats map[string]bool, lang i18n.Lang) error {
	d, err := site.Dictionary(ctx, e.cfg, db)
	if err != nil {
		return err
	}
	doc := &dictionary.Document{Dict: d, Lang: lang, Location: e.cfg.Daemon.Location}
	prev, ok, err := dictionary.Previous(ctx, hs, db.Name, d.CollectedAt)
	if err != nil {
		return err
	}
	if ok {
		doc.Previous, doc.Changes = prev.CollectedAt, dictionary.Diff(prev, d)
	}
	if formats["html"] || formats["md"] {
		svgs, found, err := dictionary.Diagrams(ctx, d)
		if err != nil {
			return err
		}
		doc.Diagrams, doc.DiagramsMissing = svgs, !found
	}
	base := filepath.Join(o.out, safeFileName(db.Name))
	var written []string
	write := func(path string, fn func(*os.File) error) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		written = append(written, path)
		return f.Close()
	}
	if formats["json"] {
		if err := write(base+".json", func(f *os.File) error { return dictionary.WriteJSON(f, d) }); err != nil {
			return err
		}
	}
	if formats["html"] {
		if err := write(base+".html", func(f *os.File) error { return dictionary.HTML(f, doc) }); err != nil {
			return err
		}
	}
	if formats["xlsx"] {
		if err := write(base+".xlsx", func(f *os.File) error { return dictionary.XLSX(f, doc) }); err != nil {
			return err
		}
	}
	if formats["md"] {
		if _, err := dictionary.WriteMarkdown(base, doc); err != nil {
			return err
		}
		written = append(written, filepath.Join(base, "README.md"))
	}
	if hs.Repo != nil {
		if _, err := dictionary.Save(ctx, hs, d); err != nil {
			return err
		}
	}
	for _, w := range written {
		fmt.Fprintln(o.stdout, w)
	}
	if !o.quiet {
		fmt.Fprintf(o.stderr, "%s: %d tables, %d statements; %d changes since the previous dictionary\n", db.Name, len(d.Tables), d.Queries, len(doc.Changes))
	}
	return nil
}

// safeFileName keeps a database name usable as a file name.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < 32 {
			return '_'
		}
		return r
	}, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runDictDiff(ctx context.Context, o dictOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	if o.database == "" {
		return usageError("--database NAME is required")
	}
	if _, err := e.cfg.Database(o.database); err != nil {
		return usageError("%v", err)
	}
	lang, err := dictLang(e.cfg, o.lang)
	if err != nil {
		return err
	}
	loc := e.cfg.Daemon.Location
	if loc == nil {
		loc = time.Local
	}
	var since time.Time
	if o.since != "" {
		if since, err = time.ParseInLocation("2006-01-02", o.since, loc); err != nil {
			return usageError("--since: want YYYY-MM-DD, got %q", o.since)
		}
	}
	steps, err := dictionary.History(ctx, history.Store{Catalog: e.cat}, o.database, since)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return printJSON(o.stdout, steps)
	}
	if len(steps) == 0 {
		fmt.Fprintf(o.stdout, "%s: fewer than two stored dictionaries to compare (dbopsd dict stores one each run)\n", o.database)
		return nil
	}
	for _, s := range steps {
		fmt.Fprintf(o.stdout, "%s → %s\n", s.From.In(loc).Format("2006-01-02 15:04"), s.To.In(loc).Format("2006-01-02 15:04"))
		if len(s.Changes) == 0 {
			fmt.Fprintf(o.stdout, "  %s\n", i18n.T(lang, "dict.no_changes", nil))
		}
		for _, c := range s.Changes {
			fmt.Fprintf(o.stdout, "  %s\n", c.Text(lang))
		}
	}
	return nil
}

func runDictComments(ctx context.Context, o dictOpts) error {
	if o.from == "" {
		return usageError("--from FILE is required")
	}
	if o.database == "" {
		return usageError("--database NAME is required")
	}
	cs, err := commentStatements(ctx, &o.globals, o.database, o.from, o.lang)
	if err != nil {
		return err
	}
	stmts, skipped, lang := cs.stmts, cs.skipped, cs.lang
	command := commentsRequestCommand(o)
	note := i18n.T(lang, "dict.comments.pending", i18n.Params{"command": command})
	if o.jsonOut {
		return printJSON(o.stdout, map[string]any{"database": o.database, "statements": stmts, "skipped": skipped, "applied": false,
			"note": note, "command": command})
	}
	for _, s := range skipped {
		fmt.Fprintln(o.stderr, s)
	}
	if len(stmts) == 0 {
		fmt.Fprintln(o.stdout, "-- "+i18n.T(lang, "dict.comments.none", nil))
		return nil
	}
	fmt.Fprintln(o.stdout, "-- "+note)
	for _, s := range stmts {
		fmt.Fprintln(o.stdout, s.SQL)
	}
	return nil
}

// commentSet is what the comments of a file change in a database: the
// statements for the rows that differ from its comments now, sentences for
// the rows naming nothing in it, in lang.
type commentSet struct {
	dict    *dictionary.Dictionary
	stmts   []dictionary.Statement
	skipped []string
	lang    i18n.Lang
}

// commentStatements reads the comments file from and the dictionary of
// database, and compares them (dict comments, request new maintenance
// --comments-from). flagLang is --lang ("": the policy's report language).
func commentStatements(ctx context.Context, g *globals, database, from, flagLang string) (*commentSet, error) {
	e, err := setup(g)
	if err != nil {
		return nil, err
	}
	defer e.close()
	db, err := e.cfg.Database(database)
	if err != nil {
		return nil, usageError("%v", err)
	}
	lang, err := dictLang(e.cfg, flagLang)
	if err != nil {
		return nil, err
	}
	comments, err := readComments(from)
	if err != nil {
		return nil, err
	}
	d, err := site.Dictionary(ctx, e.cfg, db)
	if err != nil {
		return nil, err
	}
	stmts, skipped := dictionary.CommentStatements(d, comments, lang)
	return &commentSet{dict: d, stmts: stmts, skipped: skipped, lang: lang}, nil
}

// commentsRequestCommand is the command that writes the signed
// maintenance request applying the comments of o.from.
func commentsRequestCommand(o dictOpts) string {
	args := []string{"dbopsd", "request", "new", "maintenance"}
	if o.configPath != config.DefaultPath() {
		args = append(args, "--config", o.configPath)
	}
	args = append(args, "--database", o.database, "--comments-from", o.from, "-o", "comments-request.json")
	for i, a := range args {
		if strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}!#~") || a == "" {
			args[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(args, " ")
}

// readComments reads a CSV file, or the first sheet of an xlsx workbook.
func readComments(path string) ([]dictionary.Comment, error) {
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		f, err := excelize.OpenFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return dictionary.CommentsFromRows(rows)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return dictionary.ReadCommentsCSV(f)
}
