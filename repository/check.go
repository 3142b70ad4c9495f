package repository

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/dbopsd/dbopsd/storage"
)

// CheckOptions tune Check.
type CheckOptions struct {
	Database string // "" = every database
	// ReadData also reads, authenticates, decompresses and re-hashes every
	// chunk, instead of only checking that it exists with the right size.
	ReadData bool
	// Progress, when set, is told the chunks checked so far and the total.
	Progress func(done, total int64)
}

// Problem is one thing wrong, and the backups it affects.
type Problem struct {
	Object  string   `json:"object"`
	Problem string   `json:"problem"`
	Backups []string `json:"backups"`
}

// CheckResult is what Check found.
type CheckResult struct {
	Backups   int       `json:"backups"`
	Chunks    int       `json:"chunks"`
	ReadBytes int64     `json:"read_bytes"`
	Problems  []Problem `json:"problems,omitempty"`
	// Damaged lists the backups with at least one problem.
	Damaged []string `json:"damaged,omitempty"`
}

// OK reports whether no problem was found.
func (c *CheckResult) OK() bool { return len(c.Problems) == 0 }

type chunkUse struct {
	ref     ChunkRef
	db, gen string
	backups []string
}

// Check verifies the repository's structure: every manifest opens, none is
// missing (chain.go), and every
// chunk a manifest names exists with the size the manifest records; with
// ReadData, every chunk's content too. Problems are reported with the
// backups they affect; Check itself only fails when storage cannot be read.
func (r *Repo) Check(ctx context.Context, opts CheckOptions) (*CheckResult, error) {
	refs, err := r.ListManifests(ctx, opts.Database)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{Backups: len(refs)}
	damaged := map[string]bool{}
	problem := func(object, msg string, backups ...string) {
		res.Problems = append(res.Problems, Problem{Object: object, Problem: msg, Backups: backups})
		for _, b := range backups {
			damaged[b] = true
		}
	}
	uses := map[string]*chunkUse{} // chunk object key -> use
	gens := map[string]bool{}      // db/gen prefixes to list
	entries := make([]ChainEntry, 0, len(refs))
	for _, ref := range refs {
		m, err := r.LoadManifest(ctx, ref)
		if err != nil {
			problem(ref.Key, err.Error(), ref.ID)
			entries = append(entries, ChainEntry{Database: ref.Database, ID: ref.ID, Generation: ref.Generation})
			continue
		}
		entries = append(entries, ChainEntryOf(m))
		gens[generationDataPrefix(m.Database, m.Generation)] = true
		seen := map[string]bool{}
		for _, p := range m.Parts {
			for _, c := range p.Chunks {
				if seen[c.ID] {
					continue
				}
				seen[c.ID] = true
				key := chunkKey(m.Database, m.Generation, c.ID)
				u := uses[key]
				if u == nil {
					u = &chunkUse{ref: c, db: m.Database, gen: m.Generation}
					uses[key] = u
				} else if u.ref.Stored != c.Stored || u.ref.Size != c.Size {
					problem(key, "manifests disagree about this chunk's size", m.ID)
				}
				u.backups = append(u.backups, m.ID)
			}
		}
	}
	res.Chunks = len(uses)

	// Manifests that should be there and are not (chain.go).
	anchors, err := r.LoadAnchors(ctx, opts.Database)
	if err != nil {
		return nil, err
	}
	for _, p := range anchors.Problems {
		problem(p.Object, p.Problem)
	}
	for _, mb := range FindMissing(entries, anchors) {
		if mb.ID == "" {
			problem(mb.Object, mb.How)
			continue
		}
		problem(mb.Object, "manifest is missing: "+mb.How+"; deleted, and not by prune", mb.ID)
	}

	// Structure: list what is stored once per generation, not one Stat per chunk.
	sizes := map[string]int64{}
	for prefix := range gens {
		err := r.st.List(ctx, prefix, func(oi storage.ObjectInfo) error {
			sizes[oi.Key] = oi.Size
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", prefix, err)
		}
	}
	var toRead []*chunkUse
	for key, u := range uses {
		size, ok := sizes[key]
		switch {
		case !ok:
			problem(key, "chunk is missing", u.backups...)
		case size != int64(u.ref.Stored):
			problem(key, fmt.Sprintf("chunk has %d bytes, manifests say %d", size, u.ref.Stored), u.backups...)
		default:
			toRead = append(toRead, u)
		}
	}

	if opts.ReadData {
		var mu sync.Mutex
		var done atomic.Int64
		work := make(chan *chunkUse)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := range work {
					_, err := r.readChunk(ctx, u.db, u.gen, u.ref, true)
					mu.Lock()
					if err != nil {
						problem(chunkKey(u.db, u.gen, u.ref.ID), err.Error(), u.backups...)
					} else {
						res.ReadBytes += int64(u.ref.Stored)
					}
					mu.Unlock()
					n := done.Add(1)
					if opts.Progress != nil {
						opts.Progress(n, int64(len(toRead)))
					}
				}
			}()
		}
		for _, u := range toRead {
			if ctx.Err() != nil {
				break
			}
			work <- u
		}
		close(work)
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for b := range damaged {
		res.Damaged = append(res.Damaged, b)
	}
	sort.Strings(res.Damaged)
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Object < res.Problems[j].Object })
	return res, nil
}
