package register

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FileName is the register's file inside the state directory.
const FileName = "register.jsonl"

// GenesisPrev is the Prev of the first entry.
var GenesisPrev = strings.Repeat("0", 64)

// Kind says what an entry records.
type Kind string

// Entry kinds.
const (
	Received Kind = "received" // a request arrived (whether or not it parses)
	Approved Kind = "approved" // one valid approval on an accepted request
	Refused  Kind = "refused"  // the request was refused; Refusal says why
	Accepted Kind = "accepted" // every check passed; the work is queued
	Started  Kind = "started"  // the work began
	Finished Kind = "finished" // the work ended; Outcome, Duration, Error
	Repaired Kind = "repaired" // an incomplete last line (an interrupted write) was removed
)

// Outcomes of a Finished entry.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Entry is one line of the register. Fields other than Seq, Time, Kind, Prev
// and Hash are set as they apply.
type Entry struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Ref is the Seq of the Received entry of the request this entry is
	// about (0 on a Received entry itself, and on Repaired).
	Ref        int64    `json:"ref,omitempty"`
	Request    string   `json:"request,omitempty"`        // request id
	Digest     string   `json:"request_sha256,omitempty"` // SHA-256 of the request's canonical bytes
	FileSHA256 string   `json:"file_sha256,omitempty"`    // SHA-256 of the file as received
	Size       int64    `json:"size,omitempty"`           // bytes received
	Source     string   `json:"source,omitempty"`         // who sent it (socket peer, address)
	Action     string   `json:"action,omitempty"`
	Database   string   `json:"database,omitempty"`
	Backup     string   `json:"backup,omitempty"` // requested; on Started/Finished the backup used
	Target     string   `json:"target,omitempty"`
	As         string   `json:"as,omitempty"`
	Tables     []string `json:"tables,omitempty"`
	Replace    bool     `json:"replace,omitempty"`
	Requester  string   `json:"requester,omitempty"`
	Signers    []string `json:"signers,omitempty"` // on Received: the signer names the signatures claim, unchecked
	Approvers  []string `json:"approvers,omitempty"`
	Signer     string   `json:"signer,omitempty"` // the approver of an Approved entry
	Reason     string   `json:"reason,omitempty"` // the request's reason
	Refusal    string   `json:"refusal,omitempty"`
	Outcome    string   `json:"outcome,omitempty"`
	DurationMS int64    `json:"duration_ms,omitempty"`
	Error      string   `json:"error,omitempty"`
	Note       string   `json:"note,omitempty"`
	Prev       string   `json:"prev"`
	Hash       string   `json:"hash,omitempty"`
}

// Duration is DurationMS as a time.Duration.
func (e *Entry) Duration() time.Duration { return time.Duration(e.DurationMS) * time.Millisecond }

// Canonical returns the bytes Hash is computed over: the entry's line
// without the hash field.
func (e Entry) Canonical() []byte {
	e.Hash = ""
	return encode(e)
}

// ComputeHash returns the hex SHA-256 of the canonical bytes.
func (e Entry) ComputeHash() string {
	sum := sha256.Sum256(e.Canonical())
	return hex.EncodeToString(sum[:])
}

// line is the entry as stored, without the newline.
func (e Entry) line() []byte { return encode(e) }

func encode(e Entry) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		panic(fmt.Sprintf("register: encoding an entry cannot fail: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// decode parses one line strictly: unknown fields are an error.
func decode(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, err
	}
	if dec.More() {
		return Entry{}, errors.New("data after the entry")
	}
	return e, nil
}

// Head is the last entry's position in the chain.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// ErrCorrupt is wrapped when Append finds the register's last entry damaged:
// the chain cannot be continued from it. Run Verify to see what happened.
var ErrCorrupt = errors.New("restore register is damaged")

// Register is an open register. Append is safe for concurrent use, also by
// several processes (it takes an exclusive flock on the file).
type Register struct {
	path string
	mu   sync.Mutex
	f    *os.File
	// Now is the clock entries are stamped with; tests set it.
	Now func() time.Time
}

// Open opens (creating if needed) the register in stateDir.
func Open(stateDir string) (*Register, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", stateDir, err)
	}
	return OpenFile(filepath.Join(stateDir, FileName))
}

// OpenFile opens (creating if needed) the register at path. A last line cut
// short by a crash is removed, and the removal recorded, before anything
// else is appended.
func OpenFile(path string) (*Register, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening restore register %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening restore register %s: %w", path, err)
	}
	if os.IsNotExist(statErr) {
		// Make the new file's directory entry durable too.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	r := &Register{path: path, f: f, Now: time.Now}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.lock(); err != nil {
		f.Close()
		return nil, err
	}
	defer r.unlock()
	if _, err := r.repairLocked(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Path is the register's file.
func (r *Register) Path() string { return r.path }

// Close closes the register.
func (r *Register) Close() error { return r.f.Close() }

func (r *Register) lock() error {
	if err := syscall.Flock(int(r.f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking restore register %s: %w", r.path, err)
	}
	return nil
}

func (r *Register) unlock() { _ = syscall.Flock(int(r.f.Fd()), syscall.LOCK_UN) }

// Append adds e to the register: it sets Seq, Prev and Hash (and Time, when
// zero), writes the line and fsyncs it, and returns the entry as written.
func (r *Register) Append(e Entry) (Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.lock(); err != nil {
		return Entry{}, err
	}
	defer r.unlock()
	if _, err := r.repairLocked(); err != nil {
		return Entry{}, err
	}
	return r.appendLocked(e)
}

func (r *Register) appendLocked(e Entry) (Entry, error) {
	head, err := r.headLocked()
	if err != nil {
		return Entry{}, err
	}
	if e.Time.IsZero() {
		e.Time = r.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	e.Seq, e.Prev = head.Seq+1, head.Hash
	e.Hash = e.ComputeHash()
	if _, err := r.f.Write(append(e.line(), '\n')); err != nil {
		return Entry{}, fmt.Errorf("appending to restore register %s: %w", r.path, err)
	}
	if err := r.f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("syncing restore register %s: %w", r.path, err)
	}
	return e, nil
}

// Head returns the last entry's sequence number and hash ({0, GenesisPrev}
// for an empty register).
func (r *Register) Head() (Head, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.lock(); err != nil {
		return Head{}, err
	}
	defer r.unlock()
	return r.headLocked()
}

// headLocked reads the last line and checks that it is intact, so that the
// chain is never continued from a damaged entry.
func (r *Register) headLocked() (Head, error) {
	last, _, err := lastLine(r.f)
	if err != nil {
		return Head{}, fmt.Errorf("reading restore register %s: %w", r.path, err)
	}
	if last == nil {
		return Head{Seq: 0, Hash: GenesisPrev}, nil
	}
	e, err := decode(last)
	if err != nil {
		return Head{}, fmt.Errorf("%w: the last line of %s is not an entry (%v); run `dbopsd register verify`", ErrCorrupt, r.path, err)
	}
	if !bytes.Equal(e.line(), last) || e.ComputeHash() != e.Hash {
		return Head{}, fmt.Errorf("%w: the last entry of %s (seq %d) does not match its hash; run `dbopsd register verify`", ErrCorrupt, r.path, e.Seq)
	}
	return Head{Seq: e.Seq, Hash: e.Hash}, nil
}

// repairLocked removes an incomplete last line (one without its newline: a
// write cut short by a crash, never acknowledged to the caller) and records
// the removal. It returns the number of bytes removed.
func (r *Register) repairLocked() (int64, error) {
	_, partial, err := lastLine(r.f)
	if err != nil {
		return 0, fmt.Errorf("reading restore register %s: %w", r.path, err)
	}
	if len(partial) == 0 {
		return 0, nil
	}
	fi, err := r.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading restore register %s: %w", r.path, err)
	}
	n := int64(len(partial))
	if err := r.f.Truncate(fi.Size() - n); err != nil {
		return 0, fmt.Errorf("removing an incomplete last line from restore register %s: %w", r.path, err)
	}
	sum := sha256.Sum256(partial)
	_, err = r.appendLocked(Entry{Kind: Repaired, Size: n, FileSHA256: hex.EncodeToString(sum[:]),
		Note: "removed an incomplete last line (a write interrupted by a crash or a full disk)"})
	return n, err
}

// lastLine returns the last complete line of f (without its newline; nil if
// there is none) and any bytes after it that lack a newline.
func lastLine(f *os.File) (last, partial []byte, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	var buf []byte
	for chunk := int64(4096); ; chunk *= 2 {
		off := max(size-chunk, 0)
		buf = make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, nil, err
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end >= 0 {
			partial = buf[end+1:]
			if start := bytes.LastIndexByte(buf[:end], '\n'); start >= 0 || off == 0 {
				return buf[start+1 : end], partial, nil
			}
		} else if off == 0 {
			return nil, buf, nil
		}
	}
}

// ReadFile reads every entry of the register at path, leniently: use Verify
// to check it. Lines that are not entries are skipped.
func ReadFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading restore register: %w", err)
	}
	defer f.Close()
	var out []Entry
	err = scanLines(f, func(_ int, line []byte, _ bool) error {
		if e, err := decode(line); err == nil {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading restore register %s: %w", path, err)
	}
	return out, nil
}

// scanLines calls fn for every line of rd (numbered from 1, without its
// newline; complete is false for a last line without one). The slice is
// fn's to keep.
func scanLines(rd io.Reader, fn func(n int, line []byte, complete bool) error) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			if ferr := fn(n, bytes.TrimSuffix(line, []byte("\n")), complete); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
