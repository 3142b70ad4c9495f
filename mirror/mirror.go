package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/catalog"
	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
)

// StatePrefix holds the state objects a mirror run writes on the mirror.
const StatePrefix = "mirror-state/"

// Options say what to copy where.
type Options struct {
	// Primary is the open repository to copy from.
	Primary *repository.Repo
	// Mirror is the storage to copy to, and Name its name in the policy.
	Mirror storage.Storage
	Name   string
	// Passphrase opens the copy on the mirror, to authenticate the copied
	// manifests.
	Passphrase secret.Value
	// ObjectLock: the mirror has object lock; objects are written with the
	// retain-until dates of their backups.
	ObjectLock bool
	// Copies is how many objects are copied at once (default 4).
	Copies int
	// Catalog, when set, records the run as a "mirror" job.
	Catalog *catalog.Catalog
	Trigger string
	OSUser  string
	Logger  hclog.Logger
	// Progress, when set, is told the chunk bytes copied so far and the
	// total to copy (from several goroutines).
	Progress func(done, total int64)
}

// Counts are objects and bytes of one kind.
type Counts struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// Result is what one run did. It is also the state object on the mirror.
type Result struct {
	Version      int       `json:"version"`
	Mirror       string    `json:"mirror"`
	MirrorURL    string    `json:"mirror_url"`
	Primary      string    `json:"primary"`
	RepositoryID string    `json:"repository_id"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	// Copied counts what this run copied, by object kind.
	Copied map[string]Counts `json:"copied"`
	// Present counts the chunks and manifests that were already there.
	Present int `json:"present"`
	// RemovedKeys are key files removed because the primary no longer has
	// them (after a rekey).
	RemovedKeys []string `json:"removed_keys,omitempty"`
	// Backups is how many backups the mirror holds after the run, and
	// Newest the newest backup id per database on it.
	Backups int               `json:"backups"`
	Newest  map[string]string `json:"newest,omitempty"`
	// Missing lists the backups of the primary the mirror does not hold
	// after the run, and why.
	Missing []string `json:"missing,omitempty"`
	// Problems lists the objects that could not be copied or verified.
	Problems []string `json:"problems,omitempty"`
	JobID    int64    `json:"job_id,omitempty"`
}

// OK reports whether the mirror holds every readable backup of the
// primary.
func (r *Result) OK() bool { return len(r.Problems) == 0 && len(r.Missing) == 0 }

// total is every object and byte copied.
func (r *Result) total() Counts {
	var c Counts
	for _, k := range r.Copied {
		c.Objects += k.Objects
		c.Bytes += k.Bytes
	}
	return c
}

// ErrIncomplete is returned (wrapped) when a run could not bring the
// mirror up to date; the Result says what is missing.
var ErrIncomplete = errors.New("mirror incomplete")

// Run copies to the mirror what it lacks, verifies it, and records the
// state. It returns the result even with an error, when it got far enough to
// have one.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Copies <= 0 {
		opts.Copies = 4
	}
	log := opts.Logger.Named("mirror").With("mirror", opts.Name)
	var jobID int64
	if opts.Catalog != nil {
		id, err := opts.Catalog.StartJob(ctx, catalog.Job{Kind: "mirror", Target: opts.Name, Trigger: opts.Trigger, OSUser: opts.OSUser})
		if err != nil {
			return nil, err
		}
		jobID = id
	}
	m := &mirrorRun{opts: opts, log: log, res: &Result{
		Version: 1, Mirror: opts.Name, MirrorURL: opts.Mirror.String(), Primary: opts.Primary.Storage().String(),
		RepositoryID: opts.Primary.ID(), Started: time.Now().UTC(), Copied: map[string]Counts{},
		Newest: map[string]string{}, JobID: jobID,
	}}
	err := m.run(ctx)
	res := m.res
	if err == nil && !res.OK() {
		err = fmt.Errorf("%w: %d backups of the primary are not on mirror %s, %d problems (first: %s)",
			ErrIncomplete, len(res.Missing), opts.Name, len(res.Problems), first(res.Problems, res.Missing))
	}
	if opts.Catalog != nil {
		rctx := context.WithoutCancel(ctx)
		t := res.total()
		details := map[string]any{"mirror": opts.Name, "copied_objects": t.Objects, "backups": res.Backups,
			"missing": len(res.Missing), "problems": len(res.Problems)}
		if ferr := opts.Catalog.FinishJob(rctx, jobID, "", t.Bytes, err, details); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		return res, fmt.Errorf("mirroring the repository to %s: %w", opts.Name, err)
	}
	return res, nil
}

func first(lists ...[]string) string {
	for _, l := range lists {
		if len(l) > 0 {
			return l[0]
		}
	}
	return ""
}

type mirrorRun struct {
	opts Options
	log  hclog.Logger
	res  *Result
	mu   sync.Mutex // guards res during the parallel copy
}

func (m *mirrorRun) problem(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	m.mu.Lock()
	m.res.Problems = append(m.res.Problems, msg)
	m.mu.Unlock()
	m.log.Warn(msg)
}

func (m *mirrorRun) copied(kind string, size int64) {
	m.mu.Lock()
	c := m.res.Copied[kind]
	c.Objects++
	c.Bytes += size
	m.res.Copied[kind] = c
	m.mu.Unlock()
}

func (m *mirrorRun) run(ctx context.Context) error {
	pst, mst := m.opts.Primary.Storage(), m.opts.Mirror
	id := m.opts.Primary.ID()
	// A mirror holds one repository: never mix two.
	switch mid, err := repository.StoredID(ctx, mst); {
	case errors.Is(err, repository.ErrNoRepository):
	case err != nil:
		return fmt.Errorf("reading the repository config on the mirror: %w", err)
	case mid != id:
		return fmt.Errorf("%s holds another repository (id %s, the primary's is %s): refusing to mix them", mst, mid, id)
	}

	// Keys, then config: the mirror is a repository once its config is
	// there, and must open then.
	pkeys, err := listSizes(ctx, pst, repository.KeysPrefix)
	if err != nil {
		return err
	}
	mkeys, err := listSizes(ctx, mst, repository.KeysPrefix)
	if err != nil {
		return err
	}
	for _, key := range sortedKeys(pkeys) {
		if mkeys[key] == pkeys[key] {
			continue
		}
		if err := m.copyObject(ctx, key, pkeys[key], time.Time{}); err != nil {
			return err
		}
	}
	cfg, err := pst.Stat(ctx, repository.ConfigKey)
	if err != nil {
		return fmt.Errorf("reading the primary's config: %w", err)
	}
	if mc, err := mst.Stat(ctx, repository.ConfigKey); err != nil || mc.Size != cfg.Size || !sameConfig(ctx, pst, mst) {
		if err := m.copyObject(ctx, repository.ConfigKey, cfg.Size, time.Time{}); err != nil {
			return err
		}
	}
	mirrorRepo, err := repository.Open(ctx, mst, m.opts.Passphrase)
	if err != nil {
		return fmt.Errorf("opening the copy on the mirror: %w", err)
	}
	// Key files the primary dropped (rekey) go too, once it is certain that
	// one of the primary's key files, all now on the mirror, opens with the
	// passphrase: the mirror then stays openable without them.
	stale := 0
	for key := range mkeys {
		if _, ok := pkeys[key]; !ok {
			stale++
		}
	}
	if stale > 0 {
		if _, err := repository.Open(ctx, pst, m.opts.Passphrase); err != nil {
			m.problem("keeping %d old key files on the mirror: the primary's keys do not open with the passphrase: %v", stale, err)
			mkeys = nil
		}
	}
	for _, key := range sortedKeys(mkeys) {
		if _, ok := pkeys[key]; ok {
			continue
		}
		if err := mst.Delete(ctx, key); err != nil {
			m.problem("removing the old key file %s from the mirror: %v", key, err)
			continue
		}
		m.res.RemovedKeys = append(m.res.RemovedKeys, key)
		m.log.Info("removed a key file the primary no longer has", "key", key)
	}

	// What the primary holds: every readable manifest and the chunks it
	// names.
	prefs, err := m.opts.Primary.ListManifests(ctx, "")
	if err != nil {
		return err
	}
	type manifestJob struct {
		ref    repository.ManifestRef
		chunks map[string]int64
		retain time.Time
	}
	var jobs []manifestJob
	need := map[string]int64{}       // chunk key -> stored size
	retain := map[string]time.Time{} // generation data prefix -> latest retain-until
	for _, ref := range prefs {
		man, err := m.opts.Primary.LoadManifest(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Damage is not copied: the mirror keeps whatever good copy
			// of it it has.
			m.problem("backup %s of %s is not mirrored: its manifest on the primary cannot be read: %v", ref.ID, ref.Database, err)
			continue
		}
		ck := man.ChunkKeys()
		for k, size := range ck {
			need[k] = size
		}
		gp := repository.DataPrefix + ref.Database + "/" + ref.Generation + "/"
		if man.RetainUntil.After(retain[gp]) {
			retain[gp] = man.RetainUntil
		}
		jobs = append(jobs, manifestJob{ref: ref, chunks: ck, retain: man.RetainUntil})
	}
	have, err := listSizes(ctx, mst, repository.DataPrefix)
	if err != nil {
		return err
	}

	// Chunks, in parallel.
	var todo []string
	var total int64
	for _, k := range sortedKeys(need) {
		if have[k] == need[k] {
			m.res.Present++
			continue
		}
		todo = append(todo, k)
		total += need[k]
	}
	m.log.Info("copying chunks", "chunks", len(todo), "bytes", total, "already_there", m.res.Present)
	var done atomic.Int64
	var hmu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range m.opts.Copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				until := time.Time{}
				if m.opts.ObjectLock {
					until = retain[generationPrefix(key)]
				}
				if err := m.copyObject(ctx, key, need[key], until); err != nil {
					if ctx.Err() == nil {
						m.problem("%v", err)
					}
					continue
				}
				hmu.Lock()
				have[key] = need[key]
				hmu.Unlock()
				if m.opts.Progress != nil {
					m.opts.Progress(done.Add(need[key]), total)
				}
			}
		}()
	}
feed:
	for _, k := range todo {
		select {
		case work <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	// Manifests last, each only once all its chunks are there.
	mrefs, err := mirrorRepo.ListManifests(ctx, "")
	if err != nil {
		return err
	}
	onMirror := map[string]int64{}
	for _, r := range mrefs {
		onMirror[r.Key] = r.Size
	}
	for _, j := range jobs {
		if size, ok := onMirror[j.ref.Key]; ok && size == j.ref.Size {
			m.res.Present++
			continue
		}
		var lacking int
		for k, size := range j.chunks {
			if have[k] != size {
				lacking++
			}
		}
		if lacking > 0 {
			m.res.Missing = append(m.res.Missing, fmt.Sprintf("%s (%s): %d of its chunks are not on the mirror", j.ref.ID, j.ref.Database, lacking))
			continue
		}
		until := time.Time{}
		if m.opts.ObjectLock {
			until = j.retain
		}
		if err := m.copyObject(ctx, j.ref.Key, j.ref.Size, until); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.res.Missing = append(m.res.Missing, fmt.Sprintf("%s (%s): %v", j.ref.ID, j.ref.Database, err))
			continue
		}
		if _, err := mirrorRepo.LoadManifest(ctx, j.ref); err != nil {
			m.res.Missing = append(m.res.Missing, fmt.Sprintf("%s (%s): the copy does not authenticate on the mirror: %v", j.ref.ID, j.ref.Database, err))
			continue
		}
	}

	// The heads and prune records, by which a deleted manifest is noticed.
	if err := m.opts.Primary.CopyAnchors(ctx, mirrorRepo); err != nil {
		m.problem("copying the heads and prune records: %v", err)
	}
	// The documents (diagnosis snapshots, dictionaries, volume samples).
	if _, err := m.opts.Primary.CopyDocuments(ctx, mirrorRepo); err != nil {
		m.problem("copying the documents: %v", err)
	}

	// What the mirror now holds.
	mrefs, err = mirrorRepo.ListManifests(ctx, "")
	if err != nil {
		return err
	}
	m.res.Backups = len(mrefs)
	for _, r := range mrefs {
		if r.ID > m.res.Newest[r.Database] {
			m.res.Newest[r.Database] = r.ID
		}
	}
	m.res.Finished = time.Now().UTC()
	if err := writeState(ctx, mst, m.res); err != nil {
		return err
	}
	t := m.res.total()
	m.log.Info("mirror up to date", "copied_objects", t.Objects, "copied_bytes", t.Bytes, "backups", m.res.Backups)
	return nil
}

// copyObject streams one object from the primary to the mirror and checks
// the copy's size.
func (m *mirrorRun) copyObject(ctx context.Context, key string, size int64, until time.Time) error {
	rc, err := m.opts.Primary.Storage().Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reading %s from the primary: %w", key, err)
	}
	defer rc.Close()
	if err := m.opts.Mirror.Put(ctx, key, rc, size, storage.PutOptions{RetainUntil: until}); err != nil {
		return fmt.Errorf("copying %s to the mirror: %w", key, err)
	}
	oi, err := m.opts.Mirror.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("checking the copy of %s: %w", key, err)
	}
	if oi.Size != size {
		return fmt.Errorf("the copy of %s has %d bytes, the primary's %d", key, oi.Size, size)
	}
	m.copied(repository.ObjectKind(key), size)
	return nil
}

// generationPrefix is data/<db>/<gen>/ of a chunk key.
func generationPrefix(chunkKey string) string {
	n := 0
	for i := 0; i < len(chunkKey); i++ {
		if chunkKey[i] == '/' {
			n++
			if n == 3 {
				return chunkKey[:i+1]
			}
		}
	}
	return chunkKey
}

func listSizes(ctx context.Context, st storage.Storage, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	err := st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
		out[oi.Key] = oi.Size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", prefix, st, err)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func stateKey(repoID string) string { return StatePrefix + repoID }

func writeState(ctx context.Context, st storage.Storage, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the mirror state: %w", err)
	}
	// No retention: the state is rewritten by every run.
	if err := st.Put(ctx, stateKey(res.RepositoryID), bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		return fmt.Errorf("writing the mirror state: %w", err)
	}
	return nil
}

// ReadState returns the state the last run wrote on the mirror st for the
// repository repoID; an error wrapping storage.ErrNotExist when there is
// none.
func ReadState(ctx context.Context, st storage.Storage, repoID string) (*Result, error) {
	rc, err := st.Get(ctx, stateKey(repoID))
	if err != nil {
		return nil, fmt.Errorf("reading the mirror state on %s: %w", st, err)
	}
	defer rc.Close()
	var res Result
	if err := json.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("reading the mirror state on %s: %w", st, err)
	}
	return &res, nil
}
