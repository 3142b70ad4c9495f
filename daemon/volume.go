package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/schedule"
	"github.com/dbopsd/dbopsd/site"
)

// KindVolume is the daily data-volume sample of every database (volume/).
const KindVolume = "volume"

// DefaultVolume is when the volume samples are taken: daily at 01:30, off
// the backup windows' busiest hours.
const DefaultVolume = "30 1 * * *"

// planVolume plans the daily samples when the policy has a volume { }
// block: a policy that asks for no volume register gets no new job.
func planVolume(cfg *config.Config) ([]schedule.Entry, error) {
	if cfg.Volume.Range.Filename == "" || len(cfg.Databases) == 0 {
		return nil, nil
	}
	spec, err := schedule.ParseSpec(DefaultVolume, cfg.Daemon.Location)
	if err != nil {
		return nil, err
	}
	return []schedule.Entry{{
		Kind: KindVolume, Spec: spec, Schedule: "daily " + DefaultVolume,
		Due: func(f schedule.Facts, now time.Time) schedule.Due {
			last := f.Site[KindVolume]
			if last.IsZero() {
				return schedule.Due{Due: true, Why: "no volume sample was taken yet"}
			}
			if n := spec.Next(last); !n.After(now) {
				return schedule.Due{Due: true, Missed: n, Slots: schedule.Slots(spec, last, now, 1000),
					Why: "last volume sample " + last.Format(time.RFC3339)}
			}
			return schedule.Due{}
		},
	}}, nil
}

// runVolume samples every database (site.VolumeSample) and stores the
// samples through history. A database whose engine has no dictionary is
// left out; one that fails does not stop the others, but fails the job.
func runVolume(ctx context.Context, env *Env, t *schedule.Task) error {
	k := &Kind{Name: KindVolume}
	repo, err := env.OpenRepo(ctx)
	if err != nil {
		return recordFailure(ctx, env, k, t, fmt.Errorf("sampling data volume: %w", err))
	}
	id, err := env.Catalog.StartJob(ctx, catalogJob(k, t))
	if err != nil {
		return err
	}
	hs := history.Store{Repo: repo, Catalog: env.Catalog}
	var failed []string
	sampled := 0
	for _, name := range env.Config.DatabaseNames() {
		err := site.DailySample(ctx, env.Config, hs, env.Config.Databases[name], time.Now())
		if errors.Is(err, dictionary.ErrNotSupported) {
			continue
		}
		if err != nil {
			env.Logger.Error("volume sample failed", "database", name, "error", err)
			failed = append(failed, name+": "+err.Error())
			continue
		}
		sampled++
	}
	if len(failed) > 0 {
		err = fmt.Errorf("no volume sample of %d databases: %s", len(failed), strings.Join(failed, "; "))
	}
	if ferr := env.Catalog.FinishJob(context.WithoutCancel(ctx), id, "", 0, err, map[string]any{"databases": sampled}); ferr != nil && err == nil {
		err = ferr
	}
	return err
}
