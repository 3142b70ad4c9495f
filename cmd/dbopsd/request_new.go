package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/request"
)

type requestNewOpts struct {
	globals
	action    string
	database  string
	backupID  string
	target    string
	as        string
	tables    stringList
	replace   bool
	reason    string
	expires   time.Duration
	notBefore string
	requester string
	output    string
	// maintenance: an operation of the allowed list, or a stored proposal
	operation string
	index     string
	proposal  string
	// maintenance: the comments file of dict comments --from
	commentsFrom string
	// configExplicit: --config was given, so the policy must load.
	configExplicit bool
}

func requestNewCmd() command {
	var o requestNewOpts
	return command{
		name: "request new",
		usage: "restore|drill --database X --target T --as NAME -o FILE\n" +
			"       maintenance --database X (--proposal ID | --operation OP --table T [--index I] | --comments-from FILE) -o FILE",
		summary: "Write an unsigned restore, drill or maintenance request (id, nonce, parameters, validity window).\n" +
			"Then sign it (request sign), have it approved (request approve), check it (request\n" +
			"verify) and submit it to the daemon.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.StringVar(&o.database, "database", "", "source database (its label in the policy)")
			fs.StringVar(&o.backupID, "backup", "", "backup id (default: the newest when the request runs)")
			fs.StringVar(&o.target, "target", "", "restore_target to restore onto")
			fs.StringVar(&o.as, "as", "", "name of the database to create on the target (drills: default <database>_drill_<date>)")
			fs.Var(&o.tables, "table", "restore only this table (schema.table; repeatable)")
			fs.BoolVar(&o.replace, "replace", false, "allow dropping and replacing an existing database or table of that name")
			fs.StringVar(&o.reason, "reason", "", "why (recorded in the register and the bureau's export)")
			fs.DurationVar(&o.expires, "expires", request.DefaultLifetime, "how long the request stays valid after not-before (at most 168h)")
			fs.StringVar(&o.notBefore, "not-before", "", "earliest time it may run: RFC 3339 time, or a delay such as 30m (default: now)")
			fs.StringVar(&o.requester, "requester", "", "your signer name in the policy (default: filled in by request sign)")
			fs.StringVar(&o.output, "o", "", "write the request to this file (\"-\": standard output)")
			fs.StringVar(&o.operation, "operation", "", "maintenance: vacuum, vacuum_full, reindex, analyze, drop_index (PostgreSQL); optimize, rebuild, analyze, drop_index (MariaDB); comments: --comments-from")
			fs.StringVar(&o.index, "index", "", "maintenance: the index of reindex or drop_index")
			fs.StringVar(&o.proposal, "proposal", "", "maintenance: carry out this proposal (dbopsd maintenance list)")
			fs.StringVar(&o.commentsFrom, "comments-from", "", "maintenance: set the table and column comments of this CSV or xlsx file (as dbopsd dict comments --from reads it)")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 1, "the action: restore, drill or maintenance"); err != nil {
					return err
				}
				o.action = args[0]
				o.configExplicit = flagWasSet(fs, "config")
				return runRequestNew(ctx, o)
			}
		},
	}
}

func runRequestNew(ctx context.Context, o requestNewOpts) error {
	if o.action == request.ActionMaintenance {
		return runRequestNewMaintenance(ctx, o)
	}
	if o.action != request.ActionRestore && o.action != request.ActionDrill {
		return usageError("action %q: want restore, drill or maintenance", o.action)
	}
	if o.database == "" || o.target == "" {
		return usageError("--database and --target are required")
	}
	if o.output == "" {
		return usageError("-o FILE is required (\"-\" for standard output)")
	}
	now := time.Now()
	if o.as == "" {
		if o.action != request.ActionDrill {
			return usageError("--as is required: the name of the database to create on the target")
		}
		o.as = strings.ReplaceAll(o.database, "-", "_") + "_drill_" + now.Format("20060102_1504")
	}
	var nb time.Time
	if o.notBefore != "" {
		if d, err := time.ParseDuration(o.notBefore); err == nil {
			nb = now.Add(d)
		} else if nb, err = time.Parse(time.RFC3339, o.notBefore); err != nil {
			return usageError("--not-before %q: want an RFC 3339 time or a duration", o.notBefore)
		}
	}
	r, err := request.New(request.Draft{
		Action: o.action, Requester: o.requester, Reason: o.reason, NotBefore: nb, Lifetime: o.expires,
		Parameters: request.Parameters{Database: o.database, Backup: o.backupID, Target: o.target, As: o.as, Tables: o.tables, Replace: o.replace},
	}, now)
	if err != nil {
		return err
	}
	return finishRequestNew(o, r)
}

// finishRequestNew checks r against the policy when it is at hand and
// writes it.
func finishRequestNew(o requestNewOpts, r *request.Request) error {
	// With the policy at hand, refuse now what the daemon would refuse later.
	cfg, err := optionalConfig(&o.globals, o.configExplicit)
	if err != nil {
		return err
	}
	if cfg != nil {
		if err := request.TargetAllowed(cfg, r); err != nil {
			return err
		}
		if o.requester != "" {
			if err := request.HasRole(cfg, o.requester, config.RoleDBA); err != nil {
				return err
			}
		}
	}
	if err := writeRequest(o.output, r, false, o.stdout); err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "request %s: %s, valid %s to %s\n", r.ID, describeRequest(r), r.NotBefore.Local().Format("2006-01-02 15:04"), r.Expires.Local().Format("2006-01-02 15:04"))
	if o.output != "-" {
		fmt.Fprintf(o.stderr, "next: dbopsd request sign --key ~/.ssh/id_ed25519 %s\n", o.output)
	}
	return nil
}
