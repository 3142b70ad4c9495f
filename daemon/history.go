package daemon

import (
	"context"
	"slices"
	"time"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/report"
	"github.com/dbopsd/dbopsd/schedule"
)

// siteKinds are the site-wide kinds whose last success the scheduler
// needs.
var siteKinds = []string{schedule.KindPrune, schedule.KindMirror, KindCheck,
	report.CatalogKindOf(report.Monthly), report.CatalogKindOf(report.Weekly), KindVolume}

// catalogHistory answers the scheduler from the catalog: due-ness comes
// from what succeeded, not from timers.
type catalogHistory struct{ cat *catalog.Catalog }

func (h catalogHistory) Facts(ctx context.Context) (schedule.Facts, error) {
	latest, err := h.cat.Latest(ctx)
	if err != nil {
		return schedule.Facts{}, err
	}
	site, err := h.cat.LastSuccesses(ctx, slices.Concat(siteKinds, diagnoseKinds)...)
	if err != nil {
		return schedule.Facts{}, err
	}
	f := schedule.Facts{DB: make(map[string]schedule.DBFacts, len(latest)), Site: map[string]time.Time{}}
	for db, l := range latest {
		f.DB[db] = schedule.DBFacts{
			Full: l.Full, FullID: l.FullID, FullVerify: l.FullVerify,
			Backup: l.Backup, BackupID: l.BackupID, BackupVerify: l.BackupVerify,
			Verified: l.Verified,
		}
	}
	if err := reconciled(ctx, h.cat, &f); err != nil {
		return schedule.Facts{}, err
	}
	for kind, byDB := range site {
		for name, t := range byDB {
			if name == "" {
				f.Site[kind] = t
			} else { // a report block's, a database's diagnosis
				f.Site[factKey(kind, name)] = t
			}
		}
	}
	return f, nil
}
