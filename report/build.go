package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/register"
)

// DB is a database the report covers.
type DB struct {
	Name   string
	Engine string
}

// Input is what Build reads.
type Input struct {
	Kind      string // Monthly or Weekly
	Site      string
	From, To  time.Time
	Label     string
	Databases []DB
	Catalog   *catalog.Catalog
	// RegisterPath is the restore register's file ("" or missing: the
	// report says it has no register).
	RegisterPath string
	// Anchors are the register's anchors from the repository's storage;
	// AnchorsErr why they could not be read (nil Anchors and nil error:
	// not asked for).
	Anchors    []register.Anchor
	AnchorsErr error
	Sources    Sources
	// AllDictionaries attaches every database's dictionary, not only
	// those whose schema changed.
	AllDictionaries bool
	Now             time.Time
}

// historyMonths is how far back the charts and the trend look.
const historyMonths = 12

// Build reads the period's facts into a Report. Missing sources and an
// empty period are not errors; a catalog that cannot be read is.
func Build(ctx context.Context, in Input) (*Report, error) {
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	r := &Report{Version: Version, Kind: in.Kind, Site: in.Site, Label: in.Label, From: in.From, To: in.To, GeneratedAt: in.Now}
	histFrom := in.From.AddDate(0, -historyMonths, 0)
	backups, err := in.Catalog.Backups(ctx, "")
	if err != nil {
		return nil, err
	}
	jobs, err := in.Catalog.Jobs(ctx, catalog.JobFilter{Since: histFrom})
	if err != nil {
		return nil, err
	}
	inPeriod := func(t time.Time) bool { return !t.Before(in.From) && t.Before(in.To) }
	seen := false
	byDB := map[string][]catalog.Backup{}
	for _, b := range backups {
		if b.Status == catalog.StatusOK && !b.StartedAt.Before(histFrom) && b.StartedAt.Before(in.To) {
			byDB[b.Database] = append(byDB[b.Database], b)
		}
	}
	jobsByDB := map[string][]catalog.Job{}
	for _, j := range jobs {
		if j.StartedAt.Before(in.To) {
			jobsByDB[j.Database] = append(jobsByDB[j.Database], j)
		}
		if !inPeriod(j.StartedAt) {
			continue
		}
		switch j.Kind {
		case "prune":
			m := Maint{At: j.StartedAt, Target: j.Target, OK: j.Status == catalog.StatusOK, Error: j.Error}
			if n, ok := j.Details["deleted_backups"].(float64); ok {
				m.Deleted = int(n)
			}
			r.Prune = append(r.Prune, m)
			seen = true
		case "mirror":
			r.Mirror = append(r.Mirror, Maint{At: j.StartedAt, Target: j.Target, OK: j.Status == catalog.StatusOK, Error: j.Error})
			seen = true
		}
	}
	if in.Kind == Weekly {
		for d := in.From; d.Before(in.To); d = d.AddDate(0, 0, 1) {
			r.Days = append(r.Days, d)
		}
	}
	for _, info := range in.Databases {
		d, err := buildDatabase(ctx, in, info, byDB[info.Name], jobsByDB[info.Name], r.Days)
		if err != nil {
			return nil, err
		}
		if d.Fulls+d.Differentials+d.Failed+len(d.Verifications) > 0 || len(d.Findings) > 0 {
			seen = true
		}
		r.Totals.Backups += d.Fulls + d.Differentials
		r.Totals.Failed += d.Failed
		r.Totals.StoredBytes += d.StoredBytes
		for _, v := range d.Verifications {
			if v.OK {
				r.Totals.Verified++
			} else {
				r.Totals.VerifyFailed++
			}
		}
		if d.Findings != nil {
			r.Totals.FindingsKnown = true
		}
		for _, f := range d.Findings {
			if f.New && f.Priority == PriorityUrgent && !f.Suppressed {
				r.Totals.NewUrgent++
			}
		}
		if (len(d.SchemaChanges) > 0 || in.AllDictionaries) && in.Sources.Dictionary != nil && in.Kind == Monthly {
			b, ok, err := in.Sources.Dictionary.DictionaryXLSX(ctx, d.Name)
			if err != nil {
				return nil, fmt.Errorf("reading the data dictionary of %s: %w", d.Name, err)
			}
			if ok {
				if r.Dictionaries == nil {
					r.Dictionaries = map[string][]byte{}
				}
				r.Dictionaries[d.Name] = b
			}
		}
		r.Databases = append(r.Databases, d)
	}
	if in.Kind == Monthly {
		if err := buildOperations(ctx, in, r); err != nil {
			return nil, err
		}
		if len(r.Maintenance) > 0 {
			seen = true
		}
		for _, c := range r.Reconciliations {
			seen = seen || c.Ran
		}
	}
	r.Register = readRegister(in)
	r.Totals.Drills = r.Register.Drills
	if len(r.Register.Entries) > 0 {
		seen = true
	}
	r.Empty = !seen
	return r, nil
}

func buildDatabase(ctx context.Context, in Input, info DB, backups []catalog.Backup, jobs []catalog.Job, days []time.Time) (Database, error) {
	d := Database{Name: info.Name, Engine: info.Engine}
	inPeriod := func(t time.Time) bool { return !t.Before(in.From) && t.Before(in.To) }
	loc := in.From.Location()
	monthOf := func(t time.Time) time.Time {
		t = t.In(loc)
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	// History, month by month, oldest first: the period's month last.
	points := map[time.Time]*MonthPoint{}
	var order []time.Time
	for m := monthOf(in.From).AddDate(0, -historyMonths, 0); !m.After(monthOf(in.From)); m = m.AddDate(0, 1, 0) {
		points[m] = &MonthPoint{Month: m}
		order = append(order, m)
	}
	fullSecs := map[time.Time][]float64{}
	var lastFull time.Time
	for _, b := range backups {
		m := monthOf(b.StartedAt)
		if p := points[m]; p != nil {
			p.Backups++
			p.StoredBytes += b.StoredBytes
			if b.Type == "full" {
				p.RawBytes = max(p.RawBytes, b.RawBytes)
				fullSecs[m] = append(fullSecs[m], b.DurationSeconds)
			}
		}
		if !inPeriod(b.StartedAt) {
			continue
		}
		d.StoredBytes += b.StoredBytes
		if b.Type == "full" {
			d.Fulls++
			if b.StartedAt.After(lastFull) {
				lastFull, d.LastFullBytes = b.StartedAt, b.RawBytes
			}
		} else {
			d.Differentials++
		}
	}
	var prev []float64
	for i, m := range order {
		points[m].AvgSecs = mean(fullSecs[m])
		if i < len(order)-1 {
			prev = append(prev, fullSecs[m]...)
		}
		d.History = append(d.History, *points[m])
	}
	if in.Kind == Monthly {
		d.AvgFullSecs = mean(fullSecs[monthOf(in.From)])
	} else {
		var secs []float64
		for _, b := range backups {
			if b.Type == "full" && inPeriod(b.StartedAt) {
				secs = append(secs, b.DurationSeconds)
			}
		}
		d.AvgFullSecs = mean(secs)
	}
	d.PrevAvgFullSecs = mean(prev)

	for _, j := range jobs {
		if !inPeriod(j.StartedAt) {
			continue
		}
		switch j.Kind {
		case "backup":
			if j.Status != catalog.StatusFailed {
				continue
			}
			f := Failure{At: j.StartedAt, Type: j.RequestedType, Error: firstLine(j.Error)}
			for _, b := range backups {
				if b.StartedAt.After(j.StartedAt) && (f.Type == "" || b.Type == f.Type) {
					f.Resolved = true
					break
				}
			}
			d.Failures = append(d.Failures, f)
			d.Failed++
		case "verify":
			if j.Status == catalog.StatusRunning {
				continue
			}
			rto := j.DurationSeconds
			if s, ok := j.Details["duration_seconds"].(float64); ok && s > 0 {
				rto = s
			}
			d.Verifications = append(d.Verifications, Verification{At: j.StartedAt, BackupID: j.BackupID, OK: j.Status == catalog.StatusOK, RTOSecs: rto, Error: firstLine(j.Error)})
		}
	}
	src := in.Sources
	var err error
	var raw []Finding // every sighting, for the weekly summary's days
	if src.Findings != nil {
		if raw, err = src.Findings.Findings(ctx, info.Name, in.From, in.To); err != nil {
			return d, fmt.Errorf("reading the findings of %s: %w", info.Name, err)
		}
		if raw != nil { // nil: the source has nothing for the period ("not collected")
			d.Findings = distinct(raw)
		}
	}
	if src.Volume != nil {
		if d.Volume, err = src.Volume.Volume(ctx, info.Name, in.From.AddDate(0, -historyMonths, 0), in.To); err != nil {
			return d, fmt.Errorf("reading the data volume of %s: %w", info.Name, err)
		}
		if d.Volume == nil {
			d.Volume = []VolumeSample{}
		}
	}
	if src.Schema != nil {
		d.SchemaKnown = true
		if d.SchemaChanges, err = src.Schema.SchemaChanges(ctx, info.Name, in.From, in.To); err != nil {
			return d, fmt.Errorf("reading the schema changes of %s: %w", info.Name, err)
		}
	}
	if src.Connections != nil {
		if d.ConnPeak, d.ConnKnown, err = src.Connections.ConnectionPeak(ctx, info.Name, in.From, in.To); err != nil {
			return d, fmt.Errorf("reading the connection peak of %s: %w", info.Name, err)
		}
		if cd, ok := src.Connections.(ConnectionDaysSource); ok && in.Kind == Monthly {
			if d.ConnDays, err = cd.ConnectionDays(ctx, info.Name, in.From, in.To); err != nil {
				return d, fmt.Errorf("reading the daily connection peaks of %s: %w", info.Name, err)
			}
		}
	}
	if src.Forecasts != nil && in.Kind == Monthly { // the trends section is the monthly report's
		if d.Forecasts, err = src.Forecasts.SpaceForecasts(ctx, info.Name, in.To); err != nil {
			return d, fmt.Errorf("reading the space forecasts of %s: %w", info.Name, err)
		}
	}
	if len(days) > 0 {
		for _, f := range raw {
			if g := groupOf(f); !slices.Contains(d.Groups, g) {
				d.Groups = append(d.Groups, g)
			}
		}
		slices.Sort(d.Groups)
	}
	var runs []Inspection
	if is, ok := src.Findings.(InspectionsSource); ok && len(days) > 0 {
		if runs, err = is.Inspections(ctx, info.Name, in.From, in.To); err != nil {
			return d, fmt.Errorf("reading the inspections of %s: %w", info.Name, err)
		}
	} else {
		for _, f := range raw {
			runs = append(runs, Inspection{At: f.Seen, Groups: d.Groups})
		}
	}
	for _, day := range days {
		d.Days = append(d.Days, dayMark(d, raw, runs, backups, day))
	}
	d.Status, d.Reason = judge(d, in.Kind)
	return d, nil
}

// dayMark is database d's cell for the day starting at day: a group an
// inspection of the day ran is in Groups, "" when it found nothing.
func dayMark(d Database, raw []Finding, runs []Inspection, backups []catalog.Backup, day time.Time) DayMark {
	end := day.AddDate(0, 0, 1)
	on := func(t time.Time) bool { return !t.Before(day) && t.Before(end) }
	var m DayMark
	for _, b := range backups {
		if on(b.StartedAt) {
			m.Backup = "ok"
		}
	}
	for _, f := range d.Failures {
		if on(f.At) && m.Backup == "" {
			m.Backup = "failed"
		}
	}
	for _, v := range d.Verifications {
		if on(v.At) {
			if !v.OK {
				m.Verify = "failed"
			} else if m.Verify == "" {
				m.Verify = "ok"
			}
		}
	}
	if d.Findings == nil {
		m.Worst = "-"
		return m
	}
	worse := func(p, than string) bool {
		return than == "" || slices.Index(Priorities, p) < slices.Index(Priorities, than)
	}
	for _, r := range runs {
		if !on(r.At) {
			continue
		}
		m.Inspected = true
		if m.Groups == nil {
			m.Groups = map[string]string{}
		}
		for _, g := range r.Groups {
			if _, ok := m.Groups[g]; !ok {
				m.Groups[g] = ""
			}
		}
	}
	for _, f := range raw {
		if !on(f.Seen) || f.Suppressed || f.Resolved {
			continue
		}
		m.Inspected = true // a sighting is an inspection, whatever the source says
		if worse(f.Priority, m.Worst) {
			m.Worst = f.Priority
		}
		if m.Groups == nil {
			m.Groups = map[string]string{}
		}
		if g := groupOf(f); worse(f.Priority, m.Groups[g]) {
			m.Groups[g] = f.Priority
		}
	}
	return m
}

// groupOf is the check group a finding is marked under in the weekly
// summary: its group, or its check when it has none.
func groupOf(f Finding) string {
	if f.Group != "" {
		return f.Group
	}
	return f.Check
}

// judge decides a database's status and the one reason that decides it,
// the worst first.
func judge(d Database, kind string) (Status, i18n.Message) {
	unresolved := 0
	for _, f := range d.Failures {
		if !f.Resolved {
			unresolved++
		}
	}
	urgent, high := 0, 0
	for _, f := range d.Findings {
		if f.Suppressed || f.Resolved {
			continue
		}
		switch f.Priority {
		case PriorityUrgent:
			urgent++
		case PriorityHigh:
			high++
		}
	}
	verifyFailed := 0
	for _, v := range d.Verifications {
		if !v.OK {
			verifyFailed++
		}
	}
	n := func(i int) string { return fmt.Sprint(i) }
	switch {
	case d.Fulls+d.Differentials == 0:
		return StatusSevere, i18n.M("report.reason.no_backup")
	case unresolved > 0:
		return StatusSevere, i18n.M("report.reason.unresolved", "n", n(unresolved))
	case urgent > 0:
		return StatusSevere, i18n.M("report.reason.urgent", "n", n(urgent))
	case verifyFailed > 0:
		return StatusAttention, i18n.M("report.reason.verify_failed", "n", n(verifyFailed))
	case d.Failed > 0:
		return StatusAttention, i18n.M("report.reason.resolved", "n", n(d.Failed))
	case high > 0:
		return StatusAttention, i18n.M("report.reason.high", "n", n(high))
	case kind == Monthly && len(d.Verifications) == 0:
		return StatusAttention, i18n.M("report.reason.not_verified")
	}
	return StatusOK, i18n.M("report.reason.ok")
}

// readRegister reads the register's entries of the period and verifies
// its whole hash chain.
func readRegister(in Input) Register {
	var out Register
	if in.RegisterPath == "" {
		return out
	}
	if _, err := os.Stat(in.RegisterPath); errors.Is(err, fs.ErrNotExist) {
		// No request was ever received: an empty, intact register.
		out.Checked, out.Intact = true, true
		return out
	}
	out.Anchored = len(in.Anchors)
	if in.AnchorsErr != nil {
		out.AnchorProblem = in.AnchorsErr.Error()
	}
	rep, err := register.VerifyFile(in.RegisterPath, in.Anchors)
	switch {
	case err != nil:
		out.Checked, out.Problem = true, err.Error()
		return out
	case !rep.OK():
		out.Checked, out.Problem = true, rep.Problems[0].String()
	default:
		out.Checked, out.Intact = true, true
	}
	out.Lines, out.HeadHash = rep.Lines, rep.Head.Hash
	entries, err := register.ReadFile(in.RegisterPath)
	if err != nil {
		out.Intact, out.Problem = false, err.Error()
		return out
	}
	byRef := map[int64]*Reg{}
	var order []int64
	for _, e := range entries {
		switch e.Kind {
		case register.Received:
			if e.Time.Before(in.From) || !e.Time.Before(in.To) {
				continue
			}
			byRef[e.Seq] = &Reg{At: e.Time, Request: e.Request, Action: e.Action, Database: e.Database, Requester: e.Requester, Outcome: "pending"}
			order = append(order, e.Seq)
		case register.Approved:
			if r := byRef[e.Ref]; r != nil {
				r.Approvers = append(r.Approvers, e.Signer)
			}
		case register.Refused:
			if r := byRef[e.Ref]; r != nil {
				r.Outcome, r.Detail = "refused", e.Refusal
			}
		case register.Accepted, register.Started:
			if r := byRef[e.Ref]; r != nil {
				if r.Action == "" {
					r.Action = e.Action
				}
				if r.Database == "" {
					r.Database = e.Database
				}
				if len(r.Approvers) == 0 {
					r.Approvers = e.Approvers
				}
			}
		case register.Finished:
			r := byRef[e.Ref]
			if r == nil {
				continue
			}
			r.Outcome, r.Detail, r.RTOSecs = e.Outcome, firstLine(e.Error), e.Duration().Seconds()
			if e.Outcome == register.Succeeded || e.Outcome == register.Failed {
				if r.Action == "drill" {
					out.Drills++
				} else {
					out.Restores++
				}
			}
		}
	}
	for _, seq := range order {
		out.Entries = append(out.Entries, *byRef[seq])
	}
	sort.SliceStable(out.Entries, func(i, j int) bool { return out.Entries[i].At.Before(out.Entries[j].At) })
	return out
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// distinct keeps one finding per check and object, as the daily
// inspections see the same one day after day: the newest sighting (its
// state is the current one), new when any sighting in the period was.
func distinct(fs []Finding) []Finding {
	out := []Finding{}
	at := map[[2]string]int{}
	for _, f := range fs {
		k := [2]string{f.Check, f.Object}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, f)
			continue
		}
		first := out[i]
		if !f.Seen.Before(first.Seen) {
			f.New = f.New || first.New
			out[i] = f
		} else {
			out[i].New = out[i].New || f.New
		}
	}
	return out
}

// buildOperations reads the month's table maintenance and reconciliations
// (issue #16) from their sources; a nil source leaves its list nil.
func buildOperations(ctx context.Context, in Input, r *Report) error {
	if src := in.Sources.Maintenance; src != nil {
		r.Maintenance = []MaintenanceRun{}
		for _, d := range in.Databases {
			runs, err := src.Maintenance(ctx, d.Name, in.From, in.To)
			if err != nil {
				return fmt.Errorf("reading the maintenance of %s: %w", d.Name, err)
			}
			r.Maintenance = append(r.Maintenance, runs...)
		}
		slices.SortStableFunc(r.Maintenance, func(a, b MaintenanceRun) int { return a.At.Compare(b.At) })
	}
	if src := in.Sources.Reconciliations; src != nil {
		names := make([]string, 0, len(in.Databases))
		for _, d := range in.Databases {
			names = append(names, d.Name)
		}
		rs, err := src.Reconciliations(ctx, names, in.From, in.To)
		if err != nil {
			return fmt.Errorf("reading the reconciliations: %w", err)
		}
		r.Reconciliations = append([]Reconciliation{}, rs...)
	}
	return nil
}
