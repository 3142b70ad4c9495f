package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

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

// commentStatement is what the Result of a Comment operation names as its
// statement (the changes, for the register and the job log), and an error
// when the engine cannot set comments or a change is not allowed on it.
func commentStatement(spec Spec) (string, error) {
	stmt := fmt.Sprintf("%d comment change(s): %s", len(spec.Comments), maintmodel.CommentObjects(spec.Comments))
	if _, ok := spec.Target.Engine.(Commenter); !ok {
		return stmt, fmt.Errorf("%w: engine of %s cannot set comments", ErrNotSupported, spec.Target.Database.Name)
	}
	return stmt, maintmodel.CheckComments(spec.Target.Database.Engine, spec.Comments)
}

// runComments is Run's work for the Comment operation (commentStatement
// has checked that the engine is a Commenter): no table to measure and no
// copy to make; the register and the job log keep every comment before
// and after.
func runComments(ctx context.Context, spec Spec, res *Result, log hclog.Logger) error {
	t := spec.Target
	lock := lockTimeout(spec.Policy)
	log.Info("maintenance starting", "comments", len(spec.Comments), "lock_timeout", lock)
	res.Outcome = ""
	(&steps{spec: spec, n: 1}).next(fmt.Sprintf("setting %d comment(s)", len(spec.Comments)))
	var err error
	res.Comments, err = t.Engine.(Commenter).ApplyComments(ctx, t.Conn, t.DatabaseName, spec.Comments, maintmodel.RunOptions{LockTimeout: lock})
	switch {
	case errors.Is(err, maintmodel.ErrLockTimeout):
		res.Outcome = LockTimeout
	case err != nil:
		res.Outcome = Failed
	default:
		res.Outcome = Succeeded
	}
	return err
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
