package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/atomicfile"
	"github.com/dbopsd/dbopsd/repository"
)

// ReportVersion is the report format this package writes.
const ReportVersion = 1

// Verdicts.
const (
	Pass = "pass"
	Fail = "fail"
)

// Check statuses: Pass and Fail, and these.
const (
	Warn = "warn" // worth reading, does not fail the drill
	Skip = "skip" // did not run
)

// Check names, in the order they run.
const (
	CheckBackup     = "backup"     // the backup (and its chain) is found and readable
	CheckRestore    = "restore"    // restore.Restore succeeded
	CheckStatistics = "statistics" // rows and checksums equal those recorded at backup time
	CheckIntegrity  = "integrity"  // the engine's own checks found nothing
	CheckCleanup    = "cleanup"    // the scratch copy was dropped (or kept, and why)
)

// Report is the outcome of one drill: what was asked and by whom, which
// backup was restored where, how long each step took and what each check
// found. It is stored as JSON (the source of truth) and rendered as HTML.
type Report struct {
	Version  int    `json:"version"`
	ID       string `json:"id"`
	Scenario string `json:"scenario"`
	Verdict  string `json:"verdict"`
	// Problems are why the verdict is Fail, one line each ("check: detail",
	// in English).
	Problems []string `json:"problems,omitempty"`
	// Warnings are in English; WarningMessages are the same warnings as
	// Messages, which the page renders in its language.
	Warnings        []string  `json:"warnings,omitempty"`
	WarningMessages []Message `json:"warning_messages,omitempty"`

	Request      *RequestInfo `json:"request,omitempty"`
	Database     string       `json:"database"`
	Engine       string       `json:"engine"`
	SourceServer string       `json:"source_server,omitempty"`
	// Backup is the backup restored; Chain is what it belongs to, full
	// first (a full alone, or the full and the differential).
	Backup *BackupInfo  `json:"backup,omitempty"`
	Chain  []BackupInfo `json:"chain,omitempty"`
	Target TargetInfo   `json:"target"`

	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Timings    Timings   `json:"timings"`
	BytesRead  int64     `json:"bytes_read"`

	Checks    []Check                  `json:"checks"`
	Tables    []TableResult            `json:"tables,omitempty"`
	Integrity *engines.IntegrityReport `json:"integrity,omitempty"`
	Restore   *engines.RestoreReport   `json:"restore,omitempty"`

	Host    string `json:"host,omitempty"`
	Trigger string `json:"trigger,omitempty"`
	OSUser  string `json:"os_user,omitempty"`
	JobID   int64  `json:"job_id,omitempty"`
}

// BackupID is the id of the backup the drill restored ("" when none was
// found).
func (r *Report) BackupID() string {
	if r == nil || r.Backup == nil {
		return ""
	}
	return r.Backup.ID
}

// Took is how long the drill ran (0 without a report).
func (r *Report) Took() time.Duration {
	if r == nil {
		return 0
	}
	return r.Timings.Total
}

// Passed reports whether the verdict is Pass.
func (r *Report) Passed() bool { return r != nil && r.Verdict == Pass }

// BackupInfo describes one backup of the chain.
type BackupInfo struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Generation    string    `json:"generation"`
	Base          string    `json:"base,omitempty"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	ServerVersion string    `json:"server_version,omitempty"`
	Position      string    `json:"position,omitempty"`
	Tables        int       `json:"tables"`
	Rows          int64     `json:"rows"`
	RawBytes      int64     `json:"raw_bytes"`
	StoredBytes   int64     `json:"stored_bytes"`
	// Error is set when the manifest could not be read (a chain member that
	// the restore does not need, e.g. a differential's full).
	Error string `json:"error,omitempty"`
}

func backupInfo(m *repository.Manifest) BackupInfo {
	b := BackupInfo{ID: m.ID, Type: m.Type, Generation: m.Generation, Base: m.Base, StartedAt: m.StartedAt,
		FinishedAt: m.FinishedAt, RawBytes: m.Stats.RawBytes, StoredBytes: m.Stats.StoredBytes}
	if s := m.Snapshot; s != nil {
		b.ServerVersion, b.Position, b.Tables = s.ServerVersion, s.Position, len(s.Tables)
		for _, t := range s.Tables {
			b.Rows += t.Rows
		}
	}
	return b
}

// TargetInfo is where the drill restored to, and what became of the copy.
type TargetInfo struct {
	Name     string   `json:"name"`
	Server   string   `json:"server,omitempty"`
	Scratch  bool     `json:"scratch"`
	Database string   `json:"database"` // the name restored as
	Tables   []string `json:"tables,omitempty"`
	Replace  bool     `json:"replace,omitempty"`
	// Disposition is what became of the restored copy: Dropped, Kept or
	// Left (not dbopsd's to drop), with the reason in DispositionNote (in
	// English) and DispositionMessage.
	Disposition        string   `json:"disposition"`
	DispositionNote    string   `json:"disposition_note,omitempty"`
	DispositionMessage *Message `json:"disposition_message,omitempty"`
}

// Dispositions of the restored copy.
const (
	Dropped = "dropped"
	Kept    = "kept"
	Left    = "left"
)

// Timings are the drill's recovery times. Restore is the time to bring the
// data back (the RTO of the restore alone); Checks the time to prove it
// right (Compare + Integrity); Total everything from the start of the drill
// to its end, the backup lookup and the cleanup included.
type Timings struct {
	Restore   time.Duration `json:"restore_ns"`
	Compare   time.Duration `json:"compare_ns"`
	Integrity time.Duration `json:"integrity_ns"`
	Checks    time.Duration `json:"checks_ns"`
	Cleanup   time.Duration `json:"cleanup_ns"`
	Total     time.Duration `json:"total_ns"`
}

// Check is one check's result. Detail says what the check found, in
// English; Message says the same in structured form, which the page renders
// in its language. Reports stored by older versions have Detail only.
type Check struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Detail   string        `json:"detail"`
	Message  *Message      `json:"message,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// TableResult compares one table of the restored copy with the backup.
type TableResult struct {
	Table            string `json:"table"`
	BackupRows       int64  `json:"backup_rows"`
	RestoredRows     int64  `json:"restored_rows"`
	BackupChecksum   string `json:"backup_checksum"`
	RestoredChecksum string `json:"restored_checksum"`
	Equal            bool   `json:"equal"`
}

// Dir is where reports live inside the state directory.
const Dir = "drills"

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrNotFound is returned by Load for an id without a stored report.
var ErrNotFound = errors.New("no such drill report")

func checkID(id string) error {
	if !validID.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("drill id %q: use letters, digits, '.', '_' and '-' only", id)
	}
	return nil
}

// Save stores the report in stateDir as drills/<id>.json and, rendered in
// lang with times in loc, drills/<id>.html. Each file is written whole or
// not at all.
func Save(stateDir string, r *Report, lang string, loc *time.Location) error {
	if err := checkID(r.ID); err != nil {
		return err
	}
	dir := filepath.Join(stateDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("storing drill report %s: %w", r.ID, err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		return fmt.Errorf("storing drill report %s: %w", r.ID, err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r, HTMLOptions{Language: lang, Location: loc}); err != nil {
		return fmt.Errorf("storing drill report %s: %w", r.ID, err)
	}
	for _, f := range []struct {
		ext  string
		data []byte
	}{{".json", js.Bytes()}, {".html", page.Bytes()}} {
		if err := atomicfile.WriteFile(filepath.Join(dir, r.ID+f.ext), f.data, 0o600); err != nil {
			return fmt.Errorf("storing drill report %s: %w", r.ID, err)
		}
	}
	return nil
}

// Paths returns where Save stores the report id.
func Paths(stateDir, id string) (jsonPath, htmlPath string) {
	base := filepath.Join(stateDir, Dir, id)
	return base + ".json", base + ".html"
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Load reads the stored report id from stateDir. A missing report is
// ErrNotFound.
func Load(stateDir, id string) (*Report, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	p, _ := Paths(stateDir, id)
	return load(p, id)
}

func load(path, id string) (*Report, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("drill report %s (%s): %w", id, path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading drill report %s: %w", id, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading drill report %s (%s): %w", id, path, err)
	}
	if r.Version > ReportVersion {
		return nil, fmt.Errorf("drill report %s has version %d, newer than this dbopsd understands (%d)", id, r.Version, ReportVersion)
	}
	return &r, nil
}

// List reads every report stored in stateDir, oldest first. Files that are
// not reports are skipped; a report that does not read is an error.
func List(stateDir string) ([]*Report, error) {
	entries, err := os.ReadDir(filepath.Join(stateDir, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing drill reports: %w", err)
	}
	var out []*Report
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || checkID(id) != nil {
			continue
		}
		r, err := load(filepath.Join(stateDir, Dir, e.Name()), id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
