package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// Commenter is what an engine adapter offers to set comments (the
// maintmodel.Comment operation): engines/postgres/maintenance_comments.go
// and engines/mysql/maintenance_comments.go.
type Commenter interface {
	// ApplyComments sets every change, in one transaction where the
	// engine has transactional DDL (PostgreSQL: all or nothing), else one
	// statement each. The results carry each change's statement and its
	// comment before and after, and whether it was applied, also when the
	// run failed part way.
	ApplyComments(ctx context.Context, c engines.Conn, database string, changes []maintmodel.CommentChange, opts maintmodel.RunOptions) ([]maintmodel.CommentResult, error)
}

// runComments is Run for the Comment operation: no table to measure and no
// copy to make; the register and the job log keep every comment before and
// after.
func runComments(ctx context.Context, spec Spec, res *Result, log hclog.Logger, now func() time.Time) (*Result, error) {
	t, op := spec.Target, spec.Operation
	res.Statement = fmt.Sprintf("%d comment change(s): %s", len(spec.Comments), maintmodel.CommentObjects(spec.Comments))
	cm, ok := t.Engine.(Commenter)
	if !ok {
		err := fmt.Errorf("%w: engine of %s cannot set comments", ErrNotSupported, t.Database.Name)
		res.Error = err.Error()
		return res, err
	}
	if err := maintmodel.CheckComments(t.Database.Engine, spec.Comments); err != nil {
		res.Error = err.Error()
		return res, err
	}
	loc := spec.Location
	if loc == nil {
		loc = time.Local
	}
	if err := CheckWindow(spec.Policy, loc, now()); err != nil {
		res.Error = err.Error()
		log.Warn("maintenance not run", "error", err)
		return res, err
	}
	var jobID int64
	var err error
	if spec.Catalog != nil {
		if jobID, err = spec.Catalog.StartJob(ctx, catalog.Job{Kind: JobKind, Database: t.Database.Name, Trigger: spec.Trigger,
			OSUser: spec.OSUser, RequestedType: string(op.Op)}); err != nil {
			res.Error = err.Error()
			return res, err
		}
	}
	lock := config.DefaultMaintenanceLockTimeout
	if spec.Policy != nil && spec.Policy.MaintenanceLockTimeout > 0 {
		lock = spec.Policy.MaintenanceLockTimeout
	}
	log.Info("maintenance starting", "comments", len(spec.Comments), "lock_timeout", lock)
	res.Outcome = ""
	(&steps{spec: spec, n: 1}).next(fmt.Sprintf("setting %d comment(s)", len(spec.Comments)))
	res.Comments, err = cm.ApplyComments(ctx, t.Conn, t.DatabaseName, spec.Comments, maintmodel.RunOptions{LockTimeout: lock})
	res.Duration = now().Sub(res.Started)
	switch {
	case errors.Is(err, maintmodel.ErrLockTimeout):
		res.Outcome = LockTimeout
	case err != nil:
		res.Outcome = Failed
	default:
		res.Outcome = Succeeded
	}
	if err != nil {
		res.Error = err.Error()
		log.Error("maintenance failed", "outcome", res.Outcome, "error", err)
	} else {
		log.Info("maintenance done", "summary", res.Summary())
	}
	if spec.Catalog != nil {
		if ferr := spec.Catalog.FinishJob(context.WithoutCancel(ctx), jobID, "", 0, err, res.details()); ferr != nil && err == nil {
			err = ferr
		}
	}
	return res, err
}

// commentSummary is what the register's note says of a comment run: every
// change with its comment before and after, quoted.
func (r *Result) commentSummary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s in %s", r.Statement, r.Outcome, r.Duration.Round(time.Millisecond))
	applied := 0
	for _, c := range r.Comments {
		if c.Applied {
			applied++
		}
	}
	fmt.Fprintf(&b, "; %d applied", applied)
	for _, c := range r.Comments {
		state := "before " + strconv.Quote(c.Before) + ", after " + strconv.Quote(c.After)
		if !c.Applied {
			state = "not applied, was " + strconv.Quote(c.Before)
		}
		fmt.Fprintf(&b, "; comment %s: %s", c.Object(), state)
	}
	return b.String()
}
