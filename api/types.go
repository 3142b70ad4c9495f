package api

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/dbopsd/dbopsd/schedule"
)

// Status is the answer to GET /v1/status.
type Status struct {
	Daemon    DaemonInfo          `json:"daemon"`
	Databases []DatabaseStatus    `json:"databases"`
	Site      []EntryStatus       `json:"site,omitempty"` // prune, mirror, check; a named block's as "KIND of NAME"
	Running   []schedule.TaskInfo `json:"running"`
	Queued    []schedule.TaskInfo `json:"queued"`
}

// DaemonInfo describes the running agent.
type DaemonInfo struct {
	Version      string    `json:"version"`
	PID          int       `json:"pid"`
	Started      time.Time `json:"started"`
	Now          time.Time `json:"now"`
	Config       string    `json:"config"`
	ConfigLoaded time.Time `json:"config_loaded"`
	// ReloadError is the error of the last reload that was refused ("" when
	// the last reload was accepted).
	ReloadError string `json:"reload_error,omitempty"`
	MaxParallel int    `json:"max_parallel"`
	PerServer   int    `json:"max_per_server"`
	Timezone    string `json:"timezone"`
	Draining    bool   `json:"draining,omitempty"`
	// RequestListener is the HTTPS listener for signed requests; nil
	// without daemon.request_listen.
	RequestListener *RequestListenerInfo `json:"request_listener,omitempty"`
}

// RequestListenerInfo describes the HTTPS listener for signed requests
// and the certificate it serves now.
type RequestListenerInfo struct {
	Address      string    `json:"address"` // host:port it listens on
	CertSubject  string    `json:"cert_subject,omitempty"`
	CertNotAfter time.Time `json:"cert_not_after"` // when the certificate expires
}

// CertRenewWithin is how close to its expiry the request listener's
// certificate is said to expire soon: the agent warns in its log at start
// and on each reload, and dbopsd status flags it.
const CertRenewWithin = 14 * 24 * time.Hour

// DatabaseStatus is one database's state.
type DatabaseStatus struct {
	Name     string `json:"name"`
	Engine   string `json:"engine"`
	Policy   string `json:"policy"`
	Critical bool   `json:"critical,omitempty"`
	// LastFull, LastDifferential and LastVerify are the newest attempts,
	// whatever their outcome; LastSuccess the newest successful backup.
	LastFull         *JobSummary `json:"last_full,omitempty"`
	LastDifferential *JobSummary `json:"last_differential,omitempty"`
	LastVerify       *JobSummary `json:"last_verify,omitempty"`
	LastSuccess      *JobSummary `json:"last_success,omitempty"`
	// Entries are its scheduled kinds with their next run.
	Entries []EntryStatus       `json:"entries"`
	Running []schedule.TaskInfo `json:"running,omitempty"`
	Queued  []schedule.TaskInfo `json:"queued,omitempty"`
}

// JobSummary is one job from the catalog.
type JobSummary struct {
	JobID    int64     `json:"job_id,omitempty"`
	BackupID string    `json:"backup_id,omitempty"`
	Type     string    `json:"type,omitempty"` // the backup's type (a differential may have become a full)
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Status   string    `json:"status"`
	Trigger  string    `json:"trigger,omitempty"`
	// Attempt is the job's attempt, as in dbopsd log: 1, or n for the
	// n-th try of a job the daemon retried. Every job has one; only
	// LastSuccess, a backup rather than a job, has none.
	Attempt int    `json:"attempt,omitempty"`
	Error   string `json:"error,omitempty"`
}

// EntryStatus is one scheduled kind of job.
type EntryStatus struct {
	Kind     string    `json:"kind"`
	Schedule string    `json:"schedule"`
	Window   string    `json:"window,omitempty"`
	Next     time.Time `json:"next,omitzero"`
	Due      bool      `json:"due,omitempty"`
	Why      string    `json:"why,omitempty"`
}

// RunRequest is the body of POST /v1/run.
type RunRequest struct {
	Database string `json:"database"`         // the database; for reconcile, the reconcile block
	Type     string `json:"type"`             // full, differential, verify, reconcile
	Backup   string `json:"backup,omitempty"` // verify: which backup ("" = newest)
}

// Request states, as GET /v1/requests/{id} reports them.
const (
	RequestReceived = "received" // arrived; the checks have not ended (or the daemon stopped during them)
	RequestRefused  = "refused"  // a check failed; nothing runs
	RequestQueued   = "queued"   // accepted, waiting in the queue
	RequestRunning  = "running"
	RequestDone     = "done"   // ran and succeeded
	RequestFailed   = "failed" // ran (or was dropped) and failed
)

// RequestAccepted is the answer to POST /v1/requests when the daemon
// accepted the request and queued its work.
type RequestAccepted struct {
	ID    string            `json:"id"`
	State string            `json:"state"` // queued or running
	Task  schedule.TaskInfo `json:"task"`
	// RegisterSeq is the register entry recording the receipt.
	RegisterSeq int64 `json:"register_seq"`
}

// RequestStatus is the answer to GET /v1/requests/{id}: the request as the
// restore register records it, with the queue's view of its job.
type RequestStatus struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Action    string    `json:"action"`
	Database  string    `json:"database"`
	Backup    string    `json:"backup,omitempty"` // the backup used once started, else the one requested ("" = newest)
	Target    string    `json:"target"`
	As        string    `json:"as"`
	Tables    []string  `json:"tables,omitempty"`
	Requester string    `json:"requester"`
	Approvers []string  `json:"approvers,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Received  time.Time `json:"received"`
	Refusal   string    `json:"refusal,omitempty"`
	Outcome   string    `json:"outcome,omitempty"` // succeeded or failed, once finished
	Error     string    `json:"error,omitempty"`
	Duration  float64   `json:"duration_seconds,omitempty"`
	// Task is the job in the daemon's queue, with its progress, while the
	// daemon still knows it.
	Task *schedule.TaskInfo `json:"task,omitempty"`
	// Submissions counts how often a request with this id was received;
	// the state is that of the accepted one, if any.
	Submissions int `json:"submissions"`
	// Report is the drill report's id (dbopsd drill report ID), once a
	// drill ran.
	Report string `json:"report,omitempty"`
}

// Finished reports whether the state is final.
func (s *RequestStatus) Finished() bool {
	switch s.State {
	case RequestRefused, RequestDone, RequestFailed:
		return true
	}
	return false
}

// Caller is who is on the other end: over the socket, the OS user from
// its peer credentials; over HTTPS, only the client's address (Remote),
// with UID -1 and User "https:" and the address's host, since the request's
// signatures, not the connection, say who asks.
type Caller struct {
	UID    int    `json:"uid"`
	User   string `json:"user"`
	Remote string `json:"remote,omitempty"` // host:port of an HTTPS client
}

// Source is how the restore register records where a request came from.
func (c Caller) Source() string {
	if c.Remote != "" {
		return "https from " + c.Remote
	}
	return fmt.Sprintf("unix socket uid=%d user=%s", c.UID, c.User)
}

// limitKey is whose share of request submissions a call spends: the OS
// user over the socket; over HTTPS the client's IPv4 address, or its IPv6
// /64 (one host usually holds a whole /64).
func (c Caller) limitKey() string {
	if c.Remote == "" {
		return "uid:" + strconv.Itoa(c.UID)
	}
	host, _, err := net.SplitHostPort(c.Remote)
	if err != nil {
		host = c.Remote
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "host:" + host
	case ip.To4() != nil:
		return "ip:" + ip.String()
	}
	return "ip:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// errorBody is the body of an error answer.
type errorBody struct {
	Error string `json:"error"`
	// A refused signed request: the reason, and the register entry that
	// records it.
	Refusal     string `json:"refusal,omitempty"`
	RegisterSeq int64  `json:"register_seq,omitempty"`
}
