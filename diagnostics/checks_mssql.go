package diagnostics

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
)

// SQL Server's own checks, reading Facts.MSSQL (engines/mssql/diagnostics.go
// fills it). What SQL Server shares with the other engines (sessions,
// blocking, deadlocks, the error log, logins, TLS, the buffer cache) is
// checked by the common checks of checks.go.

var mssqlOnly = []string{"mssql"}

var mssqlChecks = []Check{
	{ID: "checkdb-age", Priority: 50, Group: GroupStructure, Level: diagmodel.Daily, Area: diagmodel.AreaCheckDB, Engines: mssqlOnly, run: checkCheckDBAge},
	{ID: "other-backups", Priority: 20, Group: GroupBackup, Level: diagmodel.Daily, Area: diagmodel.AreaNativeBackups, Engines: mssqlOnly, run: checkOtherBackups},
	{ID: "native-backup-failed", Priority: 10, Group: GroupBackup, Level: diagmodel.Daily, Area: diagmodel.AreaLog, Engines: mssqlOnly, run: checkNativeBackupFailed},
	{ID: "page-life-expectancy", Priority: 150, Group: GroupPerformance, Level: diagmodel.Daily, Area: diagmodel.AreaCounters, Engines: mssqlOnly, run: checkPageLife},
	{ID: "io-stalls", Priority: 150, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaIOStalls, Engines: mssqlOnly, run: checkIOStalls},
	{ID: "index-fragmentation", Priority: 200, Group: GroupIndexes, Level: diagmodel.Monthly, Area: diagmodel.AreaFragmentation, Engines: mssqlOnly, run: checkFragmentation},
	{ID: "top-waits", Priority: 200, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaWaits, Engines: mssqlOnly, run: checkTopWaits},
	{ID: "login-name-password", Priority: 20, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, Engines: mssqlOnly, run: checkNamePassword},
	{ID: "login-policy-off", Priority: 150, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, Engines: mssqlOnly, run: checkPolicyOff},
}

// Limits of the SQL Server checks, as their pages state them.
const (
	// checkDBMaxAge: the last DBCC CHECKDB without errors older.
	checkDBMaxAge = 7 * 24 * time.Hour
	// otherBackupMaxAge: msdb's newest full or differential (and, in the
	// full and bulk-logged recovery models, log) backup older: a day and
	// some slack for a nightly job that ran late.
	otherBackupMaxAge = 26 * time.Hour
	// pageLifeMin: pages staying in the buffer pool fewer seconds.
	pageLifeMin = 300
	// ioStallMS: the average wait per read or write of a file, over at
	// least ioStallMinOps operations since the server started.
	ioStallMS     = 20
	ioStallMinOps = 1000
	// fragmentationPct: indexes above the collector's size gate (1,000
	// pages) fragmented more.
	fragmentationPct = 30
)

func checkCheckDBAge(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	last := a.f.MSSQL.LastGoodCheckDB
	if !last.IsZero() && a.now.Sub(last) <= checkDBMaxAge {
		return
	}
	a.add(a.f.Database, "last", timeOrNever(last), "limit", days(checkDBMaxAge))
}

// checkOtherBackups reads msdb's history, which records every native
// backup whoever took it (the customer's own jobs, other tools, dbopsd):
// a day without a full or differential, or a log chain stalled in the
// full recovery model.
func checkOtherBackups(a *analysis) {
	m := a.f.MSSQL
	if m == nil || m.Backups == nil {
		return
	}
	b := m.Backups
	details := []string{"last_full", timeOrNever(b.LastFull), "last_diff", timeOrNever(b.LastDiff), "last_log", timeOrNever(b.LastLog),
		"model", m.RecoveryModel, "tool", toolOf(b), "limit", fmt.Sprintf("%.0fh", otherBackupMaxAge.Hours())}
	newest := b.LastFull
	if b.LastDiff.After(newest) {
		newest = b.LastDiff
	}
	if newest.IsZero() || a.now.Sub(newest) > otherBackupMaxAge {
		a.add("full/differential", append([]string{"last", timeOrNever(newest)}, details...)...)
	}
	if m.RecoveryModel == "FULL" || m.RecoveryModel == "BULK_LOGGED" {
		if b.LastLog.IsZero() || a.now.Sub(b.LastLog) > otherBackupMaxAge {
			a.add("log", append([]string{"last", timeOrNever(b.LastLog)}, details...)...)
		}
	}
}

// checkNativeBackupFailed reports the error log's failed backups of the
// database (error 3041) since the previous run, whoever ran them.
func checkNativeBackupFailed(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	for _, e := range a.f.MSSQL.BackupFailures {
		a.add(a.f.Database, "text", e.Text)
	}
}

func toolOf(b *diagmodel.NativeBackups) string {
	if b.LastTool == "" && b.LastUser == "" {
		return "-"
	}
	return strings.TrimSpace(b.LastTool + " " + b.LastUser)
}

func checkPageLife(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	ple := a.f.MSSQL.PageLifeExpectancy
	if ple == nil || *ple >= pageLifeMin {
		return
	}
	hit := "-"
	if p := a.f.MSSQL.BufferCacheHitPct; p != nil {
		hit = fmt.Sprintf("%.1f", *p)
	}
	a.add(a.f.Database, "seconds", strconv.FormatInt(*ple, 10), "limit", strconv.Itoa(pageLifeMin), "hit", hit)
}

func checkIOStalls(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	avg := func(count, wait int64) (string, bool) {
		if count < ioStallMinOps {
			return "-", false
		}
		ms := float64(wait) / float64(count)
		return fmt.Sprintf("%.0f", ms), ms >= ioStallMS
	}
	for _, f := range a.f.MSSQL.Files {
		read, slowRead := avg(f.Reads, f.ReadStallMS)
		write, slowWrite := avg(f.Writes, f.WriteStallMS)
		if !slowRead && !slowWrite {
			continue
		}
		a.add(f.Name, "read", read, "write", write, "limit", strconv.Itoa(ioStallMS),
			"reads", strconv.FormatInt(f.Reads, 10), "writes", strconv.FormatInt(f.Writes, 10), "physical", f.Physical)
	}
}

func checkFragmentation(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	for _, x := range a.f.MSSQL.Fragmented {
		if x.Pct < fragmentationPct {
			continue
		}
		obj := tableName(x.Schema, x.Table) + "." + x.Index
		if x.Partition > 1 {
			obj += fmt.Sprintf(" (%d)", x.Partition)
		}
		a.add(obj, "pct", fmt.Sprintf("%.0f", x.Pct), "limit", strconv.Itoa(fragmentationPct),
			"pages", strconv.FormatInt(x.Pages, 10), "size", bytesText(x.Pages*8192))
	}
}

// topWaits is how many waits the top-waits finding lists.
const topWaits = 5

// checkTopWaits lists the waits the server spent most time in since it
// started (benign waits left out by the collector), each with its share
// and the part spent waiting for a CPU (signal wait). Informational, like
// top-statements.
func checkTopWaits(a *analysis) {
	if a.f.MSSQL == nil || len(a.f.MSSQL.Waits) == 0 {
		return
	}
	w := a.f.MSSQL.Waits
	var total int64
	for _, x := range w {
		total += x.WaitMS
	}
	if total <= 0 {
		return
	}
	var lines []string
	for i, x := range w {
		if i == topWaits {
			break
		}
		lines = append(lines, fmt.Sprintf("%d. %s %.1f%% (%s, signal %s, %d tasks)", i+1, x.Type, 100*float64(x.WaitMS)/float64(total),
			(time.Duration(x.WaitMS)*time.Millisecond).Round(time.Second), (time.Duration(x.SignalMS)*time.Millisecond).Round(time.Second), x.WaitingTasks))
	}
	a.add(w[0].Type, "count", strconv.Itoa(len(lines)), "top", fmt.Sprintf("%.1f", 100*float64(w[0].WaitMS)/float64(total)),
		"list", strings.Join(lines, "; "))
}

var checkNamePassword = rolesWhere(func(r diagmodel.Role) bool { return r.CanLogin && r.Password == "same-as-name" })

func checkPolicyOff(a *analysis) {
	if a.f.MSSQL == nil {
		return
	}
	for _, name := range a.f.MSSQL.PolicyOff {
		a.add(name)
	}
}
