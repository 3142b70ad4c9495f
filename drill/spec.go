package drill

import (
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/i18n"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/restore"
)

// Scenarios.
const (
	// ScenarioFull restores the whole database onto a target on the source's
	// own server, under another name.
	ScenarioFull = "full"
	// ScenarioTable restores single tables.
	ScenarioTable = "table"
	// ScenarioRedirected restores the whole database onto another server,
	// under another name.
	ScenarioRedirected = "redirected"
)

// Languages of the HTML report (package i18n's).
const (
	LangZH = string(i18n.ZH)
	LangEN = string(i18n.EN)
)

// Spec is one drill.
type Spec struct {
	// ID names the drill and its report files; "" = the request's id, or a
	// new one. Letters, digits, '.', '_' and '-' only.
	ID string
	// Scenario is one of the Scenario constants; "" = ScenarioOf(Tables,
	// SourceServer, the target's server).
	Scenario string

	Database string // the source database (policy label)
	BackupID string // "" = the newest backup
	Engine   engines.Engine
	Repo     *repository.Repo
	// Catalog records the drill as a job (kind "drill") and holds the
	// scratch ledger. Optional, but without it nothing is recorded and the
	// restored copy is dropped only when the drill created it.
	Catalog *catalog.Catalog

	Target  restore.Target
	As      string             // the database to restore into on the target
	Tables  []engines.TableRef // empty = the whole database
	Replace bool               // signed: an existing database (or table) may be replaced
	// Keep keeps the restored copy on a scratch target. Copies on other
	// targets are always kept: dbopsd drops only scratch databases it made.
	Keep     bool
	Parallel int // parts loaded at once; 0 = 2

	// Request is the signed request the drill runs for (RequestFrom);
	// nil for a drill started otherwise (tests).
	Request *RequestInfo
	// SourceServer is the host:port of the source database, for the report.
	SourceServer string

	// StateDir is where the report is stored (drills/<id>.json and .html);
	// "" = not stored.
	StateDir string
	// Language of the stored HTML report: LangZH (default) or LangEN.
	Language string
	// Location is the time zone of the times in the HTML report (nil: Local).
	Location *time.Location

	Trigger string // "request" for a signed request
	OSUser  string
	Logger  hclog.Logger
	// Progress, when set, is told the bytes restored so far and the total.
	Progress func(done, total int64)
}

// RequestInfo is what a report says about the signed request behind a
// drill: who asked, who approved with which key, and what exactly was
// signed.
type RequestInfo struct {
	ID          string             `json:"id"`
	Action      string             `json:"action"`
	Parameters  request.Parameters `json:"parameters"`
	Reason      string             `json:"reason"`
	Requester   string             `json:"requester"`
	Approvers   []string           `json:"approvers"`
	Created     time.Time          `json:"created"`
	NotBefore   time.Time          `json:"not_before"`
	Expires     time.Time          `json:"expires"`
	Digest      string             `json:"digest"` // SHA-256 of the canonical bytes
	Signatures  []SignatureInfo    `json:"signatures"`
	RegisterRef int64              `json:"register_ref,omitempty"` // the register entry of its receipt
}

// SignatureInfo is one signature on the request.
type SignatureInfo struct {
	Signer      string `json:"signer"`
	Role        string `json:"role"` // "requester", "approver", or "not counted"
	KeyType     string `json:"key_type,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"` // SHA256:...
}

// Signature roles.
const (
	RoleRequester  = "requester"
	RoleApprover   = "approver"
	RoleNotCounted = "not counted"
)

// RequestFrom describes an accepted request for a report. The signatures'
// key fingerprints are taken from the signatures themselves, which the Gate
// has verified.
func RequestFrom(acc *request.Accepted) *RequestInfo {
	r := acc.Request
	info := &RequestInfo{ID: r.ID, Action: r.Action, Parameters: r.Parameters, Reason: r.Reason, Requester: acc.Requester,
		Approvers: append([]string{}, acc.Approvers...), Created: r.Created, NotBefore: r.NotBefore, Expires: r.Expires,
		Digest: acc.Digest, RegisterRef: acc.Ref, Signatures: []SignatureInfo{}}
	if info.Parameters.Tables == nil {
		info.Parameters.Tables = []string{}
	}
	counted := map[string]bool{}
	for i, s := range r.Signatures {
		si := SignatureInfo{Signer: s.Signer, Role: RoleNotCounted}
		switch {
		case i == 0 && s.Signer == acc.Requester:
			si.Role = RoleRequester
		case i > 0 && slices.Contains(acc.Approvers, s.Signer) && !counted[s.Signer]:
			si.Role = RoleApprover
			counted[s.Signer] = true
		}
		if pub, err := r.SignatureKey(i); err == nil {
			si.KeyType, si.Fingerprint = pub.Type(), ssh.FingerprintSHA256(pub)
		}
		info.Signatures = append(info.Signatures, si)
	}
	return info
}

// ScenarioOf names the scenario of a restore: single tables, or the whole
// database onto the source's server or onto another one.
func ScenarioOf(tables []engines.TableRef, sourceServer, targetServer string) string {
	switch {
	case len(tables) > 0:
		return ScenarioTable
	case sourceServer != "" && targetServer != "" && sourceServer != targetServer:
		return ScenarioRedirected
	}
	return ScenarioFull
}

// ReportLanguage is the language of drill reports under a policy: English
// when every report block asks for it, Chinese otherwise (the bureau's
// default).
func ReportLanguage(cfg *config.Config) string {
	if len(cfg.Reports) == 0 {
		return LangZH
	}
	for _, r := range cfg.Reports {
		if r.Language != LangEN {
			return LangZH
		}
	}
	return LangEN
}
