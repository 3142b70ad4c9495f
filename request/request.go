package request

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Version is the request format version this package writes and reads.
const Version = 1

// Namespace is the sshsig namespace of request signatures: a signature made
// with `ssh-keygen -Y sign -n dbopsd` over a request's canonical bytes.
const Namespace = "dbopsd"

// TimeLayout is how times appear in a request: UTC, whole seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// Actions.
const (
	ActionRestore     = "restore"
	ActionDrill       = "drill"
	ActionMaintenance = "maintenance"
)

// Actions lists the actions a request may ask for.
var Actions = []string{ActionRestore, ActionDrill, ActionMaintenance}

// Request is a request document as it is stored in a file.
type Request struct {
	Version    int         `json:"version"`
	ID         string      `json:"id"`
	Action     string      `json:"action"`
	Parameters Parameters  `json:"parameters"`
	Requester  string      `json:"requester"`
	Reason     string      `json:"reason"`
	Created    time.Time   `json:"-"`
	NotBefore  time.Time   `json:"-"`
	Expires    time.Time   `json:"-"`
	Nonce      string      `json:"nonce"`
	Signatures []Signature `json:"signatures"`
}

// Parameters say what the action does. Backup "" means the newest backup.
type Parameters struct {
	Database string   `json:"database"`
	Backup   string   `json:"backup"`
	Target   string   `json:"target"`
	As       string   `json:"as"`
	Tables   []string `json:"tables"`
	Replace  bool     `json:"replace"`
	// A maintenance request names one operation of the allowed list
	// (engines/maintmodel) on its one table, the index it works on, if
	// any, and the proposal it carries out. These fields came after
	// version 1's others: they are written, and signed, only when set, so
	// the canonical bytes of a restore or drill did not change.
	Operation string `json:"operation,omitempty"`
	Index     string `json:"index,omitempty"`
	Proposal  string `json:"proposal,omitempty"`
	// Comments are the changes of a maintenance request of operation
	// "comment" (written, and signed, only when set, like the above).
	Comments []Comment `json:"comments,omitempty"`
}

// Comment is one comment a maintenance request sets: on Table
// ("schema.table", or "table" in the engine's default schema) or, when
// Column is given, on that column. Comment "" removes it.
type Comment struct {
	Table   string `json:"table"`
	Column  string `json:"column,omitempty"`
	Comment string `json:"comment"`
}

// Signature is one signature over the request's canonical bytes: the
// requester's first, then the approvers'. Signer names the policy's signer
// block; verification matches the key inside the signature, and refuses a
// signature whose key belongs to another signer than the one named.
type Signature struct {
	Signer    string `json:"signer"`
	Signature string `json:"signature"` // armored sshsig
}

// fileForm is the request as written to a file: times as strings, fields in
// reading order.
type fileForm struct {
	Version    int         `json:"version"`
	ID         string      `json:"id"`
	Action     string      `json:"action"`
	Parameters Parameters  `json:"parameters"`
	Requester  string      `json:"requester"`
	Reason     string      `json:"reason"`
	Created    string      `json:"created"`
	NotBefore  string      `json:"not_before"`
	Expires    string      `json:"expires"`
	Nonce      string      `json:"nonce"`
	Signatures []Signature `json:"signatures"`
}

// canonicalForm is everything but the signatures, keys in lexical order at
// every level (Go writes struct fields in declaration order).
type canonicalForm struct {
	Action     string             `json:"action"`
	Created    string             `json:"created"`
	Expires    string             `json:"expires"`
	ID         string             `json:"id"`
	Nonce      string             `json:"nonce"`
	NotBefore  string             `json:"not_before"`
	Parameters canonicalParameter `json:"parameters"`
	Reason     string             `json:"reason"`
	Requester  string             `json:"requester"`
	Version    int                `json:"version"`
}

type canonicalParameter struct {
	As        string             `json:"as"`
	Backup    string             `json:"backup"`
	Comments  []canonicalComment `json:"comments,omitempty"`
	Database  string             `json:"database"`
	Index     string             `json:"index,omitempty"`
	Operation string             `json:"operation,omitempty"`
	Proposal  string             `json:"proposal,omitempty"`
	Replace   bool               `json:"replace"`
	Tables    []string           `json:"tables"`
	Target    string             `json:"target"`
}

// canonicalComment is a Comment with every field present, keys in lexical
// order.
type canonicalComment struct {
	Column  string `json:"column"`
	Comment string `json:"comment"`
	Table   string `json:"table"`
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Canonical returns the bytes every signature signs: the request without its
// signatures, as JSON with keys in lexical order at every level, no
// insignificant whitespace, every field present (empty strings, false and []
// included), times as TimeLayout, strings escaped as Go's encoding/json does
// with HTML escaping off. Parse accepts only what survives this encoding
// unchanged (valid UTF-8, no control characters but tab and newline in the
// reason), so the canonical bytes are a function of the request's meaning.
//
// `dbopsd request canonical req.json | ssh-keygen -Y sign -n dbopsd -f KEY`
// makes a signature this package accepts, and vice versa.
func (r *Request) Canonical() []byte {
	tables := r.Parameters.Tables
	if tables == nil {
		tables = []string{}
	}
	c := canonicalForm{
		Action: r.Action, Created: formatTime(r.Created), Expires: formatTime(r.Expires), ID: r.ID,
		Nonce: r.Nonce, NotBefore: formatTime(r.NotBefore), Reason: r.Reason, Requester: r.Requester, Version: r.Version,
		Parameters: canonicalParameter{
			As: r.Parameters.As, Backup: r.Parameters.Backup, Database: r.Parameters.Database,
			Replace: r.Parameters.Replace, Tables: tables, Target: r.Parameters.Target,
			Operation: r.Parameters.Operation, Index: r.Parameters.Index, Proposal: r.Parameters.Proposal,
		},
	}
	for _, cm := range r.Parameters.Comments {
		c.Parameters.Comments = append(c.Parameters.Comments, canonicalComment{Column: cm.Column, Comment: cm.Comment, Table: cm.Table})
	}
	return marshalCompact(c)
}

// Digest is the hex SHA-256 of the canonical bytes: the request's identity in
// the register, whatever signatures it carries.
func (r *Request) Digest() string {
	sum := sha256.Sum256(r.Canonical())
	return hex.EncodeToString(sum[:])
}

// Marshal returns the request as a file: indented JSON with a final newline.
func (r *Request) Marshal() []byte {
	f := fileForm{
		Version: r.Version, ID: r.ID, Action: r.Action, Parameters: r.Parameters, Requester: r.Requester,
		Reason: r.Reason, Created: formatTime(r.Created), NotBefore: formatTime(r.NotBefore),
		Expires: formatTime(r.Expires), Nonce: r.Nonce, Signatures: r.Signatures,
	}
	if f.Parameters.Tables == nil {
		f.Parameters.Tables = []string{}
	}
	if f.Signatures == nil {
		f.Signatures = []Signature{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		panic(fmt.Sprintf("request: encoding a request cannot fail: %v", err))
	}
	return b.Bytes()
}

func marshalCompact(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("request: encoding cannot fail: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Draft is what New needs to write a request.
type Draft struct {
	Action     string
	Parameters Parameters
	Requester  string // the requester's signer name; "" = filled in by the first signature
	Reason     string
	NotBefore  time.Time     // zero = now
	Lifetime   time.Duration // from NotBefore to expiry; 0 = DefaultLifetime
}

// DefaultLifetime is how long a request stays valid unless told otherwise:
// long enough to collect approvals, short enough that a forgotten request
// cannot be used next week.
const DefaultLifetime = 2 * time.Hour

// MaxLifetime bounds expires - not_before.
const MaxLifetime = 7 * 24 * time.Hour

// New makes an unsigned request with a fresh id and nonce, and checks it as
// Parse would.
func New(d Draft, now time.Time) (*Request, error) {
	now = now.UTC().Truncate(time.Second)
	nb := d.NotBefore.UTC().Truncate(time.Second)
	if d.NotBefore.IsZero() {
		nb = now
	}
	life := d.Lifetime
	if life == 0 {
		life = DefaultLifetime
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("making a nonce: %w", err)
	}
	r := &Request{
		Version: Version, ID: NewID(now), Action: d.Action, Parameters: d.Parameters, Requester: d.Requester,
		Reason: d.Reason, Created: now, NotBefore: nb, Expires: nb.Add(life), Nonce: hex.EncodeToString(nonce),
	}
	if r.Parameters.Tables == nil {
		r.Parameters.Tables = []string{}
	}
	if err := r.validate(d.Requester == ""); err != nil {
		return nil, err
	}
	return r, nil
}

// NewID returns a request id: the UTC creation time and randomness, e.g.
// "R20260301-101500-3f9a2c".
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "R" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
