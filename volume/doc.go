// Package volume keeps the data-volume register (数据沉聚总量, 按月登记数据汇总):
// a daily sample per database of every table's rows (exact or estimated,
// as the dictionary counted them), data and index bytes, and what the
// database's backups store, saved through history (kind "volume"); and the
// monthly report built from those samples: totals per database and table at
// month end, growth this month and over twelve months, the largest and
// fastest-growing tables, with the tables the policy registers (volume {
// table "label" { } }) first.
//
// Growth compares the month's last sample with the last sample before the
// month began (this month) and with the last sample before the month twelve
// months earlier began (twelve months): samples are daily, so the figures
// are month-end to month-end. Without such a sample the figure is unknown,
// and the report says how much history there is.
package volume
