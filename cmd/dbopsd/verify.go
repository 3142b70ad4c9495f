package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/dbopsd/dbopsd/restore"
)

func verifyCmd() command {
	var o restoreOpts
	return command{
		name: "verify",
		summary: "Prove a backup restorable: restore it into a scratch database on a scratch target,\n" +
			"compare every table's row count and checksum with the backup, run the engine's\n" +
			"integrity checks, drop the scratch copy. Exits 0 only when the backup is verified.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addRestoreFlags(fs, &o)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runVerify(ctx, o)
			}
		},
	}
}

func runVerify(ctx context.Context, o restoreOpts) error {
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	req, err := restoreRequest(ctx, o, e, true)
	if err != nil {
		return err
	}
	pr := newProgress(o.stderr, "verify "+o.database, 0, o.quiet || o.jsonOut)
	req.Progress = pr.set
	v, err := restore.Verify(ctx, req)
	pr.finish()
	var verr *restore.VerifyError
	var nerr *restore.NotRunError
	if err != nil && !errors.As(err, &verr) && !errors.As(err, &nerr) {
		return err
	}
	if o.jsonOut {
		if perr := printJSON(o.stdout, v); perr != nil {
			return perr
		}
	} else {
		printVerification(o, v)
	}
	if verr != nil || nerr != nil {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

func printVerification(o restoreOpts, v *restore.Verification) {
	w := o.stdout
	if v.NotRun != "" {
		// Nothing was restored or compared: say only why.
		fmt.Fprintf(w, "backup %s of %s: NOT RUN (the backup's verification state is unchanged)\n", v.BackupID, v.Database)
		fmt.Fprintf(w, "  %s\n", v.NotRun)
		return
	}
	verdict := "VERIFIED"
	if !v.Verified {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "backup %s of %s: %s\n", v.BackupID, v.Database, verdict)
	// Only what was done: a restore that failed restored and compared
	// nothing, and its problem line says why.
	if v.Restored {
		fmt.Fprintf(w, "  restored into %s on %s in %s\n", v.Scratch, v.Target, v.RestoreTime.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "  not restored (into %s on %s): see the problem below\n", v.Scratch, v.Target)
	}
	if v.Compared {
		fmt.Fprintf(w, "  compared %d tables, %d rows in %s\n", v.Tables, v.Rows, v.CompareTime.Round(time.Millisecond))
	}
	if v.Integrity != nil {
		switch {
		case v.Integrity.Skipped != "":
			fmt.Fprintf(w, "  integrity check skipped: %s\n", v.Integrity.Skipped)
		default:
			fmt.Fprintf(w, "  integrity check (%s) in %s: %d findings\n", v.Integrity.Tool, v.CheckTime.Round(time.Millisecond), len(v.Integrity.Findings))
		}
	}
	for _, p := range v.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if v.Kept {
		fmt.Fprintf(w, "  the scratch database %s was kept for inspection (keep_on_failure)\n", v.Scratch)
	}
	fmt.Fprintf(w, "  total %s\n", v.Total.Round(time.Millisecond))
}
