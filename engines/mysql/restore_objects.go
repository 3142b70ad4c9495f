package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
)

// After the rows: routines, views in dependency order, triggers and
// events, and the DEFINER accounts they need.

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// createObject recreates a routine, view, trigger or event under the
// session settings it was created with.
func (r *restoreRun) createObject(ctx context.Context, c *sql.Conn, kind string, o object) error {
	var sets []string
	if o.SQLMode != "" || kind != engines.KindView {
		sets = append(sets, "sql_mode = "+quoteString(r.srv.sqlModeFor(o.SQLMode)))
	}
	if o.CharsetClient != "" {
		sets = append(sets, "character_set_client = "+quoteString(o.CharsetClient))
	}
	if o.CollationConnection != "" {
		sets = append(sets, "collation_connection = "+quoteString(o.CollationConnection))
	}
	if o.TimeZone != "" {
		sets = append(sets, "time_zone = "+quoteString(o.TimeZone))
	}
	if len(sets) > 0 {
		if _, err := c.ExecContext(ctx, "SET SESSION "+strings.Join(sets, ", ")); err != nil {
			return fmt.Errorf("preparing to create %s %s: %w", kind, o.Name, classify(err))
		}
	}
	_, err := c.ExecContext(ctx, string(o.Create))
	if errNumber(err) == erSpecificAccess {
		// Only SUPER/SET USER may name another account as DEFINER. Without
		// it the object is created with the restoring account as definer,
		// which changes whose rights SQL SECURITY DEFINER code runs with:
		// said in the report.
		if stripped, definer := stripDefiner(o.Create); definer != "" {
			if _, err = c.ExecContext(ctx, string(stripped)); err == nil {
				r.note(NoteDefinerReplaced, engines.Params{"kind": kind, "object": o.Name, "definer": definer})
			}
		}
	}
	if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci"); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		if refusedByPrivileges(err) {
			// The tables and rows are what a restore is for; a program the
			// account may not create is reported, not fatal.
			r.skip(NoteObjectRefused, engines.Params{"kind": kind, "object": o.Name, "error": err.Error()})
			return nil
		}
		return fmt.Errorf("creating %s %s: %w", kind, o.Name, classify(err))
	}
	return nil
}

// refusedByPrivileges reports errors that say the account may not create
// an object (SUPER/SET USER for a DEFINER, SUPER for a function while
// binary logging is on, a missing grant).
func refusedByPrivileges(err error) bool {
	switch errNumber(err) {
	case erSpecificAccess, erBinlogRoutineNeedSuper, erDBAccessDenied, erTableAccessDenied:
		return true
	}
	return false
}

// createViews creates views in their recorded order, retrying those that
// fail because a view they read does not exist yet (a backup by an older
// version, or a dependency the text scan missed).
func (r *restoreRun) createViews(ctx context.Context, c *sql.Conn, views []object) error {
	pending := views
	for len(pending) > 0 {
		var retry []object
		var lastErr error
		for _, v := range pending {
			err := r.createObject(ctx, c, engines.KindView, v)
			if err != nil && errNumber(err) == erNoSuchTable {
				retry = append(retry, v)
				lastErr = err
				continue
			}
			if err != nil {
				return err
			}
		}
		if len(retry) == len(pending) {
			return lastErr
		}
		pending = retry
	}
	return nil
}

var eventEnableRE = regexp.MustCompile(`(ON COMPLETION (?:NOT )?PRESERVE) ENABLE\b`)

// disableEvent rewrites SHOW CREATE EVENT output to create the event
// disabled.
func disableEvent(create []byte) []byte {
	loc := eventEnableRE.FindSubmatchIndex(create)
	if loc == nil {
		return create
	}
	out := append([]byte{}, create[:loc[3]]...)
	out = append(out, " DISABLE"...)
	return append(out, create[loc[1]:]...)
}

// reportDefiners says which accounts the recreated views, routines,
// triggers and events run as, and which of them the target lacks.
func (r *restoreRun) reportDefiners(ctx context.Context, admin *sql.Conn) {
	objs := [][]object{r.doc.Triggers}
	if len(r.req.Tables) == 0 {
		objs = append(objs, r.doc.Views, r.doc.Routines, r.doc.Events)
	}
	for _, d := range definers(objs...) {
		m := regexp.MustCompile("^`((?:[^`]|``)*)`@`((?:[^`]|``)*)`$").FindStringSubmatch(d)
		if m == nil {
			continue
		}
		var n int
		err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
			strings.ReplaceAll(m[1], "``", "`"), strings.ReplaceAll(m[2], "``", "`")).Scan(&n)
		switch {
		case err != nil:
			r.note(NoteDefinerUnchecked, engines.Params{"definer": d})
		case n == 0:
			r.skip(NoteDefinerMissing, engines.Params{"definer": d})
		}
	}
}

// createObjects creates, after the rows, the routines and views (in
// dependency order), the triggers of the restored tables (so the load did
// not fire them) and the events. A table restore recreates only the
// triggers, and says so of the rest.
func (r *restoreRun) createObjects(ctx context.Context, ddl *sql.Conn) error {
	doc := r.doc
	if r.whole() {
		for _, o := range doc.Routines {
			if err := r.createObject(ctx, ddl, engines.KindRoutine, o); err != nil {
				return err
			}
		}
		if err := r.createViews(ctx, ddl, doc.Views); err != nil {
			return err
		}
	} else if n := len(doc.Views) + len(doc.Routines) + len(doc.Events); n > 0 {
		r.skip(NoteProgramsNotRecreated, engines.Params{"count": strconv.Itoa(n)})
	}
	for _, o := range doc.Triggers {
		if !r.restored[o.Table] {
			continue
		}
		o.Create = retargetTrigger(o.Create, doc.Database, r.req.Database)
		if err := r.createObject(ctx, ddl, engines.KindTrigger, o); err != nil {
			return err
		}
	}
	if !r.whole() {
		return nil
	}
	renamed := r.req.Database != doc.Database
	for _, o := range doc.Events {
		if renamed {
			if c := disableEvent(o.Create); !bytesEqual(c, o.Create) {
				o.Create = c
				r.note(NoteEventDisabled, engines.Params{"event": o.Name})
			}
		}
		if err := r.createObject(ctx, ddl, engines.KindEvent, o); err != nil {
			return err
		}
	}
	return nil
}
