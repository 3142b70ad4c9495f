// Package diagnostics owns dbopsd's health diagnostics: the daily
// inspection and the monthly diagnosis of a database, as findings, history
// and forecasts.
//
// # Collect apart from analysis
//
// A run collects facts (engines/diagmodel: a versioned model, fields
// absent = not collected) through the Collector capability an engine
// adapter implements in its diagnostics.go, then Analyze turns facts into
// findings. A stored snapshot (history.KindDiagnosis) keeps the facts, so a
// later version re-analyses it (dbopsd diagnose --from).
//
// # Checks and findings
//
// checks.go is the catalog of checks: a stable id, a priority (1 urgent …
// 250 informational), a group, the area of facts it reads and the engines it
// applies to. Its words — title, what it looks at, why it matters, what to
// do, the finding and its details — are in messages/, the same catalog that
// generates the check pages under docs/checks/ (pages.go; a test fails when
// a page is stale). A check whose area was not collected yields a "not
// checked" finding with the reason; nothing aborts a run.
//
// # Counters and forecasts
//
// Counters that reset on restart become per-interval deltas between two
// snapshots (delta.go); a restart breaks the series and is itself a
// finding. forecast.go fits Theil–Sen slopes over 30 and 90 days of daily
// samples, with the honesty rules of the check page for the forecast.
//
// # Maintenance proposals
//
// propose.go implements maintenance.Proposer from the newest monthly
// diagnosis: bloat, invalid, unused and duplicate indexes and tables never
// analysed become proposals that name their finding; nothing runs without
// a signed, approved request.
package diagnostics
