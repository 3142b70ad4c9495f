package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// MaxSize bounds a request file. A request with sixteen RSA-4096 signatures
// fits in a quarter of it.
const MaxSize = 64 << 10

// maxSignatures bounds the signatures on one request.
const maxSignatures = 16

var (
	// ErrMalformed is wrapped by every error that says a request file is not
	// a well-formed request: bad JSON, unknown or duplicate fields, wrong
	// types, trailing data, values out of range.
	ErrMalformed = errors.New("malformed request")
	// ErrTooLarge is wrapped when a request file is larger than MaxSize.
	ErrTooLarge = errors.New("request file too large")
)

// Read reads a request from r, refusing more than MaxSize bytes, and returns
// the raw bytes as well (the register records their hash whether or not they
// parse).
func Read(r io.Reader) (*Request, []byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, data, fmt.Errorf("reading the request: %w", err)
	}
	req, err := Parse(data)
	return req, data, err
}

// Parse decodes a request strictly: one JSON object of the documented shape,
// valid UTF-8, every key exactly as documented and at most once, no nulls,
// nothing after it; then checks every value's syntax. It does not check
// signatures or the policy.
func Parse(data []byte) (*Request, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrMalformed)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, requestSchema, ""); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the request object at byte %d", ErrMalformed, dec.InputOffset())
	}
	var f fileForm
	if err := json.Unmarshal(data, &f); err != nil {
		// walk accepted the shape, so this is a value out of range.
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r := &Request{
		Version: f.Version, ID: f.ID, Action: f.Action, Parameters: f.Parameters, Requester: f.Requester,
		Reason: f.Reason, Nonce: f.Nonce, Signatures: f.Signatures,
	}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"created", f.Created, &r.Created}, {"not_before", f.NotBefore, &r.NotBefore}, {"expires", f.Expires, &r.Expires}} {
		tm, err := time.Parse(TimeLayout, t.s)
		if err != nil || tm.Format(TimeLayout) != t.s {
			return nil, fmt.Errorf("%w: %s %q: want a UTC time to the second like 2026-03-01T10:15:00Z", ErrMalformed, t.name, t.s)
		}
		*t.dst = tm
	}
	if r.Parameters.Tables == nil {
		r.Parameters.Tables = []string{}
	}
	// An unsigned request may leave the requester to its first signature.
	if err := r.validate(len(r.Signatures) == 0); err != nil {
		return nil, err
	}
	return r, nil
}

// node is the expected shape of one JSON value.
type node struct {
	kind     string // "object", "array", "string", "bool", "int"
	fields   map[string]*node
	required []string
	elem     *node
	max      int // string bytes, array elements
}

var requestSchema = &node{kind: "object",
	required: []string{"version", "id", "action", "parameters", "requester", "created", "not_before", "expires", "nonce"},
	fields: map[string]*node{
		"version": {kind: "int"},
		"id":      {kind: "string", max: 64},
		"action":  {kind: "string", max: 32},
		"parameters": {kind: "object", required: []string{"database"}, fields: map[string]*node{
			"database": {kind: "string", max: 128},
			"backup":   {kind: "string", max: 128},
			"target":   {kind: "string", max: 128},
			"as":       {kind: "string", max: 63},
			"tables":   {kind: "array", max: 256, elem: &node{kind: "string", max: 256}},
			"replace":  {kind: "bool"},
			// maintenance
			"operation": {kind: "string", max: 32},
			"index":     {kind: "string", max: 128},
			"proposal":  {kind: "string", max: 64},
			// maintenance: operation "comment"; MaxSize bounds the whole
			"comments": {kind: "array", max: maintmodel.MaxComments, elem: &node{kind: "object",
				required: []string{"table", "comment"},
				fields: map[string]*node{
					"table":   {kind: "string", max: 256},
					"column":  {kind: "string", max: 128},
					"comment": {kind: "string", max: 4096},
				}}},
		}},
		"requester":  {kind: "string", max: 64},
		"reason":     {kind: "string", max: 2000},
		"created":    {kind: "string", max: 32},
		"not_before": {kind: "string", max: 32},
		"expires":    {kind: "string", max: 32},
		"nonce":      {kind: "string", max: 128},
		"signatures": {kind: "array", max: maxSignatures, elem: &node{kind: "object",
			required: []string{"signer", "signature"},
			fields: map[string]*node{
				"signer":    {kind: "string", max: 64},
				"signature": {kind: "string", max: 16 << 10},
			}}},
	}}

func malformed(dec *json.Decoder, path, format string, a ...any) error {
	where := "top level"
	if path != "" {
		where = path
	}
	return fmt.Errorf("%w: %s: %s (at byte %d)", ErrMalformed, where, fmt.Sprintf(format, a...), dec.InputOffset())
}

func tokenError(dec *json.Decoder, path string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: the file ends inside the request (at byte %d)", ErrMalformed, dec.InputOffset())
	}
	return malformed(dec, path, "not valid JSON: %v", err)
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// walk reads one value from dec and checks it against n.
func walk(dec *json.Decoder, n *node, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return tokenError(dec, path, err)
	}
	want := map[string]string{"object": "an object", "array": "an array", "string": "a string", "bool": "a boolean", "int": "an integer"}[n.kind]
	switch n.kind {
	case "object":
		if tok != json.Delim('{') {
			return malformed(dec, path, "want %s, got %s", want, describe(tok))
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return tokenError(dec, path, err)
			}
			key, ok := kt.(string)
			if !ok {
				return malformed(dec, path, "want a key, got %s", describe(kt))
			}
			sub := join(path, key)
			child, known := n.fields[key]
			if !known {
				return malformed(dec, sub, "unknown field (known: %s)", strings.Join(sortedKeys(n.fields), ", "))
			}
			if seen[key] {
				return malformed(dec, sub, "duplicate field")
			}
			seen[key] = true
			if err := walk(dec, child, sub); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return tokenError(dec, path, err)
		}
		for _, r := range n.required {
			if !seen[r] {
				return malformed(dec, join(path, r), "missing")
			}
		}
	case "array":
		if tok != json.Delim('[') {
			return malformed(dec, path, "want %s, got %s", want, describe(tok))
		}
		i := 0
		for ; dec.More(); i++ {
			if i == n.max {
				return malformed(dec, path, "more than %d elements", n.max)
			}
			if err := walk(dec, n.elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return tokenError(dec, path, err)
		}
	case "string":
		s, ok := tok.(string)
		if !ok {
			return malformed(dec, path, "want %s, got %s", want, describe(tok))
		}
		if len(s) > n.max {
			return malformed(dec, path, "longer than %d bytes", n.max)
		}
	case "bool":
		if _, ok := tok.(bool); !ok {
			return malformed(dec, path, "want %s, got %s", want, describe(tok))
		}
	case "int":
		num, ok := tok.(json.Number)
		if !ok {
			return malformed(dec, path, "want %s, got %s", want, describe(tok))
		}
		if _, err := num.Int64(); err != nil || len(num) > 9 {
			return malformed(dec, path, "want a small integer, got %s", num)
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	noncePattern  = regexp.MustCompile(`^(?:[0-9a-f]{2}){16,64}$`)
	asPattern     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)
	backupPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// printable reports whether s is non-empty text with no control characters
// other than those in allowed.
func printable(s, allowed string) bool {
	for _, r := range s {
		if unicode.IsControl(r) && !strings.ContainsRune(allowed, r) {
			return false
		}
		if r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// validate checks the syntax of every value; the policy is checked later.
func (r *Request) validate(unsigned bool) error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, a...))
	}
	name := func(field, s string, optional bool) error {
		if s == "" && optional {
			return nil
		}
		if s == "" || !printable(s, "") || strings.TrimSpace(s) != s {
			return bad(field, "%q is not a name (non-empty text without control characters or surrounding spaces)", s)
		}
		return nil
	}
	if r.Version != Version {
		return bad("version", "%d is not supported (this dbopsd reads version %d)", r.Version, Version)
	}
	if !idPattern.MatchString(r.ID) {
		return bad("id", "%q: want letters, digits, '.', '_' or '-', at most 64", r.ID)
	}
	if !slices.Contains(Actions, r.Action) {
		return bad("action", "%q is not one of %s", r.Action, strings.Join(Actions, ", "))
	}
	if !noncePattern.MatchString(r.Nonce) {
		return bad("nonce", "want 32 to 128 lowercase hex digits (16 to 64 random bytes)")
	}
	if err := name("requester", r.Requester, unsigned); err != nil {
		return err
	}
	if !printable(r.Reason, "\n\t") {
		return bad("reason", "contains control characters")
	}
	if !r.NotBefore.Before(r.Expires) {
		return bad("expires", "%s is not after not_before %s", formatTime(r.Expires), formatTime(r.NotBefore))
	}
	if r.Expires.Sub(r.NotBefore) > MaxLifetime {
		return bad("expires", "the request would be valid for %s; at most %s is allowed", r.Expires.Sub(r.NotBefore), MaxLifetime)
	}
	if r.Created.After(r.Expires) {
		return bad("created", "%s is after expires %s", formatTime(r.Created), formatTime(r.Expires))
	}
	p := r.Parameters
	if err := name("parameters.database", p.Database, false); err != nil {
		return err
	}
	if r.Action == ActionMaintenance {
		if p.Target != "" || p.As != "" || p.Backup != "" || p.Replace {
			return bad("parameters", "a maintenance request names a database and tables only; target, as, backup and replace do not apply")
		}
		if err := validMaintenance(p); err != nil {
			return bad("parameters", "%v", err)
		}
	} else {
		if p.Operation != "" || p.Index != "" || p.Proposal != "" || len(p.Comments) > 0 {
			return bad("parameters", "operation, index, proposal and comments apply to maintenance requests only")
		}
		if err := name("parameters.target", p.Target, false); err != nil {
			return err
		}
		if !asPattern.MatchString(p.As) {
			return bad("parameters.as", "%q: want the name of the database to create: a letter or '_', then letters, digits, '_' or '-', at most 63", p.As)
		}
		if p.Backup != "" && !backupPattern.MatchString(p.Backup) {
			return bad("parameters.backup", "%q is not a backup id", p.Backup)
		}
	}
	seen := map[string]bool{}
	for i, t := range p.Tables {
		field := fmt.Sprintf("parameters.tables[%d]", i)
		if !printable(t, "") {
			return bad(field, "contains control characters")
		}
		if _, err := engines.ParseTableRef(t); err != nil {
			return bad(field, "%v", err)
		}
		if seen[t] {
			return bad(field, "%q is listed twice", t)
		}
		seen[t] = true
	}
	for i, s := range r.Signatures {
		if err := name(fmt.Sprintf("signatures[%d].signer", i), s.Signer, false); err != nil {
			return err
		}
		if !strings.Contains(s.Signature, "BEGIN SSH SIGNATURE") {
			return bad(fmt.Sprintf("signatures[%d].signature", i), "not an armored SSH signature")
		}
	}
	return nil
}
