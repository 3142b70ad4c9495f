package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines/maintmodel"
	"github.com/dbopsd/dbopsd/history"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/maintenance"
	"github.com/dbopsd/dbopsd/request"
)

// runRequestNewMaintenance writes a maintenance request: for a stored
// proposal (--proposal ID, its operation copied into the request, so that
// what is signed is what runs), or for an operation of the allowed list
// named outright (--operation OP --table T [--index I]). Never SQL.
func runRequestNewMaintenance(ctx context.Context, o requestNewOpts) error {
	switch {
	case o.database == "":
		return usageError("--database is required")
	case o.output == "":
		return usageError("-o FILE is required (\"-\" for standard output)")
	case o.target != "" || o.as != "" || o.backupID != "" || o.replace:
		return usageError("--target, --as, --backup and --replace do not apply to maintenance")
	case o.commentsFrom != "" && (o.proposal != "" || o.operation != "" || len(o.tables) > 0 || o.index != ""):
		return usageError("--comments-from names its tables and columns; leave out --proposal, --operation, --table and --index")
	case o.commentsFrom != "":
		return runRequestNewComments(ctx, o)
	case o.proposal == "" && o.operation == "":
		return usageError("name what to do: --proposal ID (dbopsd maintenance list), --operation OP --table T, or --comments-from FILE")
	case o.proposal != "" && (o.operation != "" || len(o.tables) > 0 || o.index != ""):
		return usageError("--proposal carries its own operation and table; leave out --operation, --table and --index")
	}
	p := request.Parameters{Database: o.database, Operation: o.operation, Tables: o.tables, Index: o.index}
	if o.proposal != "" {
		e, err := setup(&o.globals)
		if err != nil {
			return err
		}
		prop, err := maintenance.Find(ctx, history.Store{Catalog: e.cat}, o.database, o.proposal)
		e.close()
		if err != nil {
			return err
		}
		op := prop.Operation
		p.Operation, p.Tables, p.Index, p.Proposal = string(op.Op), []string{op.Table.String()}, op.Index, prop.ID
		if o.reason == "" {
			o.reason = prop.Reason
		}
	}
	return newMaintenanceRequest(o, p)
}

// runRequestNewComments writes a maintenance request of operation
// "comment" carrying the rows of the comments file that differ from the
// database's comments now (what dict comments shows; rows naming nothing
// in the database are left out and said so): the comments are part of
// what is signed, so the daemon sets exactly the text that was approved.
func runRequestNewComments(ctx context.Context, o requestNewOpts) error {
	cs, err := commentStatements(ctx, &o.globals, o.database, o.commentsFrom, "")
	if err != nil {
		return err
	}
	for _, s := range cs.skipped {
		fmt.Fprintln(o.stderr, s)
	}
	if len(cs.stmts) == 0 {
		return fmt.Errorf("%s: %s", o.commentsFrom, i18n.T(cs.lang, "dict.comments.none", nil))
	}
	p := request.Parameters{Database: o.database, Operation: string(maintmodel.Comment)}
	for _, st := range cs.stmts {
		c := st.Comment
		t := c.Table
		if c.Schema != "" {
			t = c.Schema + "." + c.Table
		} else if cs.dict.Engine == "postgres" {
			t = "public." + c.Table // a dot in the table's name is not a schema
		}
		// Excel's line ends; a request's text allows \n only.
		text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(c.Comment)
		p.Comments = append(p.Comments, request.Comment{Table: t, Column: c.Column, Comment: text})
	}
	if o.reason == "" {
		o.reason = "comments from " + filepath.Base(o.commentsFrom)
	}
	return newMaintenanceRequest(o, p)
}

// newMaintenanceRequest makes the request of p and writes it.
func newMaintenanceRequest(o requestNewOpts, p request.Parameters) error {
	now := time.Now()
	var nb time.Time
	if o.notBefore != "" {
		if d, err := time.ParseDuration(o.notBefore); err == nil {
			nb = now.Add(d)
		} else if nb, err = time.Parse(time.RFC3339, o.notBefore); err != nil {
			return usageError("--not-before %q: want an RFC 3339 time or a duration", o.notBefore)
		}
	}
	r, err := request.New(request.Draft{Action: request.ActionMaintenance, Requester: o.requester, Reason: o.reason,
		NotBefore: nb, Lifetime: o.expires, Parameters: p}, now)
	if err != nil {
		return err
	}
	if n := len(r.Marshal()); n > request.MaxSize {
		return fmt.Errorf("the request would be %d bytes, more than the %d a request may have: split the comments into several files", n, request.MaxSize)
	}
	return finishRequestNew(o, r)
}
