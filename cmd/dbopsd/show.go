package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/repository"
)

type showOpts struct {
	globals
	database string
	backupID string
	storage  string
}

func showCmd() command {
	var o showOpts
	return command{
		name: "show",
		summary: "Show what one backup holds: type and generation, server version and snapshot position,\n" +
			"every table with its rows and checksum, parts and sizes, warnings.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			fs.StringVar(&o.database, "database", "", "database (its label in the policy)")
			fs.StringVar(&o.backupID, "backup", "", "backup id or a unique prefix of it (default: the newest)")
			fs.StringVar(&o.storage, "storage", "", "read from this mirror instead of the repository's storage")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runShow(ctx, o)
			}
		},
	}
}

func runShow(ctx context.Context, o showOpts) error {
	if o.database == "" {
		return usageError("--database is required")
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := e.openRepo(ctx, o.storage)
	if err != nil {
		return err
	}
	m, err := repo.FindBackup(ctx, o.database, o.backupID)
	if err != nil {
		return err
	}
	if o.jsonOut {
		// The manifest minus chunk lists: those are the repository's business.
		type part struct {
			engines.PartInfo
			Size         int64  `json:"size"`
			Chunks       int    `json:"chunks"`
			Method       string `json:"method,omitempty"`
			MethodReason string `json:"method_reason,omitempty"`
		}
		parts := make([]part, len(m.Parts))
		for i, p := range m.Parts {
			parts[i] = part{p.PartInfo, p.Size, len(p.Chunks), p.Method, p.MethodReason}
		}
		verified, err := verification(ctx, e, m.Database, m.ID)
		if err != nil {
			return err
		}
		return printJSON(o.stdout, map[string]any{"verified": verified,
			"id": m.ID, "database": m.Database, "engine": m.Engine, "type": m.Type, "generation": m.Generation,
			"base": m.Base, "reason": m.Reason, "trigger": m.Trigger, "host": m.Host, "started_at": m.StartedAt,
			"finished_at": m.FinishedAt, "snapshot": m.Snapshot, "parts": parts, "stats": m.Stats,
		})
	}
	w := o.stdout
	engine := m.Engine
	if m.Snapshot != nil && m.Snapshot.Meta["flavor"] != "" {
		// The server's own kind: "mariadb" for a MariaDB server, which the
		// policy also calls mariadb and the engine's name (mysql) would hide.
		engine = m.Snapshot.Meta["flavor"]
	}
	fmt.Fprintf(w, "backup      %s\ndatabase    %s (%s)\ntype        %s", m.ID, m.Database, engine, m.Type)
	if m.Type != "full" {
		fmt.Fprintf(w, " of full %s", m.Base)
	}
	fmt.Fprintf(w, "\ngeneration  %s\ntaken       %s on %s, %s, trigger %s\n", m.Generation,
		m.StartedAt.Local().Format("2006-01-02 15:04:05"), m.Host, m.Duration().Round(time.Millisecond), orDash(m.Trigger))
	if m.Reason != "" {
		fmt.Fprintf(w, "note        %s\n", m.Reason)
	}
	verified, err := verification(ctx, e, m.Database, m.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "verified    %s\n", verified)
	if s := m.Snapshot; s != nil {
		fmt.Fprintf(w, "server      %s\nposition    %s\n", s.ServerVersion, orDash(s.Position))
		if s.Consistency != "" {
			fmt.Fprintf(w, "consistency %s\n", s.Consistency)
		}
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "warning     %s\n", warn)
		}
	}
	fmt.Fprintf(w, "size        %s raw, %s stored by this backup, %s referenced (%d chunks, %d new)\n\n",
		humanize.Bytes(m.Stats.RawBytes), humanize.Bytes(m.Stats.StoredBytes), humanize.Bytes(m.Stats.ReferencedBytes), m.Stats.Chunks, m.Stats.NewChunks)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tSIZE\tCHECKSUM"+storedHeader(m))
	var why []string // a differential: how each table was stored, and why
	if m.Snapshot != nil {
		tables := append([]engines.TableStats(nil), m.Snapshot.Tables...)
		engines.SortTables(tables)
		for _, t := range tables {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s", tableName(t.Table), t.Rows, humanize.Bytes(t.Bytes), t.Checksum)
			if storedHeader(m) != "" {
				method, reasons := m.TableMethod(t.Table)
				fmt.Fprintf(tw, "\t%s", orDash(method))
				for _, r := range reasons {
					why = append(why, fmt.Sprintf("  %s: %s", tableName(t.Table), r))
				}
			}
			fmt.Fprintln(tw)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(why) > 0 {
		fmt.Fprintf(w, "\nhow tables were stored (rows: only the rows changed since the full)\n%s\n", strings.Join(why, "\n"))
	}
	return nil
}

// storedHeader is the STORED column's header for a differential.
func storedHeader(m *repository.Manifest) string {
	if m.Type == repository.Differential {
		return "\tSTORED"
	}
	return ""
}

// verification says whether backup id was verified, from the catalog: "ok
// at …", "failed at …" or "not yet".
func verification(ctx context.Context, e *env, database, id string) (string, error) {
	bs, err := e.cat.Backups(ctx, database)
	if err != nil {
		return "", err
	}
	for _, b := range bs {
		if b.ID != id {
			continue
		}
		if b.VerifyStatus == "" {
			return "not yet", nil
		}
		if b.VerifiedAt.IsZero() {
			return b.VerifyStatus, nil
		}
		return b.VerifyStatus + " at " + b.VerifiedAt.Local().Format("2006-01-02 15:04:05"), nil
	}
	return "unknown: not in the catalog (dbopsd catalog rebuild)", nil
}

// tableName prints a table name that reads back as one name: a part that
// is not a plain identifier is quoted as SQL does ("a.b", "say ""hi"""),
// and one with control characters (a newline would break the table) as
// U&"a\000Ab", PostgreSQL's escaped form.
func tableName(t engines.TableRef) string {
	if t.Schema == "" {
		return quoteIdent(t.Name)
	}
	return quoteIdent(t.Schema) + "." + quoteIdent(t.Name)
}

func quoteIdent(s string) string {
	plain := s != ""
	control := false
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || r == '$')):
		case unicode.IsControl(r) || !unicode.IsPrint(r):
			plain, control = false, true
		default:
			plain = false
		}
	}
	switch {
	case plain:
		return s
	case !control:
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	var b strings.Builder
	b.WriteString(`U&"`)
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`""`)
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsControl(r) || !unicode.IsPrint(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\+%06X`, r)
			} else {
				fmt.Fprintf(&b, `\%04X`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
