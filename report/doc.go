// Package report builds, renders and sends the monthly report to the bureau
// and the weekly inspection summary (issue #13).
//
// # Model apart from rendering
//
// Build reads the catalog (backups, jobs), the restore register (with its
// hash chain verified, against its anchors when given) and the optional
// Sources (findings, data volume, schema changes, connection peaks, the
// dictionary workbook) into a Report of kind Monthly or Weekly: plain data
// that is stored as JSON (history.KindReport) and can be rendered again
// later in any language. A nil source renders as "not collected
// yet", never as a failure; a period without data says so.
//
// # Email that Outlook shows
//
// Render turns a model into an email-safe HTML page (html/template from the
// embedded templates/, table layout, inline styles, no scripts, no external
// resources, no SVG), a plain-text alternative, PNG charts referenced by
// cid: (charts.go, gonum/plot with the Noto Sans CJK font at twice the
// displayed size), and the attachments: findings CSV (UTF-8 with BOM),
// data-volume xlsx, the full report as a self-contained HTML file and, when
// Chromium is installed, a PDF of it.
//
// # Sending
//
// Deliver sends a Rendered through the notify blocks' mail machinery
// (notify.Email.SendRich), retrying with back-off, and alerts through the
// other channels when it gives up. The report is written under the state
// directory and into the repository either way (Keep).
//
// # Running
//
// Job is one run of a report block (site.ReportJob builds it): build,
// render, write, keep, send, one row per report in the job log (kind
// report_monthly or report_weekly, site-wide, Target the scope). The CLI's
// `dbopsd report monthly|weekly` and the daemon's job kinds of the same
// names run it.
package report
