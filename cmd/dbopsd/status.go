package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbopsd/dbopsd/api"
	"github.com/dbopsd/dbopsd/internal/humanize"
	"github.com/dbopsd/dbopsd/schedule"
)

type statusOpts struct {
	globals
	socket string
}

// addSocket adds --socket; without it the socket comes from the policy.
func addSocket(fs *flag.FlagSet, s *string) {
	fs.StringVar(s, "socket", "", "the daemon's socket (default: daemon.socket of the policy)")
}

// daemonClient connects to the agent's socket.
func daemonClient(g *globals, socket string) (*api.Client, error) {
	if socket == "" {
		cfg, err := loadConfig(g)
		if err != nil {
			return nil, err
		}
		socket = cfg.Daemon.Socket
	}
	return api.NewClient(socket), nil
}

func statusCmd() command {
	var o statusOpts
	return command{
		name: "status",
		summary: "Ask the running agent for its state: per database the last full, differential and\n" +
			"verification with their outcome and the next scheduled runs; running jobs with their\n" +
			"progress; the queue and what each waiting job waits for.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, true, sio)
			addSocket(fs, &o.socket)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runStatus(ctx, o)
			}
		},
	}
}

func runStatus(ctx context.Context, o statusOpts) error {
	c, err := daemonClient(&o.globals, o.socket)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return printJSON(o.stdout, st)
	}
	printStatus(o.stdout, st)
	return nil
}

func printStatus(w io.Writer, st *api.Status) {
	d := st.Daemon
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.Local
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	state := "running"
	if d.Draining {
		state = "stopping (draining)"
	}
	fmt.Fprintf(w, "dbopsd agent %s, pid %d, %s since %s (up %s)\n", d.Version, d.PID, state, at(d.Started), d.Now.Sub(d.Started).Round(time.Second))
	fmt.Fprintf(w, "policy %s, loaded %s; max_parallel %d, max_per_server %d, timezone %s\n", d.Config, at(d.ConfigLoaded), d.MaxParallel, d.PerServer, d.Timezone)
	if d.ReloadError != "" {
		fmt.Fprintf(w, "LAST RELOAD REFUSED (the previous policy is in force): %s\n", d.ReloadError)
	}
	if rl := d.RequestListener; rl != nil {
		fmt.Fprintf(w, "signed requests over HTTPS on %s; %s\n", rl.Address, certExpiry(rl.CertNotAfter, d.Now, at))
	}
	fmt.Fprintln(w)
	// As in dbopsd log, the attempt is news only when the job was retried.
	job := func(s *api.JobSummary) string {
		if s == nil {
			return "-"
		}
		var notes []string
		if s.Type != "" && s.Status == "ok" {
			notes = append(notes, s.Type)
		}
		if s.Attempt > 1 {
			notes = append(notes, "attempt "+strconv.Itoa(s.Attempt))
		}
		out := at(s.Started) + " " + s.Status
		if len(notes) > 0 {
			out += " (" + strings.Join(notes, ", ") + ")"
		}
		return out
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tPOLICY\tLAST FULL\tLAST DIFFERENTIAL\tLAST VERIFY\tNEXT")
	for _, db := range st.Databases {
		name := db.Name
		if db.Critical {
			name += " *"
		}
		var next []string
		for _, e := range db.Entries {
			switch {
			case e.Due:
				next = append(next, e.Kind+" due now")
			case !e.Next.IsZero():
				next = append(next, e.Kind+" "+at(e.Next))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, db.Policy, job(db.LastFull), job(db.LastDifferential), job(db.LastVerify), strings.Join(next, ", "))
	}
	tw.Flush()
	fmt.Fprintln(w, "(* critical)")
	for _, db := range st.Databases {
		for _, s := range []*api.JobSummary{db.LastFull, db.LastDifferential, db.LastVerify} {
			if s != nil && s.Status == "failed" {
				attempt := ""
				if s.Attempt > 1 {
					attempt = fmt.Sprintf(" (attempt %d)", s.Attempt)
				}
				fmt.Fprintf(w, "%s: job %d%s failed: %s\n", db.Name, s.JobID, attempt, oneLine(s.Error))
			}
		}
	}
	fmt.Fprintf(w, "\nRUNNING (%d)\n", len(st.Running))
	for _, t := range st.Running {
		fmt.Fprintf(w, "  #%d %s (%s, attempt %d) since %s: ", t.ID, describeTask(t), t.Trigger, t.Attempt, at(t.Started))
		if t.Step != "" { // a job measured in steps (maintenance), not bytes
			fmt.Fprintln(w, t.Step)
			continue
		}
		fmt.Fprint(w, humanize.Bytes(t.Bytes))
		if t.StoredBytes > 0 {
			fmt.Fprintf(w, " read, %s stored", humanize.Bytes(t.StoredBytes))
		}
		if t.TotalBytes > 0 {
			fmt.Fprintf(w, " of %s", humanize.Bytes(t.TotalBytes))
		}
		if t.Rate > 0 {
			fmt.Fprintf(w, ", %s/s", humanize.Bytes(int64(t.Rate)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "QUEUED (%d)\n", len(st.Queued))
	for _, t := range st.Queued {
		fmt.Fprintf(w, "  #%d %s (%s", t.ID, describeTask(t), t.Trigger)
		if t.OSUser != "" {
			fmt.Fprintf(w, " by %s", t.OSUser)
		}
		fmt.Fprintf(w, "), waiting for %s\n", orDash(t.Waiting))
	}
	if len(st.Site) > 0 {
		fmt.Fprintln(w, "\nSITE")
		for _, e := range st.Site {
			fmt.Fprintf(w, "  %s: %s, next %s\n", e.Kind, e.Schedule, at(e.Next))
		}
	}
}

// certExpiry says when the request listener's certificate expires, loud
// when that is within api.CertRenewWithin of now (the daemon's warning) or
// past.
func certExpiry(notAfter, now time.Time, at func(time.Time) string) string {
	const renew = "renew it: replace tls_cert and tls_key, then SIGHUP"
	switch left := notAfter.Sub(now); {
	case notAfter.IsZero():
		return "certificate expiry unknown"
	case left <= 0:
		return fmt.Sprintf("CERTIFICATE EXPIRED %s, clients refuse it: %s", at(notAfter), renew)
	case left < api.CertRenewWithin:
		return fmt.Sprintf("certificate valid until %s: EXPIRES IN %s, %s", at(notAfter), roughly(left), renew)
	}
	return "certificate valid until " + at(notAfter)
}

// roughly is d in whole days, or hours under two days.
func roughly(d time.Duration) string {
	if h := int(d.Hours()); h < 48 {
		return fmt.Sprintf("%d HOURS", max(h, 1))
	}
	return fmt.Sprintf("%d DAYS", int(d.Hours()/24))
}

func describeTask(t schedule.TaskInfo) string {
	if t.Database == "" {
		return t.Kind
	}
	return t.Kind + " of " + t.Database
}
