package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/notify"
	"github.com/dbopsd/dbopsd/reconcile"
	"github.com/dbopsd/dbopsd/restore"
	"github.com/dbopsd/dbopsd/schedule"
)

// observer turns what the scheduler does into metrics and alerts.
type observer Agent

var _ schedule.Observer = (*observer)(nil)

func (o *observer) Finished(t schedule.TaskInfo, out schedule.Outcome) {
	a := (*Agent)(o)
	ok := out.Err == nil
	a.metrics.Finished(t.Database, t.Kind, ok, t.Started, out.Duration)
	k, _ := a.kinds.Kind(t.Kind)
	var verr *restore.VerifyError
	switch {
	case ok:
		if schedule.IsBackup(t.Kind) {
			a.backupSucceeded(t)
		}
		if t.Kind == schedule.KindVerify {
			a.metrics.Verification(t.Database, true)
		}
		if k != nil && k.Alert != "" {
			a.notifier.Clear(k.Alert, t.Database, t.Kind, fmt.Sprintf("The %s of %s succeeded at %s.", t.Kind, orSite(t.Database), t.Started.Format(time.RFC3339)))
		}
		if k != nil && k.NotRunAlert != "" {
			a.notifier.Clear(k.NotRunAlert, t.Database, t.Kind, fmt.Sprintf("The %s of %s ran and succeeded at %s.", t.Kind, orSite(t.Database), t.Started.Format(time.RFC3339)))
		}
	case errors.Is(out.Err, context.Canceled):
		// Stopped by a shutdown: nothing to alert about.
	default:
		if t.Kind == schedule.KindVerify && errors.As(out.Err, &verr) {
			a.metrics.Verification(t.Database, false)
		}
		alert, what := "", "failed"
		if k != nil {
			alert = k.Alert
			if k.NotRunAlert != "" && errors.Is(out.Err, catalog.ErrNotRun) {
				alert, what = k.NotRunAlert, "could not run"
			}
		}
		if out.Final && alert != "" {
			attempts := "at the first attempt (not retried: the error is permanent)"
			if t.Attempt > 1 {
				attempts = fmt.Sprintf("after %d attempts", t.Attempt)
			}
			summary := fmt.Sprintf("The %s of %s (%s) %s %s.", t.Kind, orSite(t.Database), t.Trigger, what, attempts)
			if de := (*reconcile.DifferencesError)(nil); errors.As(out.Err, &de) {
				summary = "Reconciliation " + de.Result.Summary().Text(i18n.EN) // it ran; what it found is the problem
			}
			a.notifier.Raise(notify.Event{Type: alert, Database: t.Database, Kind: t.Kind, Summary: summary, Error: out.Err.Error()})
		}
	}
}

// backupSucceeded updates the stored-bytes metric and ends a stale alert.
func (a *Agent) backupSucceeded(t schedule.TaskInfo) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if latest, err := a.cat.Latest(ctx); err == nil {
		if l, ok := latest[t.Database]; ok {
			a.metrics.Stored(t.Database, l.BackupType, l.BackupStored)
			if l.BackupType != t.Kind {
				a.metrics.LastSuccess(t.Database, l.BackupType, l.Backup) // a differential that became a full
			}
		}
	}
	a.notifier.Clear(config.EventStale, t.Database, "", fmt.Sprintf("%s has a new %s backup (%s).", t.Database, t.Kind, t.Started.Format(time.RFC3339)))
}

func (o *observer) Gap(g schedule.Gap) {
	a := (*Agent)(o)
	loc := a.cfg.Load().Daemon.Location
	var b strings.Builder
	for _, m := range g.Missed {
		fmt.Fprintf(&b, "catching up: %s (missed %s", m.Key, m.Slot.In(loc).Format("2006-01-02 15:04"))
		if m.Slots > 1 {
			fmt.Fprintf(&b, " and %d later runs", m.Slots-1)
		}
		b.WriteString(")\n")
	}
	summary := "dbopsd started after a gap"
	if !g.From.IsZero() {
		summary = fmt.Sprintf("dbopsd did not run from %s to %s (%s)", g.From.In(loc).Format("2006-01-02 15:04"),
			g.To.In(loc).Format("2006-01-02 15:04"), g.To.Sub(g.From).Round(time.Minute))
	}
	if len(g.Missed) == 0 {
		summary += "; no scheduled run was missed."
	} else {
		summary += fmt.Sprintf("; %d missed runs are caught up once each.", len(g.Missed))
	}
	a.log.Warn(summary)
	a.notifier.Notice(notify.Event{Type: config.EventDaemonGap, Summary: summary, Detail: b.String()})
}
