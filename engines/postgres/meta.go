package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// meta is the "meta/tables.json" part: what a restore needs to know that
// the pg_dump archive does not say plainly. Objects are named by their
// catalog OIDs at backup time, which are also the OIDs in the archive's table
// of contents (both come from the same snapshot): that is how a single-table
// restore picks exactly its table's entries, whatever the names look like.
type meta struct {
	Version          int         `json:"version"`
	ServerVersionNum int         `json:"server_version_num"`
	PgDumpVersion    string      `json:"pg_dump_version"`
	PgDumpMajor      int         `json:"pg_dump_major"`
	Encoding         string      `json:"encoding"`
	Collate          string      `json:"collate"`
	Ctype            string      `json:"ctype"`
	Roles            []string    `json:"roles"` // every role the archive names
	Tables           []metaTable `json:"tables"`
	// Parents are the partitioned tables: no data of their own, but a
	// table restore of one restores its partitions with it.
	Parents []metaTable `json:"parents,omitempty"`
	// Policies are all row-level security policies, partitioned tables'
	// included: one naming a role the target lacks cannot be created.
	Policies []metaPolicy `json:"policies,omitempty"`
	// Database holds the properties of the database itself, which the
	// archive carries only for pg_restore --create, under the source's
	// name. Nil in metas written before they were recorded: a restore of
	// such a backup applies none.
	Database *metaDatabase `json:"database,omitempty"`
}

// metaDatabase is what a whole-database restore gives the new database
// after loading it (see dbprops.go).
type metaDatabase struct {
	Name      string `json:"name"` // at backup time
	Owner     string `json:"owner"`
	ConnLimit int    `json:"conn_limit"` // -1: no limit
	Comment   string `json:"comment,omitempty"`
	// DefaultACL: datacl was NULL, the built-in default relative to the
	// owner (PUBLIC may connect and create temporary tables); ACL is then
	// empty. Otherwise ACL is datacl, item by item; an empty one means
	// every privilege was revoked, the owner's too.
	DefaultACL bool        `json:"default_acl"`
	ACL        []metaGrant `json:"acl,omitempty"`
	// Settings are pg_db_role_setting's entries for the database, in
	// order: those for every role first (ALTER DATABASE ... SET), then
	// those for one role in it (ALTER ROLE ... IN DATABASE ... SET).
	Settings []metaSetting `json:"settings,omitempty"`
}

// metaGrant is one item of aclexplode(datacl).
type metaGrant struct {
	Grantee   string `json:"grantee"` // "": PUBLIC
	Grantor   string `json:"grantor"`
	Privilege string `json:"privilege"` // CONNECT, CREATE or TEMPORARY
	Grantable bool   `json:"grantable,omitempty"`
}

// metaSetting is one "name=value" of pg_db_role_setting.setconfig. Value
// is the server's flattened text: list values of GUC_LIST_QUOTE
// parameters (search_path) hold double-quoted identifiers.
type metaSetting struct {
	Role  string `json:"role,omitempty"` // "": every role (setrole = 0)
	Name  string `json:"name"`
	Value string `json:"value"`
}

// roles lists the roles the database's properties name.
func (d *metaDatabase) roles() []string {
	seen := map[string]bool{d.Owner: true}
	for _, g := range d.ACL {
		seen[g.Grantor] = true
		if g.Grantee != "" {
			seen[g.Grantee] = true
		}
	}
	for _, s := range d.Settings {
		if s.Role != "" {
			seen[s.Role] = true
		}
	}
	delete(seen, "")
	return sortedKeys(seen)
}

type metaTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	OID    uint32 `json:"oid"`
	// Columns are loaded by COPY, in order: neither dropped nor generated.
	Columns     []string         `json:"columns"`
	Roles       []string         `json:"roles,omitempty"` // owner, grantees, policy roles
	Sequences   []metaObject     `json:"sequences,omitempty"`
	Defaults    []uint32         `json:"defaults,omitempty"` // pg_attrdef OIDs
	Indexes     []metaObject     `json:"indexes,omitempty"`
	Constraints []metaConstraint `json:"constraints,omitempty"`
	Triggers    []metaObject     `json:"triggers,omitempty"`
	Rules       []metaObject     `json:"rules,omitempty"`
	// Partitions of a partitioned table, at every level, by OID.
	Partitions []uint32 `json:"partitions,omitempty"`
}

type metaObject struct {
	OID  uint32 `json:"oid"`
	Name string `json:"name"`
}

type metaConstraint struct {
	OID  uint32 `json:"oid"`
	Name string `json:"name"`
	Type string `json:"type"` // pg_constraint.contype
	// Ref is the referenced table of a foreign key.
	Ref *engines.TableRef `json:"ref,omitempty"`
}

type metaPolicy struct {
	Rel   uint32           `json:"rel"` // the table's OID
	Table engines.TableRef `json:"table"`
	OID   uint32           `json:"oid"`
	Name  string           `json:"name"`
	Roles []string         `json:"roles,omitempty"` // empty: PUBLIC
}

func (m *meta) table(t engines.TableRef) *metaTable {
	t = table(t)
	for i := range m.Tables {
		if m.Tables[i].Schema == t.Schema && m.Tables[i].Name == t.Name {
			return &m.Tables[i]
		}
	}
	return nil
}

// parent finds a partitioned table.
func (m *meta) parent(t engines.TableRef) *metaTable {
	t = table(t)
	for i := range m.Parents {
		if m.Parents[i].Schema == t.Schema && m.Parents[i].Name == t.Name {
			return &m.Parents[i]
		}
	}
	return nil
}

// byOID finds a table or partitioned table by its OID at backup time.
func (m *meta) byOID(oid uint32) *metaTable {
	for _, list := range [][]metaTable{m.Tables, m.Parents} {
		for i := range list {
			if list[i].OID == oid {
				return &list[i]
			}
		}
	}
	return nil
}

func (m *meta) allPolicies() []metaPolicy { return m.Policies }

func (m *meta) policiesOf(rel uint32) []metaPolicy {
	var out []metaPolicy
	for _, p := range m.Policies {
		if p.Rel == rel {
			out = append(out, p)
		}
	}
	return out
}

func (mt *metaTable) ref() engines.TableRef {
	return engines.TableRef{Schema: mt.Schema, Name: mt.Name}
}

// userRelation selects the relations of c (joined with its namespace n)
// that pg_dump dumps: not in a system schema, not a member of an extension.
const userRelation = `n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

// listTablesSQL lists the tables whose data dbopsd copies itself: ordinary
// tables and leaf partitions, logged or unlogged, not temporary. Tables of
// extensions are left out, and so is the data of their configuration tables,
// which pg_dump keeps (only the rows the extension did not create itself).
const listTablesSQL = `SELECT c.oid, n.nspname, c.relname, coalesce(pg_table_size(c.oid), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u') AND ` + userRelation + `
ORDER BY 4 DESC, 2, 3`

// listParentsSQL lists the partitioned tables.
const listParentsSQL = `SELECT c.oid, n.nspname, c.relname, 0::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'p' AND ` + userRelation + `
ORDER BY 2, 3`

type tableInfo struct {
	OID  uint32
	Ref  engines.TableRef
	Size int64
}

func listTables(ctx context.Context, q *pgx.Conn) ([]tableInfo, error) {
	return queryTables(ctx, q, listTablesSQL)
}

func queryTables(ctx context.Context, q *pgx.Conn, sql string) ([]tableInfo, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tableInfo, error) {
		var ti tableInfo
		err := r.Scan(&ti.OID, &ti.Ref.Schema, &ti.Ref.Name, &ti.Size)
		return ti, err
	})
}

// rolesSQL lists every role a pg_dump archive of the database names: owners
// and grantees of what pg_dump dumps, policy roles, default privileges.
const rolesSQL = `WITH refs(r) AS (
	SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + userRelation + `
	UNION SELECT (aclexplode(c.relacl)).grantee FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relacl IS NOT NULL AND ` + userRelation + `
	UNION SELECT (aclexplode(a.attacl)).grantee FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attacl IS NOT NULL AND ` + userRelation + `
	UNION SELECT n.nspowner FROM pg_namespace n WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION SELECT (aclexplode(n.nspacl)).grantee FROM pg_namespace n WHERE n.nspacl IS NOT NULL AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
	UNION SELECT (aclexplode(p.proacl)).grantee FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proacl IS NOT NULL AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
	UNION SELECT (aclexplode(t.typacl)).grantee FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typacl IS NOT NULL AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION SELECT lomowner FROM pg_largeobject_metadata
	UNION SELECT (aclexplode(lomacl)).grantee FROM pg_largeobject_metadata WHERE lomacl IS NOT NULL
	UNION SELECT unnest(polroles) FROM pg_policy
	UNION SELECT defaclrole FROM pg_default_acl
	UNION SELECT (aclexplode(defaclacl)).grantee FROM pg_default_acl
	UNION SELECT evtowner FROM pg_event_trigger
	UNION SELECT pubowner FROM pg_publication
	UNION SELECT srvowner FROM pg_foreign_server
	UNION SELECT fdwowner FROM pg_foreign_data_wrapper
	UNION SELECT umuser FROM pg_user_mapping
	UNION SELECT o.oprowner FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION SELECT co.collowner FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
)
SELECT rolname FROM pg_roles WHERE oid IN (SELECT r FROM refs) ORDER BY 1`

// collectMeta reads, inside the backup's snapshot, what restores need.
func collectMeta(ctx context.Context, q *pgx.Conn, versionNum int, tables []tableInfo) (*meta, error) {
	parents, err := queryTables(ctx, q, listParentsSQL)
	if err != nil {
		return nil, fmt.Errorf("listing partitioned tables: %w", err)
	}
	m := &meta{Version: 1, ServerVersionNum: versionNum}
	if err := q.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()`).
		Scan(&m.Encoding, &m.Collate, &m.Ctype); err != nil {
		return nil, fmt.Errorf("reading the database's encoding: %w", err)
	}
	if m.Database, err = collectDatabase(ctx, q); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, rolesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing the roles the schema names: %w", err)
	}
	if m.Roles, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("listing the roles the schema names: %w", err)
	}

	var oids []uint32
	byOID := make(map[uint32]*metaTable, len(tables)+len(parents))
	m.Tables = make([]metaTable, len(tables))
	for i, t := range tables {
		m.Tables[i] = metaTable{Schema: t.Ref.Schema, Name: t.Ref.Name, OID: t.OID}
	}
	m.Parents = make([]metaTable, len(parents))
	for i, t := range parents {
		m.Parents[i] = metaTable{Schema: t.Ref.Schema, Name: t.Ref.Name, OID: t.OID}
	}
	for _, list := range [][]metaTable{m.Tables, m.Parents} {
		for i := range list {
			oids = append(oids, list[i].OID)
			byOID[list[i].OID] = &list[i]
		}
	}

	generated := ""
	if versionNum >= 120000 {
		generated = " AND a.attgenerated = ''"
	}
	type step struct {
		what string
		sql  string
		scan func(pgx.CollectableRow) error
	}
	steps := []step{
		{"columns", `SELECT a.attrelid, array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
			WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped` + generated + ` GROUP BY a.attrelid`,
			func(r pgx.CollectableRow) error {
				var oid uint32
				var cols []string
				if err := r.Scan(&oid, &cols); err != nil {
					return err
				}
				byOID[oid].Columns = cols
				return nil
			}},
		{"roles", `SELECT c.oid, ARRAY(SELECT rolname::text FROM pg_roles r WHERE r.oid = c.relowner
				OR r.oid IN (SELECT (aclexplode(c.relacl)).grantee)
				OR r.oid IN (SELECT (aclexplode(a.attacl)).grantee FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
				OR r.oid IN (SELECT unnest(p.polroles) FROM pg_policy p WHERE p.polrelid = c.oid) ORDER BY 1)
			FROM pg_class c WHERE c.oid = ANY($1)`,
			func(r pgx.CollectableRow) error {
				var oid uint32
				var roles []string
				if err := r.Scan(&oid, &roles); err != nil {
					return err
				}
				byOID[oid].Roles = roles
				return nil
			}},
		{"sequences", `SELECT d.refobjid, s.oid, s.relname::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
			WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY($1) AND d.deptype IN ('a', 'i')
			ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Sequences = append(mt.Sequences, o) })},
		{"defaults", `SELECT adrelid, oid, '' FROM pg_attrdef WHERE adrelid = ANY($1) ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Defaults = append(mt.Defaults, o.OID) })},
		{"indexes", `SELECT i.indrelid, i.indexrelid, c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = ANY($1) ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Indexes = append(mt.Indexes, o) })},
		{"triggers", `SELECT tgrelid, oid, tgname::text FROM pg_trigger WHERE tgrelid = ANY($1) AND NOT tgisinternal ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Triggers = append(mt.Triggers, o) })},
		{"rules", `SELECT ev_class, oid, rulename::text FROM pg_rewrite WHERE ev_class = ANY($1) AND rulename <> '_RETURN' ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Rules = append(mt.Rules, o) })},
		{"constraints", `SELECT co.conrelid, co.oid, co.conname::text, co.contype::text, rn.nspname::text, rc.relname::text
			FROM pg_constraint co LEFT JOIN pg_class rc ON rc.oid = co.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
			WHERE co.conrelid = ANY($1) ORDER BY 2`,
			func(r pgx.CollectableRow) error {
				var rel uint32
				var c metaConstraint
				var refSchema, refName *string
				if err := r.Scan(&rel, &c.OID, &c.Name, &c.Type, &refSchema, &refName); err != nil {
					return err
				}
				if refSchema != nil && refName != nil {
					c.Ref = &engines.TableRef{Schema: *refSchema, Name: *refName}
				}
				byOID[rel].Constraints = append(byOID[rel].Constraints, c)
				return nil
			}},
		{"partitions", `WITH RECURSIVE tree(root, rel) AS (
				SELECT c.oid, c.oid FROM pg_class c WHERE c.oid = ANY($1) AND c.relkind = 'p'
				UNION ALL SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel)
			SELECT root, rel, '' FROM tree WHERE rel <> root ORDER BY 2`,
			objectsInto(byOID, func(mt *metaTable, o metaObject) { mt.Partitions = append(mt.Partitions, o.OID) })},
		{"policies", `SELECT p.polrelid, n.nspname::text, c.relname::text, p.oid, p.polname::text,
				ARRAY(SELECT rolname::text FROM pg_roles r WHERE r.oid = ANY(p.polroles) ORDER BY 1)
			FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE $1::oid[] IS NOT NULL ORDER BY 4`,
			func(r pgx.CollectableRow) error {
				var p metaPolicy
				if err := r.Scan(&p.Rel, &p.Table.Schema, &p.Table.Name, &p.OID, &p.Name, &p.Roles); err != nil {
					return err
				}
				m.Policies = append(m.Policies, p)
				return nil
			}},
	}
	for _, s := range steps {
		rows, err := q.Query(ctx, s.sql, oids)
		if err != nil {
			return nil, fmt.Errorf("reading the tables' %s: %w", s.what, err)
		}
		if _, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) { return struct{}{}, s.scan(r) }); err != nil {
			return nil, fmt.Errorf("reading the tables' %s: %w", s.what, err)
		}
	}
	return m, nil
}

// The database's own properties, from the shared catalogs. A query's
// snapshot covers shared catalogs too, so they are read as of the backup's
// snapshot like the rest.
const (
	databaseSQL = `SELECT d.datname::text, pg_get_userbyid(d.datdba)::text, d.datconnlimit,
	coalesce(shobj_description(d.oid, 'pg_database'), ''), d.datacl IS NULL
FROM pg_database d WHERE d.datname = current_database()`
	databaseACLSQL = `SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
	pg_get_userbyid(a.grantor)::text, a.privilege_type, a.is_grantable
FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()`
	databaseSettingsSQL = `SELECT CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole)::text END, c.cfg
FROM pg_db_role_setting s, unnest(s.setconfig) WITH ORDINALITY c(cfg, n)
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.setrole <> 0, 1, c.n`
)

func collectDatabase(ctx context.Context, q *pgx.Conn) (*metaDatabase, error) {
	d := &metaDatabase{}
	if err := q.QueryRow(ctx, databaseSQL).Scan(&d.Name, &d.Owner, &d.ConnLimit, &d.Comment, &d.DefaultACL); err != nil {
		return nil, fmt.Errorf("reading the database's owner and comment: %w", err)
	}
	rows, err := q.Query(ctx, databaseACLSQL)
	if err == nil {
		d.ACL, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (metaGrant, error) {
			var g metaGrant
			err := r.Scan(&g.Grantee, &g.Grantor, &g.Privilege, &g.Grantable)
			return g, err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("reading the database's privileges: %w", err)
	}
	rows, err = q.Query(ctx, databaseSettingsSQL)
	if err == nil {
		d.Settings, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (metaSetting, error) {
			var s metaSetting
			var cfg string
			if err := r.Scan(&s.Role, &cfg); err != nil {
				return s, err
			}
			// As the server does (ParseLongOption): the name ends at the first "=".
			s.Name, s.Value, _ = strings.Cut(cfg, "=")
			return s, nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("reading the database's settings: %w", err)
	}
	return d, nil
}

func objectsInto(byOID map[uint32]*metaTable, add func(*metaTable, metaObject)) func(pgx.CollectableRow) error {
	return func(r pgx.CollectableRow) error {
		var rel uint32
		var o metaObject
		if err := r.Scan(&rel, &o.OID, &o.Name); err != nil {
			return err
		}
		add(byOID[rel], o)
		return nil
	}
}

// readMeta finds and decodes the meta part of a backup.
func readMeta(ctx context.Context, src engines.PartSource) (*meta, error) {
	var info *engines.PartInfo
	for _, p := range src.Parts() {
		if p.Kind == engines.KindMeta && p.Name == metaPart {
			info = &p
			break
		}
	}
	if info == nil {
		return nil, fault.Permanent(fmt.Errorf("the backup has no %s part: not a PostgreSQL backup of this format", metaPart))
	}
	if info.Format != formatMeta {
		return nil, fault.Permanent(fmt.Errorf("part %s has format %q; this version reads %q", metaPart, info.Format, formatMeta))
	}
	rc, err := src.Open(ctx, metaPart)
	if err != nil {
		return nil, fmt.Errorf("opening part %s: %w", metaPart, err)
	}
	defer rc.Close()
	var m meta
	if err := json.NewDecoder(io.LimitReader(rc, 256<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("reading part %s: %w", metaPart, err)
	}
	if m.Version != 1 {
		return nil, fault.Permanent(fmt.Errorf("part %s has version %d; this version reads 1", metaPart, m.Version))
	}
	return &m, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
