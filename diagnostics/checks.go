package diagnostics

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

// Check is one check of the catalog. Its words are in messages/ under
// diagnostics.check.<ID>.{title,what,why,todo,finding,details}, and its
// page is docs/checks/<ID>.md.
type Check struct {
	ID       string
	Priority int
	Group    string
	// Level is "daily" (runs daily and monthly) or "monthly".
	Level string
	// Area is the facts the check reads; without them it is "not checked".
	Area string
	// Engines it applies to; nil: every engine.
	Engines []string
	run     func(a *analysis)
}

// Groups of checks.
const (
	GroupAvailability = "availability"
	GroupSessions     = "sessions"
	GroupLogs         = "logs"
	GroupBackup       = "backup"
	GroupSpace        = "space"
	GroupStructure    = "structure"
	GroupIndexes      = "indexes"
	GroupSecurity     = "security"
	GroupPerformance  = "performance"
)

// pageBase is where a finding's link points: the check's page in the
// repository.
const pageBase = "docs/checks/"

// Link is the page of check id.
func Link(id string) string { return pageBase + id + ".md" }

var postgresOnly = []string{"postgres"}
var mysqlOnly = []string{"mysql"}

// Checks returns the catalog, in priority order then id.
func Checks() []Check {
	out := append([]Check(nil), checkList...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// CheckByID returns the check id.
func CheckByID(id string) (Check, bool) {
	for _, c := range checkList {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// The policy loader refuses a suppression of a check that is not in the
// catalog: it learns the ids from diagmodel's registry.
func init() {
	for _, c := range checkList {
		diagmodel.RegisterCheckIDs(c.ID)
	}
}

var checkList = append([]Check{
	{ID: "unreachable", Priority: 1, Group: GroupAvailability, Level: diagmodel.Daily, run: func(*analysis) {}},
	{ID: "restart", Priority: 50, Group: GroupAvailability, Level: diagmodel.Daily, Area: diagmodel.AreaServer, run: checkRestart},
	{ID: "connections-high", Priority: 50, Group: GroupSessions, Level: diagmodel.Daily, Area: diagmodel.AreaConnections, run: checkConnections},
	{ID: "long-transaction", Priority: 30, Group: GroupSessions, Level: diagmodel.Daily, Area: diagmodel.AreaSessions, run: checkLongTransaction},
	{ID: "idle-in-transaction", Priority: 40, Group: GroupSessions, Level: diagmodel.Daily, Area: diagmodel.AreaSessions, run: checkIdleInTransaction},
	{ID: "blocked-sessions", Priority: 20, Group: GroupSessions, Level: diagmodel.Daily, Area: diagmodel.AreaLocks, run: checkBlocked},
	{ID: "deadlocks", Priority: 50, Group: GroupSessions, Level: diagmodel.Daily, Area: diagmodel.AreaCounters, run: checkDeadlocks},
	{ID: "error-log", Priority: 50, Group: GroupLogs, Level: diagmodel.Daily, Area: diagmodel.AreaLog, run: checkErrorLog},
	{ID: "replication", Priority: 30, Group: GroupAvailability, Level: diagmodel.Daily, Area: diagmodel.AreaReplication, run: checkReplication},
	{ID: "archive-failing", Priority: 10, Group: GroupBackup, Level: diagmodel.Daily, Area: diagmodel.AreaArchiver, Engines: postgresOnly, run: checkArchiver},
	{ID: "backup-age", Priority: 10, Group: GroupBackup, Level: diagmodel.Daily, Area: diagmodel.AreaBackups, run: checkBackupAge},
	{ID: "backup-verify", Priority: 50, Group: GroupBackup, Level: diagmodel.Daily, Area: diagmodel.AreaBackups, run: checkBackupVerify},
	{ID: "space-forecast", Priority: 20, Group: GroupSpace, Level: diagmodel.Daily, Area: diagmodel.AreaSize, run: checkForecast},

	{ID: "version-patch", Priority: 100, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaServer, run: checkVersion},
	{ID: "settings-changed", Priority: 250, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaSettings, run: checkSettings},
	{ID: "table-bloat", Priority: 100, Group: GroupSpace, Level: diagmodel.Monthly, Area: diagmodel.AreaTables, run: checkBloat},
	{ID: "big-table", Priority: 150, Group: GroupSpace, Level: diagmodel.Monthly, Area: diagmodel.AreaTables, run: checkBigTable},
	{ID: "never-analyzed", Priority: 150, Group: GroupIndexes, Level: diagmodel.Monthly, Area: diagmodel.AreaTables, Engines: postgresOnly, run: checkNeverAnalyzed},
	{ID: "wraparound", Priority: 10, Group: GroupStructure, Level: diagmodel.Monthly, Area: diagmodel.AreaWraparound, Engines: postgresOnly, run: checkWraparound},
	{ID: "invalid-index", Priority: 50, Group: GroupIndexes, Level: diagmodel.Monthly, Area: diagmodel.AreaIndexes, Engines: postgresOnly, run: checkInvalidIndex},
	{ID: "unused-index", Priority: 150, Group: GroupIndexes, Level: diagmodel.Monthly, Area: diagmodel.AreaIndexUsage, run: checkUnusedIndex},
	{ID: "duplicate-index", Priority: 150, Group: GroupIndexes, Level: diagmodel.Monthly, Area: diagmodel.AreaIndexes, run: checkDuplicateIndex},
	{ID: "superusers", Priority: 200, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, run: checkSuperusers},
	{ID: "role-no-password", Priority: 30, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, run: checkNoPassword},
	{ID: "role-md5", Priority: 100, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, Engines: postgresOnly, run: checkMD5},
	{ID: "hba-trust", Priority: 20, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaHBA, Engines: postgresOnly, run: checkHBA},
	{ID: "anonymous-account", Priority: 20, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, Engines: mysqlOnly, run: checkAnonymous},
	{ID: "wildcard-host", Priority: 50, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaRoles, Engines: mysqlOnly, run: checkWildcardHost},
	{ID: "ssl-off", Priority: 100, Group: GroupSecurity, Level: diagmodel.Monthly, Area: diagmodel.AreaServer, run: checkSSL},
	{ID: "cache-hit-ratio", Priority: 150, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaCounters, run: checkCacheHit},
	{ID: "temp-files", Priority: 150, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaCounters, run: checkTempFiles},
	{ID: "seq-scan-tables", Priority: 150, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaTables, Engines: postgresOnly, run: checkSeqScanTables},
	{ID: "table-unread", Priority: 200, Group: GroupSpace, Level: diagmodel.Monthly, Area: diagmodel.AreaTables, run: checkTableUnread},
	{ID: "top-statements", Priority: 200, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaStatements, run: checkTopStatements},
	{ID: "session-peak", Priority: 100, Group: GroupSessions, Level: diagmodel.Monthly, Area: diagmodel.AreaConnections, run: checkSessionPeak},
	{ID: "checkpoints-requested", Priority: 150, Group: GroupPerformance, Level: diagmodel.Monthly, Area: diagmodel.AreaCounters, Engines: postgresOnly, run: checkCheckpointsRequested},
	{ID: "backup-month", Priority: 50, Group: GroupBackup, Level: diagmodel.Monthly, Area: diagmodel.AreaBackups, run: checkBackupMonth},
	{ID: "backup-duration-trend", Priority: 100, Group: GroupBackup, Level: diagmodel.Monthly, Area: diagmodel.AreaBackups, run: checkBackupDurationTrend},
	{ID: "backup-size-trend", Priority: 200, Group: GroupBackup, Level: diagmodel.Monthly, Area: diagmodel.AreaBackups, run: checkBackupSizeTrend},
}, slices.Concat(ioChecks, mssqlChecks)...) // checks_io.go, checks_mssql.go

func bytesText(n int64) string { return humanize.Bytes(n) }

func secs(s float64) string { return (time.Duration(s) * time.Second).String() }

func checkRestart(a *analysis) {
	d := a.deltas
	if d == nil || !d.Restarted {
		return
	}
	a.add("", "started", d.StartedAt.Format(time.RFC3339), "prev", d.PrevStartedAt.Format(time.RFC3339))
}

func checkConnections(a *analysis) {
	c := a.f.Connections
	if c.Max <= 0 {
		return
	}
	pct := 100 * float64(c.Total) / float64(c.Max)
	if pct < a.t.ConnectionsPct {
		return
	}
	a.add("", "total", strconv.Itoa(c.Total), "max", strconv.Itoa(c.Max), "pct", fmt.Sprintf("%.0f", pct),
		"by_user", topCounts(c.ByUser, 5))
}

func topCounts(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v || s[i].v == s[j].v && s[i].k < s[j].k })
	var parts []string
	for i, x := range s {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}

func sessionObject(pid int64, user string) string { return fmt.Sprintf("pid %d (%s)", pid, user) }

func checkLongTransaction(a *analysis) {
	for _, s := range a.f.Sessions {
		if s.XactSeconds >= a.t.LongTransaction.Seconds() {
			a.add(sessionObject(s.PID, s.User), "age", secs(s.XactSeconds), "state", s.State, "query", s.Query)
		}
	}
}

func checkIdleInTransaction(a *analysis) {
	for _, s := range a.f.Sessions {
		if s.IdleInTransaction && s.StateSeconds >= a.t.IdleInTransaction.Seconds() {
			a.add(sessionObject(s.PID, s.User), "age", secs(s.StateSeconds), "state", s.State, "query", s.Query)
		}
	}
}

func checkBlocked(a *analysis) {
	for _, b := range a.f.Blocked {
		if b.WaitSeconds < a.t.BlockedWait.Seconds() {
			continue
		}
		obj := b.Object
		if obj == "" {
			obj = sessionObject(b.PID, b.User)
		}
		a.add(obj, "pid", strconv.FormatInt(b.PID, 10), "user", b.User, "wait", secs(b.WaitSeconds),
			"blocker", sessionObject(b.BlockerPID, b.BlockerUser), "query", b.Query)
	}
}

func checkDeadlocks(a *analysis) {
	d := a.deltas
	if d == nil || d.Restarted {
		return
	}
	if n := d.Counters[diagmodel.CounterDeadlocks]; n > 0 {
		a.add(a.f.Database, "count", strconv.FormatInt(n, 10), "since", d.From.Format(time.RFC3339))
	}
}

func checkErrorLog(a *analysis) {
	l := a.f.Log
	for _, sev := range []string{"PANIC", "FATAL", "ERROR"} {
		n := l.Counts[sev]
		if n == 0 {
			continue
		}
		var sample string
		for _, s := range l.Samples {
			if s.Severity == sev {
				sample = s.Text
				break
			}
		}
		prio := 50
		if sev == "ERROR" {
			prio = 100
		}
		a.addVariant(prio, "", sev, "severity", sev, "count", strconv.Itoa(n), "file", l.File, "sample", sample)
	}
}

func checkReplication(a *analysis) {
	for _, r := range a.f.Replicas {
		if r.LagSeconds >= a.t.ReplicationLag.Seconds() || r.Error != "" {
			a.add(r.Name, "state", r.State, "lag", secs(r.LagSeconds), "error", r.Error)
		}
	}
}

func checkArchiver(a *analysis) {
	ar := a.f.Archiver
	if !ar.Enabled {
		return
	}
	failing := ar.LastFailedAt.After(ar.LastArchivedAt)
	if d := a.deltas; d != nil && !d.Restarted && d.Counters[diagmodel.CounterArchiveFail] > 0 {
		failing = true
	}
	if !failing {
		return
	}
	a.add(ar.LastFailedWAL, "failed", strconv.FormatInt(ar.Failed, 10), "command", ar.Command,
		"last_failed", ar.LastFailedAt.Format(time.RFC3339), "last_archived", timeOrNever(ar.LastArchivedAt))
}

// days writes a whole number of days as "15d", anything else as Go does.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func checkBackupAge(a *analysis) {
	b := a.f.Backups
	limit := a.t.BackupMaxAge
	if b.MaxAgeSeconds > 0 {
		limit = time.Duration(b.MaxAgeSeconds * float64(time.Second))
	}
	if !b.LastSuccess.IsZero() && a.now.Sub(b.LastSuccess) <= limit {
		return
	}
	a.add(a.f.Database, "last", timeOrNever(b.LastSuccess), "limit", days(limit), "status", b.LastStatus)
}

func checkBackupVerify(a *analysis) {
	b := a.f.Backups
	if b.VerifyStatus == "" || b.VerifyStatus == "ok" || b.VerifyStatus == "passed" {
		return
	}
	a.add(a.f.Database, "status", b.VerifyStatus, "at", timeOrNever(b.LastVerified))
}

func checkBackupMonth(a *analysis) {
	b := a.f.Backups
	if b.FailedMonth == 0 {
		return
	}
	a.add(a.f.Database, "failed", strconv.Itoa(b.FailedMonth), "ok", strconv.Itoa(b.OKMonth))
}

// due: forecast fc has reached its limit, or reaches it within the
// horizon by its earliest estimate.
func (a *analysis) due(fc Forecast) bool {
	return fc.Status == ForecastReached || fc.Status == ForecastDays && fc.DaysMin <= a.t.Horizon.Hours()/24
}

func checkForecast(a *analysis) {
	for _, fc := range a.forecasts {
		if !a.due(fc) {
			continue
		}
		a.add(fmt.Sprintf("%s %.0f%%", fc.Series, fc.LimitPct), "series", fc.Series, "pct", fmt.Sprintf("%.0f", fc.LimitPct),
			"min", fmt.Sprintf("%.0f", fc.DaysMin), "max", fmt.Sprintf("%.0f", fc.DaysMax), "step", stepText(fc))
	}
}

// releasesAsOf is the date the release table below was last brought up
// to date; the version-patch page states it.
const releasesAsOf = "2026-12-07"

// release is what this build knows of one major version: its newest minor
// release and, once the project stopped fixing it, its end of life.
type release struct {
	Newest string
	EOL    time.Time // zero: still maintained
}

func eol(year int, month time.Month) time.Time {
	return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
}

// releases is the newest minor release of each major version as known to
// this build (releasesAsOf), by engine ("mysql" covers MariaDB and MySQL:
// their major numbers do not overlap). A server older is behind on fixes;
// one past its major's end of life gets no fixes at all, a finding of
// higher priority; a major this build does not know is not checked.
// Sources, read on releasesAsOf: postgresql.org's release announcements
// and their packagers (18.7 and 17.12 of November 2026; 16.16 and 15.20
// from the same release; 14.22 of February 2026 is the newest 14 verified
// here — 14 reached its end of life in November 2026, which that finding
// says whatever the minor; 13.23 and 12.22 are their majors' last);
// mariadb.com's release notes (10.6.28 and 10.11.19 of August 2026;
// 11.4.11 of May 2026 is the newest 11.4 verified here; 11.8.10 of
// November 2026; 10.5.29 the last of 10.5); dev.mysql.com (8.0.46 the last
// of 8.0, April 2026; 8.4.13). Raise these with each release.
var releases = map[string]map[string]release{
	"postgres": {
		"12": {Newest: "12.22", EOL: eol(2024, time.November)},
		"13": {Newest: "13.23", EOL: eol(2025, time.November)},
		"14": {Newest: "14.22", EOL: eol(2026, time.November)},
		"15": {Newest: "15.20"},
		"16": {Newest: "16.16"},
		"17": {Newest: "17.12"},
		"18": {Newest: "18.7"},
	},
	"mysql": {
		"10.5":  {Newest: "10.5.29", EOL: eol(2025, time.June)},
		"10.6":  {Newest: "10.6.28"},
		"10.11": {Newest: "10.11.19"},
		"11.4":  {Newest: "11.4.11"},
		"11.8":  {Newest: "11.8.10"},
		"8.0":   {Newest: "8.0.46", EOL: eol(2026, time.April)},
		"8.4":   {Newest: "8.4.13"},
	},
}

// eolPriority: a major past its end of life is a high-priority finding,
// above the version-patch check's own (being behind on a maintained one).
const eolPriority = 50

// versionParts reads "15.4 (Debian ...)" or "10.11.6-MariaDB-..." into its
// numbers.
func versionParts(v string) []int {
	v = strings.Fields(v + " ")[0]
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

func majorOf(engine string, parts []int) string {
	if engine == "postgres" && len(parts) > 0 && parts[0] >= 10 {
		return strconv.Itoa(parts[0])
	}
	if len(parts) >= 2 {
		return fmt.Sprintf("%d.%d", parts[0], parts[1])
	}
	return ""
}

func checkVersion(a *analysis) {
	have := versionParts(a.f.Server.Version)
	major := majorOf(a.f.Engine, have)
	rel, ok := releases[a.f.Engine][major]
	if !ok {
		a.notChecked(fmt.Sprintf("this build knows no release of %s %s", a.f.Engine, major),
			"diagnostics.reason.unknown_release", "engine", a.f.Engine, "major", major)
		return
	}
	if !rel.EOL.IsZero() && !a.now.Before(rel.EOL) {
		a.addAs(eolPriority, "finding_eol", "details_eol", a.f.Server.Version, "version", a.f.Server.Version,
			"major", major, "eol", rel.EOL.Format("2006-01"), "newest", rel.Newest, "as_of", releasesAsOf)
		return
	}
	if behind(have, versionParts(rel.Newest)) {
		a.add(a.f.Server.Version, "version", a.f.Server.Version, "newest", rel.Newest)
	}
}

// behind: version have is older than want.
func behind(have, want []int) bool {
	for i := range want {
		h := 0
		if i < len(have) {
			h = have[i]
		}
		if h != want[i] {
			return h < want[i]
		}
	}
	return false
}

// cacheMinReads: fewer block reads and hits than this over the interval
// say nothing about the cache.
const cacheMinReads = 10000

// checkCacheHit compares the buffer cache's (InnoDB buffer pool's) hits
// with its reads over the interval since the previous snapshot: a monthly
// diagnosis after a month of daily runs sees the month's.
func checkCacheHit(a *analysis) {
	d := a.interval()
	if d == nil {
		return
	}
	hit, read := d.Counters[diagmodel.CounterBlocksHit], d.Counters[diagmodel.CounterBlocksRead]
	if hit+read < cacheMinReads {
		return
	}
	ratio := 100 * float64(hit) / float64(hit+read)
	if ratio >= a.t.CacheHitPct {
		return
	}
	a.add(a.f.Database, "ratio", fmt.Sprintf("%.1f", ratio), "limit", fmt.Sprintf("%.0f", a.t.CacheHitPct),
		"reads", strconv.FormatInt(read, 10), "hits", strconv.FormatInt(hit, 10), "since", d.From.Format(time.RFC3339))
}

// checkTempFiles reports queries spilling to temporary files (PostgreSQL
// temp bytes, MariaDB on-disk temporary tables) over the interval.
func checkTempFiles(a *analysis) {
	d := a.interval()
	if d == nil {
		return
	}
	files, bytes := d.Counters[diagmodel.CounterTempFiles], d.Counters[diagmodel.CounterTempBytes]
	if bytes < a.t.TempBytes && (bytes > 0 || files < a.t.TempFiles) {
		return
	}
	a.add(a.f.Database, "files", strconv.FormatInt(files, 10), "bytes", bytesText(bytes), "since", d.From.Format(time.RFC3339))
}

func checkSettings(a *analysis) {
	if len(a.f.Settings) == 0 {
		return
	}
	var names []string
	for _, s := range a.f.Settings {
		names = append(names, s.Name+"="+s.Value)
	}
	a.add("", "count", strconv.Itoa(len(names)), "list", cutList(names, 30))
}

func cutList(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (+%d)", len(s)-n)
	}
	return strings.Join(s, ", ")
}

func tableName(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}

func checkBloat(a *analysis) {
	for _, t := range a.f.Tables {
		if t.Measured != nil {
			checkBloatMeasured(a, t) // checks_rest.go
			continue
		}
		if t.BloatBytes < a.t.BloatMinBytes || t.Bytes == 0 {
			continue
		}
		pct := 100 * float64(t.BloatBytes) / float64(max(t.DataBytes, t.BloatBytes))
		if pct < a.t.BloatPct {
			continue
		}
		a.addAs(a.check.Priority, "finding_estimate", "details", tableName(t.Schema, t.Name), "bloat", bytesText(t.BloatBytes), "pct", fmt.Sprintf("%.0f", pct),
			"method", bloatEstimateMethod[a.f.Engine], "size", bytesText(t.Bytes), "dead", strconv.FormatInt(t.DeadRows, 10), "vacuum", timeOrNever(t.LastVacuum))
	}
}

func checkBigTable(a *analysis) {
	for _, t := range a.f.Tables {
		if t.Bytes >= a.t.BigTableBytes {
			a.add(tableName(t.Schema, t.Name), "size", bytesText(t.Bytes), "limit", bytesText(a.t.BigTableBytes),
				"rows", strconv.FormatInt(t.Rows, 10))
		}
	}
}

// neverAnalyzedRows: smaller tables are left to autovacuum's thresholds.
const neverAnalyzedRows = 1000

func checkNeverAnalyzed(a *analysis) {
	for _, t := range a.f.Tables {
		if t.LastAnalyze.IsZero() && t.Rows+t.DeadRows >= neverAnalyzedRows {
			a.add(tableName(t.Schema, t.Name), "rows", strconv.FormatInt(t.Rows, 10), "size", bytesText(t.Bytes))
		}
	}
}

func checkWraparound(a *analysis) {
	w := a.f.Wraparound
	age := max(w.XIDAge, w.MultiXIDAge)
	if age < a.t.XIDAge {
		return
	}
	prio := 50
	if age >= 1_500_000_000 {
		prio = 10
	}
	a.addVariant(prio, "", a.f.Database, "xid", strconv.FormatInt(w.XIDAge, 10), "multixid", strconv.FormatInt(w.MultiXIDAge, 10))
}

func indexName(x diagmodel.Index) string { return tableName(x.Schema, x.Name) }

func checkInvalidIndex(a *analysis) {
	for _, x := range a.f.Indexes {
		if x.Invalid {
			a.add(indexName(x), "table", tableName(x.Schema, x.Table), "columns", strings.Join(x.Columns, ", "))
		}
	}
}

func checkUnusedIndex(a *analysis) {
	for _, x := range a.f.Indexes {
		if x.Scans == nil || *x.Scans > 0 || x.Unique || x.Primary || x.Invalid {
			continue
		}
		// MariaDB reports no index sizes (0): its unused indexes all count.
		if x.Bytes > 0 && x.Bytes < a.t.UnusedIndexBytes {
			continue
		}
		a.add(indexName(x), "table", tableName(x.Schema, x.Table), "size", bytesText(x.Bytes))
	}
}

func checkDuplicateIndex(a *analysis) {
	groups := map[string][]diagmodel.Index{}
	var order []string
	for _, x := range a.f.Indexes {
		if x.Invalid {
			continue
		}
		k := x.Schema + "\x00" + x.Table + "\x00" + strings.Join(x.Columns, "\x00")
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], x)
	}
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		// Keep the one a constraint needs, else the most used; report the
		// others.
		sort.SliceStable(g, func(i, j int) bool { return keepRank(g[i]) > keepRank(g[j]) })
		for _, x := range g[1:] {
			a.add(indexName(x), "other", indexName(g[0]), "table", tableName(x.Schema, x.Table), "columns", strings.Join(x.Columns, ", "))
		}
	}
}

func keepRank(x diagmodel.Index) int64 {
	switch {
	case x.Primary:
		return 1 << 62
	case x.Unique:
		return 1 << 61
	case x.Scans != nil:
		return *x.Scans
	}
	return 0
}

func roleName(r diagmodel.Role) string {
	if r.Host != "" || r.Name == "" {
		return fmt.Sprintf("'%s'@'%s'", r.Name, r.Host)
	}
	return r.Name
}

func checkSuperusers(a *analysis) {
	var names []string
	for _, r := range a.f.Roles {
		if r.Superuser {
			names = append(names, roleName(r))
		}
	}
	if len(names) > 0 {
		a.add(strings.Join(names, ", "), "count", strconv.Itoa(len(names)))
	}
}

// rolesWhere is a check that finds every role pred holds for, named as
// roleName names it.
func rolesWhere(pred func(r diagmodel.Role) bool) func(*analysis) {
	return func(a *analysis) {
		for _, r := range a.f.Roles {
			if pred(r) {
				a.add(roleName(r))
			}
		}
	}
}

var (
	checkNoPassword   = rolesWhere(func(r diagmodel.Role) bool { return r.CanLogin && r.Password == "none" })
	checkMD5          = rolesWhere(func(r diagmodel.Role) bool { return r.Password == "md5" })
	checkAnonymous    = rolesWhere(func(r diagmodel.Role) bool { return r.Name == "" })
	checkWildcardHost = rolesWhere(func(r diagmodel.Role) bool { return r.Host == "%" })
)

func checkHBA(a *analysis) {
	for _, h := range a.f.HBA {
		if h.Method != "trust" && h.Method != "password" {
			continue
		}
		a.add(fmt.Sprintf("pg_hba.conf:%d", h.Line), "line", strconv.Itoa(h.Line), "type", h.Type,
			"database", strings.Join(h.Database, ","), "user", strings.Join(h.User, ","), "address", h.Address, "method", h.Method)
	}
}

func checkSSL(a *analysis) {
	if s := a.f.Server.SSL; s != nil && !*s {
		a.add("")
	}
}
