package postgres

import (
	"embed"

	"github.com/dbopsd/dbopsd/i18n"
)

// messages are the sentences of this adapter's notes (engines.Note: what a
// restore did not recreate, what else a DBA should read, why an integrity
// check did not run), one file per language: messages/en.json holds the
// English the reports store beside each note, messages/zh-CN.json the
// Chinese a report renders. The keys start with "postgres."; a note key keeps
// its meaning and parameters once released.
//
//go:embed messages/*.json
var messages embed.FS

func init() { i18n.Register("engines/postgres", messages, "messages") }

// Keys of this adapter's notes (engines.Note), with the parameters of
// their sentences. The sentences, in every language, are in messages/; the
// catalog's tests check that every key has one in each. A key is part of
// the report format: it keeps its meaning and its parameters once
// released, and a new sentence gets a new key.
const (
	// Restores: what was not recreated.
	NoteOwnershipNotRestored = "postgres.ownership_not_restored"  // roles, user
	NotePolicyNotCreated     = "postgres.policy_not_created"      // policy, table, roles
	NoteForeignKeyNotCreated = "postgres.foreign_key_not_created" // constraint, table, references, database
	NoteDatabaseOwnerMissing = "postgres.database_owner_missing"  // database, owner
	// A property of the database (What) not applied or not restored.
	NoteRefused          = "postgres.refused"           // what, error, sqlstate
	NoteRoleMissing      = "postgres.role_missing"      // what, role
	NoteGrantorMissing   = "postgres.grantor_missing"   // what, role
	NoteUnknownPrivilege = "postgres.unknown_privilege" // what
	NoteNoGrantOption    = "postgres.no_grant_option"   // what, role
	// The properties themselves: the What of the notes above.
	NoteDatabaseOwner     = "postgres.database_owner"       // owner, database
	NoteConnectionLimit   = "postgres.connection_limit"     // database
	NoteDatabaseComment   = "postgres.database_comment"     // database
	NoteRevoke            = "postgres.revoke"               // database, role
	NoteGrant             = "postgres.grant"                // privileges, database, grantee
	NoteGrantWithOption   = "postgres.grant_with_option"    // privileges, database, grantee
	NoteGrantBy           = "postgres.grant_by"             // privileges, database, grantee, grantor
	NoteGrantWithOptionBy = "postgres.grant_with_option_by" // privileges, database, grantee, grantor
	NoteDatabaseSetting   = "postgres.database_setting"     // setting, database
	NoteRoleSetting       = "postgres.role_setting"         // setting, role, database
	// Restores: notes.
	NoteOlderServer         = "postgres.older_server"         // backup_version, server_version
	NoteDefaultCollation    = "postgres.default_collation"    // collation, error
	NotePartitionStandalone = "postgres.partition_standalone" // table
	// Integrity checks: why none ran.
	NoteNoAmcheckTool      = "postgres.no_pg_amcheck"       // error
	NoteAmcheckUnavailable = "postgres.amcheck_unavailable" // (none)
	NoteAmcheckNotCreated  = "postgres.amcheck_not_created" // error
)
