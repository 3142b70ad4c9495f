// Package maintenance owns table maintenance on approval: the operations
// dbopsd may run (a closed list of typed values, engines/maintmodel, which
// each engine renders to one statement with quoted identifiers: never
// arbitrary SQL), the proposals that say why and at what cost, and the safe
// run of an approved one.
//
// # Proposals
//
// A Proposal states the statement, the object, its size, the expected gain,
// the lock it takes and for how long (estimated), whether it runs online,
// and the reason (a finding's id when a diagnosis made it). Proposers make
// them: StatsProposer from cheap engine statistics (dead tuples and the last
// vacuum/analyze on PostgreSQL, DATA_FREE on MariaDB); diagnostics.Proposer
// from the findings of the newest monthly diagnosis. Save stores a database's
// proposals as one history document of kind history.KindMaintenance, so a
// proposal's id (document id "." number) is stable and survives a catalog
// rebuild.
//
// # Running
//
// Nothing here decides whether a run is allowed: the daemon runs an
// operation only for a signed, approved request (request/, register/).
// Run then refuses outside the policy's maintenance_window, checks free
// space before a rewrite (VACUUM FULL, OPTIMIZE, ALTER TABLE … FORCE) where
// it can be measured, sets the lock timeout so a blocked statement gives up
// instead of queueing the service behind it, logs the server's progress,
// and measures the table before and after. The daemon's queue runs one job
// per database, so a maintenance never overlaps a backup or verification
// of its database.
//
// # Comments
//
// The operation maintmodel.Comment sets table and column comments from a
// list signed with the request (Spec.Comments) rather than one statement:
// the engine's Commenter applies them (PostgreSQL in one transaction) and
// the Result keeps each comment before and after.
//
// # Engines
//
// Engine is a capability an engine adapter offers by implementing it
// (engines/postgres/maintenance.go, engines/mysql/maintenance.go); For
// finds it by type assertion, and an engine without it is "not supported".
package maintenance
