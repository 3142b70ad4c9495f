package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// Restore implements engines.Engine.
//
// A whole-database restore creates the database, then runs the schema
// archive's pre-data section (types, functions, tables, sequences),
// loads every table part with COPY FROM in parallel, several parts of one
// table at once when it was split (no index, constraint
// or trigger exists yet to slow it down or fire), and finally the data and
// post-data sections (sequence values, large objects, indexes,
// constraints, triggers, policies, materialized view refreshes) with
// pg_restore -j. Last, the database gets the owner, connection limit,
// comment, privileges and settings the source database had.
//
// A table restore does the same for the archive entries of the tables
// asked for, chosen by catalog OID from the meta part: the table, its owned
// sequences, defaults, constraints, indexes, triggers, rules, policies and
// comments, plus whatever functions, types or schemas they need that the
// target database lacks.
func (e *Engine) Restore(ctx context.Context, target engines.Conn, req engines.RestoreRequest, source engines.PartSource) (*engines.RestoreReport, error) {
	if req.Database == "" {
		return nil, fault.Permanent(errors.New("restore: no database name given"))
	}
	if len(req.Database) > 63 {
		return nil, fault.Permanent(fmt.Errorf("restore into %q: PostgreSQL names are at most 63 bytes", req.Database))
	}
	r := &restorer{e: e, target: target, req: req, src: source, parallel: max(1, req.Parallel)}
	r.log = logger(req.Logger).With("database", req.Database)
	var err error
	if len(req.Tables) > 0 {
		err = r.restoreTables(ctx)
	} else {
		err = r.restoreDatabase(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("restore into PostgreSQL database %s: %w", req.Database, err)
	}
	return &r.report, nil
}

type restorer struct {
	e        *Engine
	target   engines.Conn
	req      engines.RestoreRequest
	src      engines.PartSource
	parallel int
	log      hclog.Logger

	meta      *meta
	cfg       *pgx.ConnConfig // for req.Database
	cc        childConn
	pgRestore tool
	dir       string // temporary: the schema archive and list files
	archive   string
	toc       []*tocEntry
	noOwner   bool // roles are missing on the target
	report    engines.RestoreReport
}

// prepare reads the meta part and finds pg_restore for the target server.
func (r *restorer) prepare(ctx context.Context, admin *pgx.Conn) error {
	m, err := readMeta(ctx, r.src)
	if err != nil {
		return err
	}
	r.meta = m
	if r.cfg, err = config(r.target, r.req.Database); err != nil {
		return err
	}
	if r.cc, err = newChildConn(r.target, r.req.Database); err != nil {
		return err
	}
	var targetNum int
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&targetNum); err != nil {
		return classify(fmt.Errorf("reading the target server's version: %w", err))
	}
	// pg_restore must read the archive (written by the backup's pg_dump)
	// and speak to the target server.
	r.pgRestore, err = r.e.findTool(ctx, r.target.BinDir, "pg_restore", max(targetNum/10000, m.PgDumpMajor))
	if err != nil {
		return err
	}
	if targetNum/10000 < m.ServerVersionNum/10000 {
		r.report.AddNote(engines.Note{Key: NoteOlderServer, Params: engines.Params{
			"backup_version": strconv.Itoa(m.ServerVersionNum / 10000), "server_version": strconv.Itoa(targetNum / 10000)}})
	}
	return nil
}

// fetchSchema copies the schema part to a temporary file: pg_restore needs
// a seekable archive for -L and -j.
func (r *restorer) fetchSchema(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "dbopsd-pg-restore-*")
	if err != nil {
		return fmt.Errorf("creating a temporary directory: %w", err)
	}
	r.dir = dir
	r.archive = filepath.Join(dir, "schema.dump")
	var info *engines.PartInfo
	for _, p := range r.src.Parts() {
		if p.Kind == engines.KindSchema && p.Name == schemaPart {
			info = &p
		}
	}
	if info == nil {
		return fault.Permanent(fmt.Errorf("the backup has no %s part", schemaPart))
	}
	if info.Format != formatSchema {
		return fault.Permanent(fmt.Errorf("part %s has format %q; this version reads %q", schemaPart, info.Format, formatSchema))
	}
	rc, err := r.src.Open(ctx, schemaPart)
	if err != nil {
		return fmt.Errorf("opening part %s: %w", schemaPart, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(r.archive, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", r.archive, err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("reading part %s: %w", schemaPart, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", r.archive, err)
	}
	r.toc, err = r.readTOC(ctx, r.archive)
	return err
}

func (r *restorer) cleanup() {
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
}

// missingRoles returns those of roles that the target server lacks.
func missingRoles(ctx context.Context, conn *pgx.Conn, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	rows, err := conn.Query(ctx, `SELECT r FROM unnest($1::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) ORDER BY 1`, roles)
	if err != nil {
		return nil, classify(fmt.Errorf("looking up roles on the target server: %w", err))
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, classify(fmt.Errorf("looking up roles on the target server: %w", err))
	}
	return missing, nil
}

// planOwnership decides, from the roles that are missing on the target,
// whether ownership and privileges can be restored, and which policies
// cannot be created at all. It returns the IDs of entries to leave out.
func (r *restorer) planOwnership(missing []string, policies []metaPolicy) map[int]bool {
	skip := map[int]bool{}
	if len(missing) == 0 {
		return skip
	}
	r.noOwner = true
	r.report.AddSkipped(engines.Note{Key: NoteOwnershipNotRestored, Params: engines.Params{
		"roles": strings.Join(missing, ", "), "user": r.cfg.User}})
	gone := map[string]bool{}
	for _, m := range missing {
		gone[m] = true
	}
	byOID := map[uint32]metaPolicy{}
	for _, p := range policies {
		for _, role := range p.Roles {
			if gone[role] {
				byOID[p.OID] = p
			}
		}
	}
	for _, e := range r.toc {
		if p, ok := byOID[e.OID]; ok && e.TableOID == pgPolicyOID {
			skip[e.ID] = true
			r.report.AddSkipped(engines.Note{Key: NotePolicyNotCreated, Params: engines.Params{
				"policy": p.Name, "table": p.Table.String(), "roles": strings.Join(p.Roles, ", ")}})
		}
	}
	return skip
}

func (r *restorer) ownerArgs() []string {
	if r.noOwner {
		return []string{"--no-owner", "--no-privileges"}
	}
	return nil
}

// pgRestoreSections runs pg_restore for the listed entries of the given
// sections.
func (r *restorer) pgRestoreSections(ctx context.Context, list string, jobs int, sections ...string) error {
	args := []string{"--exit-on-error", "--no-password", "--use-list=" + list, "--dbname=" + r.cc.conninfo}
	for _, s := range sections {
		args = append(args, "--section="+s)
	}
	if jobs > 1 {
		args = append(args, fmt.Sprintf("--jobs=%d", jobs))
	}
	args = append(args, r.ownerArgs()...)
	args = append(args, r.archive)
	start := time.Now()
	if _, err := run(ctx, r.pgRestore, args, r.cc, nil); err != nil {
		return fmt.Errorf("restoring the %s section: %w", strings.Join(sections, " and "), err)
	}
	r.log.Debug("schema section restored", "sections", strings.Join(sections, ","), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *restorer) restoreDatabase(ctx context.Context) (err error) {
	started := time.Now()
	admin, err := maintenanceConn(ctx, r.target, r.req.Database)
	if err != nil {
		return err
	}
	defer func() {
		if admin != nil {
			closeConn(admin)
		}
	}()
	if err := r.prepare(ctx, admin); err != nil {
		return err
	}
	defer r.cleanup()

	exists, err := databaseExists(ctx, admin, r.req.Database)
	if err != nil {
		return err
	}
	if exists && !r.req.Replace {
		return fmt.Errorf("database %s %w on the target server", r.req.Database, engines.ErrExists)
	}
	// Fetch the schema before dropping anything: a damaged backup must not
	// cost the existing database.
	if err := r.fetchSchema(ctx); err != nil {
		return err
	}
	if exists {
		r.log.Info("dropping the existing database")
		if err := dropDatabase(ctx, admin, r.req.Database); err != nil {
			return err
		}
	}
	note, err := createDatabase(ctx, admin, r.req.Database, r.meta)
	if err != nil {
		return err
	}
	if note != nil {
		r.report.AddNote(*note)
	}
	closeConn(admin)
	admin = nil
	defer func() {
		if err != nil {
			// A half-restored database must not pass for a restored one.
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if dropErr := dropDatabaseVia(dctx, r.target, r.req.Database); dropErr != nil {
				err = fmt.Errorf("%w (and dropping the half-restored database: %v)", err, dropErr)
			}
		}
	}()

	conn, err := connect(ctx, r.cfg)
	if err != nil {
		return err
	}
	missing, err := missingRoles(ctx, conn, r.meta.Roles)
	closeConn(conn)
	if err != nil {
		return err
	}
	skip := r.planOwnership(missing, r.meta.allPolicies())
	list, _, err := writeList(r.dir, "all.list", r.toc, func(e *tocEntry) bool { return !skip[e.ID] })
	if err != nil {
		return err
	}
	if err := r.pgRestoreSections(ctx, list, 1, "pre-data"); err != nil {
		return err
	}
	var tables []engines.TableRef
	for _, t := range r.meta.Tables {
		tables = append(tables, t.ref())
	}
	if err := r.loadTables(ctx, tables); err != nil {
		return err
	}
	if err := r.pgRestoreSections(ctx, list, r.parallel, "data", "post-data"); err != nil {
		return err
	}
	if err := r.applyDatabaseProps(ctx); err != nil {
		return err
	}
	r.log.Info("database restored", "tables", len(tables), "duration", time.Since(started).Round(time.Millisecond))
	return nil
}

// dropDatabaseVia drops a database through a fresh maintenance connection.
func dropDatabaseVia(ctx context.Context, target engines.Conn, name string) error {
	admin, err := maintenanceConn(ctx, target, name)
	if err != nil {
		return err
	}
	defer closeConn(admin)
	return dropDatabase(ctx, admin, name)
}

// loadTables loads the data parts of tables, biggest first, req.Parallel
// at a time; the parts of a split table load in parallel too, and its row
// count is checked against the sum of its parts.
func (r *restorer) loadTables(ctx context.Context, tables []engines.TableRef) error {
	want := map[engines.TableRef]bool{}
	for _, t := range tables {
		want[table(t)] = true
	}
	type job struct {
		part engines.PartInfo
		mt   *metaTable
		size int64
	}
	var jobs []job
	for _, p := range r.src.Parts() {
		if p.Kind != engines.KindTable || p.Table == nil || !want[table(*p.Table)] {
			continue
		}
		if p.Format != formatData {
			return fault.Permanent(fmt.Errorf("part %s has format %q; this version reads %q", p.Name, p.Format, formatData))
		}
		mt := r.meta.table(*p.Table)
		if mt == nil {
			return fault.Permanent(fmt.Errorf("part %s: table %s is not in the backup's meta part", p.Name, p.Table))
		}
		j := job{part: p, mt: mt}
		if r.req.Snapshot != nil {
			if st, ok := r.req.Snapshot.Table(*p.Table); ok {
				j.size = st.Bytes
			}
		}
		jobs = append(jobs, j)
	}
	// The parts of a split table (block ranges) load on several
	// connections at once, like the parts of different tables.
	count := map[engines.TableRef]int{}
	for _, j := range jobs {
		count[j.mt.ref()]++
	}
	for i := range jobs {
		jobs[i].size = partSize(jobs[i].size, count[jobs[i].mt.ref()])
	}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].size > jobs[b].size })

	var mu sync.Mutex
	loaded := map[engines.TableRef]int64{}
	g, gctx := errgroup.WithContext(ctx)
	queue := make(chan job)
	g.Go(func() error {
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for range max(1, min(r.parallel, len(jobs))) {
		g.Go(func() error {
			conn, err := connect(gctx, r.cfg)
			if err != nil {
				return err
			}
			defer closeConn(conn)
			if _, err := conn.Exec(gctx, "SET synchronous_commit = off"); err != nil {
				return fmt.Errorf("setting up a load session: %w", err)
			}
			for j := range queue {
				start := time.Now()
				n, err := r.loadPart(gctx, conn, j.part, j.mt)
				if err != nil {
					return err
				}
				mu.Lock()
				loaded[j.mt.ref()] += n
				mu.Unlock()
				r.log.Debug("table loaded", "table", j.mt.ref().String(), "part", j.part.Name, "rows", n, "duration", time.Since(start).Round(time.Millisecond))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if r.req.Snapshot != nil {
		for t, n := range loaded {
			if st, ok := r.req.Snapshot.Table(t); ok && st.Rows != n {
				return fmt.Errorf("table %s: %d rows loaded, the backup recorded %d", t, n, st.Rows)
			}
		}
	}
	return nil
}

func (r *restorer) loadPart(ctx context.Context, conn *pgx.Conn, p engines.PartInfo, mt *metaTable) (int64, error) {
	rc, err := r.src.Open(ctx, p.Name)
	if err != nil {
		return 0, fmt.Errorf("opening part %s: %w", p.Name, err)
	}
	defer rc.Close()
	n, err := copyIn(ctx, conn, mt.ref(), mt.Columns, rc)
	if err != nil {
		return 0, fmt.Errorf("loading table %s from part %s: %w", mt.ref(), p.Name, classify(err))
	}
	return n, nil
}
