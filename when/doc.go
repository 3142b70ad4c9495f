// Package when reads the schedules and windows of policy files into the
// typed values the scheduler runs on: a Spec (a named schedule, "monthly",
// "quarterly", "weekly", "biweekly", "daily", or a cron expression) says
// when something runs by the clock, a Window when backups may start.
//
// Both config, which parses and checks a policy once when it loads, and
// schedule, which plans and runs jobs, use this package, so a schedule is
// understood in one place: the same Spec decides when a job runs and
// whether a critical database is backed up often enough (LongestGap).
// It imports neither.
package when
