package engines

import (
	"regexp"
	"sort"
	"strings"
)

// Note is one sentence an engine says about its work — something a restore
// did not recreate, something else a DBA should read, why an integrity
// check did not run — kept as a key of the note catalog and its parameters,
// so that a report can render it in its own language (drill/html.go has
// the Chinese of every key). English() is the English sentence; the
// reports store it beside the Note (RestoreReport.Skipped and Notes,
// IntegrityReport.Skipped) for the CLI, for scripts and for older dbopsd
// versions.
//
// Params are the sentence's data, shown as they are in every language:
// names of objects, roles and accounts, numbers, SQL, and what a server or
// a tool said; only {kind}, the kind of object (KindView, ...), is a word
// a report translates. What, when set, is the object a sentence is about, itself a
// Note ("setting work_mem of database d" in "... not applied: ...").
//
// The keys are part of the report format: a key keeps its meaning and its
// parameters once released; a new sentence gets a new key.
type Note struct {
	Key    string `json:"key"`
	Params Params `json:"params,omitempty"`
	What   *Note  `json:"what,omitempty"`
}

// Params are the parameters of a Note by name, as their sentences name
// them: {role} is Params["role"].
type Params map[string]string

// Keys of the note catalog, by engine, with the parameters of their
// sentences. Each has its English in notes and a sentence in every other
// language of a report's catalog (a test checks it).
const (
	// PostgreSQL restores: what was not recreated.
	PGOwnershipNotRestored = "postgres.ownership_not_restored"  // roles, user
	PGPolicyNotCreated     = "postgres.policy_not_created"      // policy, table, roles
	PGForeignKeyNotCreated = "postgres.foreign_key_not_created" // constraint, table, references, database
	PGDatabaseOwnerMissing = "postgres.database_owner_missing"  // database, owner
	// A property of the database (What) not applied or not restored.
	PGRefused          = "postgres.refused"           // what, error, sqlstate
	PGRoleMissing      = "postgres.role_missing"      // what, role
	PGGrantorMissing   = "postgres.grantor_missing"   // what, role
	PGUnknownPrivilege = "postgres.unknown_privilege" // what
	PGNoGrantOption    = "postgres.no_grant_option"   // what, role
	// The properties themselves: the What of the notes above.
	PGDatabaseOwner     = "postgres.database_owner"       // owner, database
	PGConnectionLimit   = "postgres.connection_limit"     // database
	PGDatabaseComment   = "postgres.database_comment"     // database
	PGRevoke            = "postgres.revoke"               // database, role
	PGGrant             = "postgres.grant"                // privileges, database, grantee
	PGGrantWithOption   = "postgres.grant_with_option"    // privileges, database, grantee
	PGGrantBy           = "postgres.grant_by"             // privileges, database, grantee, grantor
	PGGrantWithOptionBy = "postgres.grant_with_option_by" // privileges, database, grantee, grantor
	PGDatabaseSetting   = "postgres.database_setting"     // setting, database
	PGRoleSetting       = "postgres.role_setting"         // setting, role, database
	// PostgreSQL restores: notes.
	PGOlderServer         = "postgres.older_server"         // backup_version, server_version
	PGDefaultCollation    = "postgres.default_collation"    // collation, error
	PGPartitionStandalone = "postgres.partition_standalone" // table
	// PostgreSQL integrity checks: why none ran.
	PGNoAmcheckTool      = "postgres.no_pg_amcheck"       // error
	PGAmcheckUnavailable = "postgres.amcheck_unavailable" // (none)
	PGAmcheckNotCreated  = "postgres.amcheck_not_created" // error

	// MySQL/MariaDB restores: what was not recreated.
	MySQLForeignKeyNotRecreated = "mysql.foreign_key_not_recreated" // table, definition
	MySQLProgramsNotRecreated   = "mysql.programs_not_recreated"    // count
	MySQLUsersAndGrants         = "mysql.users_and_grants"          // (none)
	MySQLObjectRefused          = "mysql.object_refused"            // kind, object, error
	MySQLDefinerMissing         = "mysql.definer_missing"           // definer
	// MySQL/MariaDB restores: notes.
	MySQLDefinerUnchecked   = "mysql.definer_unchecked"       // definer
	MySQLDefinerReplaced    = "mysql.definer_replaced"        // kind, object, definer
	MySQLEventDisabled      = "mysql.event_disabled"          // event
	MySQLHistoryLost        = "mysql.history_not_restored"    // table, reason (another version's words)
	MySQLHistoryNotLoadable = "mysql.history_not_loadable"    // table
	MySQLHistoryTrxID       = "mysql.history_transaction_ids" // table
	MySQLRestored           = "mysql.restored"                // tables, rows, took, method, strategy
	MySQLLocalInfileOff     = "mysql.local_infile_off"        // (none)
	MySQLLoadDataRefused    = "mysql.load_data_refused"       // error
	MySQLLoadWarnings       = "mysql.load_warnings"           // table, count, warnings
	MySQLBinlogOff          = "mysql.binlog_off"              // (none)
	MySQLBinlogOn           = "mysql.binlog_on"               // error
	// MySQL/MariaDB integrity checks: why none ran.
	MySQLNoTables = "mysql.no_tables" // (none)
)

// Object kinds, the {kind} of MySQL notes; a report translates them.
const (
	KindRoutine = "routine"
	KindView    = "view"
	KindTrigger = "trigger"
	KindEvent   = "event"
)

// notes are the English sentences of the catalog. They are the text the
// engines wrote before notes had keys: reports and scripts that match on
// it keep working.
var notes = map[string]string{
	PGOwnershipNotRestored: "ownership and privileges (GRANTs) not restored: roles missing on the target server: {roles}; objects belong to the restoring user {user}",
	PGPolicyNotCreated:     "row-level security policy {policy} on {table} not created: it names roles missing on the target server ({roles})",
	PGForeignKeyNotCreated: "foreign key {constraint} on {table} not created: the table it references, {references}, is not in database {database}",
	PGDatabaseOwnerMissing: "owner of database {database} not set to {owner}: role {owner} is missing on the target server; the database belongs to the restoring user",
	PGRefused:              "{what} not applied: the target server refused it: {error} (SQLSTATE {sqlstate})",
	PGRoleMissing:          "{what} not restored: role {role} is missing on the target server",
	PGGrantorMissing:       "{what} not restored: role {role}, which granted it, is missing on the target server",
	PGUnknownPrivilege:     "{what} not restored: not a database privilege this version knows",
	PGNoGrantOption:        "{what} not restored: {role} does not hold the grant option for it on the target server",
	PGOlderServer:          "restoring a PostgreSQL {backup_version} backup into an older server (PostgreSQL {server_version})",
	PGDefaultCollation:     "database created with the target server's default collation: the source's ({collation}) is not usable there ({error})",
	PGPartitionStandalone:  "partition {table} restored as a standalone table: its partitioned table is not part of this restore",
	PGNoAmcheckTool:        "{error}",
	PGAmcheckUnavailable:   "the amcheck extension is not available on the server (it comes with the postgresql-contrib package)",
	PGAmcheckNotCreated:    "could not create the amcheck extension: {error}",
	PGDatabaseOwner:        "owner {owner} of database {database}",
	PGConnectionLimit:      "connection limit of database {database}",
	PGDatabaseComment:      "comment on database {database}",
	PGRevoke:               "REVOKE ALL ON DATABASE {database} FROM {role}",
	PGGrant:                "GRANT {privileges} ON DATABASE {database} TO {grantee}",
	PGGrantWithOption:      "GRANT {privileges} ON DATABASE {database} TO {grantee} WITH GRANT OPTION",
	PGGrantBy:              "GRANT {privileges} ON DATABASE {database} TO {grantee} (granted by {grantor})",
	PGGrantWithOptionBy:    "GRANT {privileges} ON DATABASE {database} TO {grantee} WITH GRANT OPTION (granted by {grantor})",
	PGDatabaseSetting:      "setting {setting} of database {database}",
	PGRoleSetting:          "setting {setting} of role {role} in database {database}",

	MySQLForeignKeyNotRecreated: "table {table}: foreign key not recreated, its table is not restored: {definition}",
	MySQLProgramsNotRecreated:   "views, routines and events ({count}) are not recreated by a table restore",
	MySQLUsersAndGrants:         "users and grants: not part of a database backup",
	MySQLObjectRefused:          "{kind} {object}: {error}",
	MySQLDefinerMissing:         "account {definer}, the DEFINER of restored views/routines/triggers/events, does not exist on the target: create it, or they fail when used",
	MySQLDefinerUnchecked:       "objects run as DEFINER {definer}; whether the account exists on the target could not be checked",
	MySQLDefinerReplaced:        "{kind} {object} recreated with the restoring account as DEFINER instead of {definer} (the account may not name another definer)",
	MySQLEventDisabled:          "event {event} recreated DISABLED: the database was restored under another name (ALTER EVENT ... ENABLE to run it)",
	MySQLHistoryLost:            "TABLE {table}: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: {reason}",
	MySQLHistoryNotLoadable:     "TABLE {table}: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: the server cannot load row history (needs MariaDB 10.11 system_versioning_insert_history)",
	MySQLHistoryTrxID:           "TABLE {table}: SYSTEM-VERSIONED HISTORY NOT RESTORED, only current rows: transaction-precise versioning (row start/end are transaction ids, which cannot be recreated)",
	MySQLRestored:               "restored {tables} tables, {rows} rows in {took} ({method}, {strategy})",
	MySQLLocalInfileOff:         "the server has local_infile off: rows loaded with INSERT batches, which is slower than LOAD DATA",
	MySQLLoadDataRefused:        "the server refused LOAD DATA LOCAL INFILE ({error}): rows loaded with INSERT batches, which is slower",
	MySQLLoadWarnings:           "table {table}: {count} warnings while loading, e.g. {warnings}",
	MySQLBinlogOff:              "the restore is not written to the target's binary log (sql_log_bin=0): its replicas do not receive it",
	MySQLBinlogOn:               "the restore is written to the target's binary log, replicas receive it (the account may not SET sql_log_bin: {error})",
	MySQLNoTables:               "the database has no tables",
}

// NoteSentences returns the English sentence of every key of the note
// catalog, for a report's catalog to render them from.
func NoteSentences() map[string]string {
	out := make(map[string]string, len(notes))
	for k, s := range notes {
		out[k] = s
	}
	return out
}

var notePlaceholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// English is the note's English sentence. A key this version does not
// know, or a parameter its sentence names but the note lacks, cannot
// happen with the engines of this version; should it, English says what
// it has rather than nothing.
func (n Note) English() string {
	tmpl, ok := notes[n.Key]
	if !ok {
		names := make([]string, 0, len(n.Params))
		for k := range n.Params {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := []string{n.Key}
		for _, k := range names {
			parts = append(parts, k+"="+n.Params[k])
		}
		if n.What != nil {
			parts = append(parts, "what="+n.What.English())
		}
		return strings.Join(parts, " ")
	}
	return notePlaceholder.ReplaceAllStringFunc(tmpl, func(ph string) string {
		name := ph[1 : len(ph)-1]
		if name == "what" && n.What != nil {
			return n.What.English()
		}
		if v, ok := n.Params[name]; ok {
			return v
		}
		return ph
	})
}

// AddSkipped records something a restore did not recreate: n's English
// in Skipped and n in SkippedMessages. It returns the English.
func (r *RestoreReport) AddSkipped(n Note) string {
	s := n.English()
	r.Skipped = append(r.Skipped, s)
	r.SkippedMessages = append(r.SkippedMessages, n)
	return s
}

// AddNote records something else a DBA should read: n's English in Notes
// and n in NoteMessages. It returns the English.
func (r *RestoreReport) AddNote(n Note) string {
	s := n.English()
	r.Notes = append(r.Notes, s)
	r.NoteMessages = append(r.NoteMessages, n)
	return s
}

// Skip records why no check ran: n's English in Skipped, n in
// SkippedMessage.
func (r *IntegrityReport) Skip(n Note) {
	r.Skipped, r.SkippedMessage = n.English(), &n
}
