package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbopsd/dbopsd/engines"
)

// The properties of the database itself (owner, connection limit, comment,
// privileges, ALTER DATABASE/ROLE ... SET settings) live in the shared
// catalogs. pg_dump puts them in its archive only for pg_restore --create,
// under the source database's name, so a restore under any name would lose
// them: the meta part records them instead (collectDatabase) and a
// whole-database restore applies them here, to the new name.

// applyDatabaseProps gives the restored database the properties the backup
// recorded, once its data is loaded; settings come last, so that one like
// default_transaction_read_only cannot get in the way of the rest. What
// names a role missing on the target server is left out, and so is what
// the target server refuses (a parameter it does not know, a value it
// rejects): both are listed in the report's Skipped. A backup without
// recorded properties (an older meta part) gets none applied.
func (r *restorer) applyDatabaseProps(ctx context.Context) error {
	p := r.meta.Database
	if p == nil {
		return nil
	}
	conn, err := connect(ctx, r.cfg)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	missing, err := missingRoles(ctx, conn, p.roles())
	if err != nil {
		return err
	}
	a := &propApplier{r: r, conn: conn, name: r.req.Database, db: quoteIdent(r.req.Database), gone: map[string]bool{}}
	for _, m := range missing {
		a.gone[m] = true
	}
	before := len(r.report.Skipped)

	if p.Owner != "" && a.gone[p.Owner] {
		a.skip(engines.Note{Key: NoteDatabaseOwnerMissing, Params: engines.Params{"database": a.name, "owner": p.Owner}})
	} else if p.Owner != "" {
		what := engines.Note{Key: NoteDatabaseOwner, Params: engines.Params{"owner": p.Owner, "database": a.name}}
		if _, err := a.exec(ctx, what, "ALTER DATABASE "+a.db+" OWNER TO "+quoteIdent(p.Owner)); err != nil {
			return err
		}
	}
	if p.ConnLimit >= 0 {
		what := engines.Note{Key: NoteConnectionLimit, Params: engines.Params{"database": a.name}}
		if _, err := a.exec(ctx, what, "ALTER DATABASE "+a.db+" CONNECTION LIMIT "+strconv.Itoa(p.ConnLimit)); err != nil {
			return err
		}
	}
	if p.Comment != "" {
		what := engines.Note{Key: NoteDatabaseComment, Params: engines.Params{"database": a.name}}
		if _, err := a.exec(ctx, what, "COMMENT ON DATABASE "+a.db+" IS "+quoteLiteral(p.Comment)); err != nil {
			return err
		}
	}
	if !p.DefaultACL {
		if err := a.privileges(ctx, p); err != nil {
			return err
		}
	}
	for _, s := range p.Settings {
		if err := a.setting(ctx, s); err != nil {
			return err
		}
	}
	r.log.Info("database properties restored", "settings", len(p.Settings), "privileges", len(p.ACL), "skipped", len(r.report.Skipped)-before)
	return nil
}

// propApplier applies the properties of one database on one session.
type propApplier struct {
	r    *restorer
	conn *pgx.Conn
	name string          // the new database's name, for messages
	db   string          // the same, quoted
	gone map[string]bool // roles missing on the target server
}

func (a *propApplier) skip(n engines.Note) {
	a.r.report.AddSkipped(n)
}

// skipWhat skips what, for the reason key says (with params).
func (a *propApplier) skipWhat(what engines.Note, key string, params engines.Params) {
	a.skip(engines.Note{Key: key, Params: params, What: &what})
}

// exec runs the statements that restore what. When the server refuses them
// (an ERROR: the session goes on), what is skipped with the server's
// reason and exec reports false; anything else fails the restore.
func (a *propApplier) exec(ctx context.Context, what engines.Note, sql string) (bool, error) {
	_, err := a.conn.Exec(ctx, sql)
	if err == nil {
		return true, nil
	}
	var pgErr *pgconn.PgError
	if ctx.Err() == nil && errors.As(err, &pgErr) {
		sev := pgErr.SeverityUnlocalized
		if sev == "" {
			sev = pgErr.Severity
		}
		if sev == "ERROR" {
			a.skipWhat(what, NoteRefused, engines.Params{"error": pgErr.Message, "sqlstate": pgErr.Code})
			return false, nil
		}
	}
	return false, classify(fmt.Errorf("restoring the database's properties (%s): %w", what.English(), err))
}

// dbPrivileges are the privileges a database has, as aclexplode names them.
var dbPrivileges = map[string]bool{"CONNECT": true, "CREATE": true, "TEMPORARY": true}

// privileges makes the new database's ACL the recorded one: it revokes the
// new database's default (PUBLIC and the owner), then grants item by item.
// The source's owner stands for whoever owns the new database (the
// restoring user when the owner role is missing): the owner's own
// privileges and the grants it made follow the database.
func (a *propApplier) privileges(ctx context.Context, p *metaDatabase) error {
	var owner string
	if err := a.conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1`, a.name).Scan(&owner); err != nil {
		return classify(fmt.Errorf("reading the owner of database %s: %w", a.name, err))
	}
	rows, err := a.conn.Query(ctx, `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END
		FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = $1 ORDER BY 1`, a.name)
	var holders []string
	if err == nil {
		holders, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return classify(fmt.Errorf("reading the privileges of database %s: %w", a.name, err))
	}
	for _, h := range holders {
		what := engines.Note{Key: NoteRevoke, Params: engines.Params{"database": a.name, "role": granteeName(h)}}
		if _, err := a.exec(ctx, what, "REVOKE ALL ON DATABASE "+a.db+" FROM "+granteeSQL(h)); err != nil {
			return err
		}
	}

	// One GRANT per grantee, grantor and grant option, in the ACL's order.
	type grant struct {
		grantee, grantor string
		grantable        bool
		privs            []string
	}
	describe := func(g *grant) engines.Note {
		n := engines.Note{Key: NoteGrant, Params: engines.Params{
			"privileges": strings.Join(g.privs, ", "), "database": a.name, "grantee": granteeName(g.grantee)}}
		switch {
		case g.grantable && g.grantor != owner:
			n.Key = NoteGrantWithOptionBy
		case g.grantable:
			n.Key = NoteGrantWithOption
		case g.grantor != owner:
			n.Key = NoteGrantBy
		}
		if g.grantor != owner {
			n.Params["grantor"] = g.grantor
		}
		return n
	}
	follow := func(role string) string {
		if role == p.Owner {
			return owner
		}
		return role
	}
	type key struct {
		grantee, grantor string
		grantable        bool
	}
	var grants []*grant
	byKey := map[key]*grant{}
	for _, item := range p.ACL {
		k := key{follow(item.Grantee), follow(item.Grantor), item.Grantable}
		g := byKey[k]
		if g == nil {
			g = &grant{grantee: k.grantee, grantor: k.grantor, grantable: k.grantable}
			byKey[k] = g
			grants = append(grants, g)
		}
		g.privs = append(g.privs, strings.ToUpper(item.Privilege))
	}
	var pending []*grant
	for _, g := range grants {
		switch {
		case a.gone[g.grantee]:
			a.skipWhat(describe(g), NoteRoleMissing, engines.Params{"role": g.grantee})
		case a.gone[g.grantor]:
			a.skipWhat(describe(g), NoteGrantorMissing, engines.Params{"role": g.grantor})
		default:
			known := true
			for _, priv := range g.privs {
				known = known && dbPrivileges[priv]
			}
			if !known {
				a.skipWhat(describe(g), NoteUnknownPrivilege, nil)
				continue
			}
			pending = append(pending, g)
		}
	}
	// A grant made by a role other than the owner needs that role to hold
	// the grant option already: grant in rounds.
	options := map[string]map[string]bool{}
	holds := func(g *grant) bool {
		for _, priv := range g.privs {
			if !options[g.grantor][priv] {
				return false
			}
		}
		return true
	}
	for len(pending) > 0 {
		var later []*grant
		for _, g := range pending {
			if g.grantor != owner && !holds(g) {
				later = append(later, g)
				continue
			}
			sql := "GRANT " + strings.Join(g.privs, ", ") + " ON DATABASE " + a.db + " TO " + granteeSQL(g.grantee)
			if g.grantable {
				sql += " WITH GRANT OPTION"
			}
			if g.grantor != owner {
				// One implicit transaction: a refused GRANT undoes the SET ROLE.
				sql = "SET ROLE " + quoteIdent(g.grantor) + "; " + sql + "; RESET ROLE"
			}
			ok, err := a.exec(ctx, describe(g), sql)
			if err != nil {
				return err
			}
			if ok && g.grantable {
				if options[g.grantee] == nil {
					options[g.grantee] = map[string]bool{}
				}
				for _, priv := range g.privs {
					options[g.grantee][priv] = true
				}
			}
		}
		if len(later) == len(pending) {
			for _, g := range later {
				a.skipWhat(describe(g), NoteNoGrantOption, engines.Params{"role": g.grantor})
			}
			break
		}
		pending = later
	}
	return nil
}

func granteeSQL(role string) string {
	if role == "" {
		return "PUBLIC"
	}
	return quoteIdent(role)
}

func granteeName(role string) string {
	if role == "" {
		return "PUBLIC"
	}
	return role
}

// setting restores one ALTER DATABASE ... SET or ALTER ROLE ... IN
// DATABASE ... SET.
func (a *propApplier) setting(ctx context.Context, s metaSetting) error {
	what := engines.Note{Key: NoteDatabaseSetting, Params: engines.Params{"setting": s.Name, "database": a.name}}
	target := "ALTER DATABASE " + a.db
	if s.Role != "" {
		what = engines.Note{Key: NoteRoleSetting, Params: engines.Params{"setting": s.Name, "role": s.Role, "database": a.name}}
		if a.gone[s.Role] {
			a.skipWhat(what, NoteRoleMissing, engines.Params{"role": s.Role})
			return nil
		}
		target = "ALTER ROLE " + quoteIdent(s.Role) + " IN DATABASE " + a.db
	}
	_, err := a.exec(ctx, what, target+" SET "+quoteIdent(s.Name)+" = "+settingValue(s.Name, s.Value))
	return err
}

// gucListQuote are the parameters whose list values the server flattens
// into double-quoted identifiers (GUC_LIST_QUOTE); pg_dump's
// variable_is_guc_list_quote names the same. Given back as one literal,
// such a value would be quoted again as a whole, one odd identifier: it
// must go back element by element.
var gucListQuote = map[string]bool{
	"local_preload_libraries": true, "search_path": true, "session_preload_libraries": true,
	"shared_preload_libraries": true, "temp_tablespaces": true, "unix_socket_directories": true,
}

// settingValue renders the value of a recorded setting for SET so that the
// server stores exactly the text it stored on the source.
func settingValue(name, value string) string {
	if gucListQuote[strings.ToLower(name)] {
		if items, ok := splitGUCList(value); ok && len(items) > 0 {
			lits := make([]string, len(items))
			for i, it := range items {
				lits[i] = quoteLiteral(it)
			}
			return strings.Join(lits, ", ")
		}
	}
	return quoteLiteral(value)
}

// splitGUCList splits a flattened GUC_LIST_QUOTE value the way pg_dump's
// SplitGUCList does: elements separated by commas, blanks around them,
// each a double-quoted identifier ("" stands for ") or a bare word, not
// case-folded. It reports false on anything else.
func splitGUCList(s string) ([]string, bool) {
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 0
	blanks := func() {
		for i < len(s) && space(s[i]) {
			i++
		}
	}
	blanks()
	if i == len(s) {
		return nil, true
	}
	var out []string
	for {
		if i == len(s) { // after a trailing comma
			return nil, false
		}
		if s[i] == '"' {
			var b strings.Builder
			i++
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, false
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			out = append(out, b.String())
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !space(s[i]) {
				i++
			}
			if i == start {
				return nil, false
			}
			out = append(out, s[start:i])
		}
		blanks()
		if i == len(s) {
			return out, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
		blanks()
	}
}
