// Package drill runs restore drills (灾难恢复演练) and keeps their reports.
//
// A drill proves that a backup brings a database back, and how fast: it
// restores the backup with restore.Restore, compares the restored tables'
// row counts and content checksums with those recorded at backup time, runs
// the engine's own integrity checks, and measures each step (the restore
// time is the recovery time objective, RTO, that the drill demonstrates).
//
// # Scenarios
//
//   - full: the whole database onto a target on the source's server, under
//     another name;
//   - table: single tables (--table schema.table in the request);
//   - redirected: the whole database onto another server, under another name.
//
// # Requests
//
// Every drill is asked for by a signed request (package request). The
// daemon receives it through request.Gate, and, once accepted, turns it
// into a Spec with site.DrillSpec (policy, repository, catalog and logger)
// and calls Run. The Gate records the start and outcome in the restore
// register; Run records the drill as a catalog job of kind "drill".
//
// # The restored copy
//
// Drills go to scratch targets. A copy the drill created there is recorded
// in the scratch ledger (restore.ClaimScratch) before it is created, and
// dropped afterwards unless Spec.Keep (or keep_on_failure after a failure).
// A whole-database drill replaces an existing database only when the
// request signed replace, or when the ledger says dbopsd created it. Tables
// restored into an existing database that dbopsd did not create are left in
// that database, which is never dropped.
//
// # Reports
//
// A Report holds the request (id, action, parameters, reason, requester,
// approvers and the fingerprints of their signing keys), the backup and its
// chain, the target, the timings, each check's result and the verdict. Run
// stores it in the state directory as drills/<id>.json, the source of
// truth, and drills/<id>.html, a self-contained page (inline CSS, no
// external assets) that prints well and reads well in a mail client, in
// Chinese by default or English. `dbopsd drill report ID` and `dbopsd drill
// list` read them back.
//
// What each check found is a Message (message.go): a key and its
// parameters — the tables compared, which differ and how, the tool and its
// version, why a step did not run — stored in the JSON beside its English
// (Check.Detail), and so are the warnings and what became of the copy. The
// page (report.html.tmpl, rendered by html.go) takes its words and the
// sentence of each key in its own language from the message catalog
// (package i18n; drill's own sentences are in messages/), so a Chinese
// report is Chinese throughout; what servers and tools said (errors,
// findings) is data, shown verbatim after a translated lead. The engines'
// notes (what a restore skipped, other notes, why the integrity check did
// not run) come as engines.Notes, whose sentences are the engine packages'
// own (engines/postgres/messages/, ...), with object names and the
// server's words as parameters. A report stored by an older dbopsd has no
// Messages or Notes: its page shows the stored English.
package drill
