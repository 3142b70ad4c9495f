package main

import (
	"context"
	"time"

	"github.com/dbopsd/dbopsd/history"
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
	case o.proposal == "" && o.operation == "":
		return usageError("name what to do: --proposal ID (dbopsd maintenance list), or --operation OP --table T")
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
	return finishRequestNew(o, r)
}
