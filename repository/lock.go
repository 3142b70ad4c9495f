package repository

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/storage"
)

// Backup locks.
//
// A backup holds the object locks/<database> while it runs, so that a second
// backup of the same database is refused and prune leaves the running
// backup's chunks alone. Backups of different databases take different locks
// and run in parallel.
//
// Storage offers no compare-and-swap, so a lock is taken by writing it with a
// random token, waiting VerifyDelay, and reading it back: the taker proceeds
// only if the token read is still its own. On storage with read-after-write
// consistency (local directories, S3 and MinIO) this excludes a second holder
// whenever every contender takes less than VerifyDelay between seeing no live
// lock and writing its own: of two overlapping writers, the later one wins
// and the earlier one reads the later one's token and backs off. A contender
// slower than that (a process paused between its check and its write) can
// still overwrite a lock that was verified; the earlier holder then finds a
// foreign token at its next refresh (every TTL/3) or rewrite and stops its
// backup. If it finishes first, two backups of one database completed side
// by side: harmless to the repository (distinct backup ids, chunks that are
// content-addressed), and prune's grace period still covers the chunks the
// lock no longer names. Release deletes the lock only while it still holds
// its own token.
//
// A lock expires TTL after its last refresh, so a crashed holder blocks its
// database for at most TTL. A lock written on this host by a process that no
// longer exists (or before the last reboot) is dead at once. Expiry compares
// clocks of different hosts: keep them in sync (NTP); TTL (10 minutes) is far
// above the usual skew.

const locksPrefix = "locks/"

func lockKey(database string) string { return locksPrefix + database }

// Lock defaults.
const (
	DefaultLockTTL         = 10 * time.Minute
	DefaultLockVerifyDelay = 500 * time.Millisecond
)

// LockInfo is the content of a lock object (plain JSON: nothing in it is
// secret, and an operator can read it).
type LockInfo struct {
	Version  int    `json:"version"`
	Database string `json:"database"`
	Host     string `json:"host"`
	PID      int    `json:"pid"`
	// Boot identifies the host's boot (Linux boot_id), so that a lock from
	// before a reboot is known dead.
	Boot     string `json:"boot,omitempty"`
	BackupID string `json:"backup_id,omitempty"`
	// Generation is the generation the backup writes into, once it is
	// known; until then prune spares every generation of the database.
	Generation string    `json:"generation,omitempty"`
	Token      string    `json:"token"`
	Created    time.Time `json:"created"`
	Refreshed  time.Time `json:"refreshed"`
	Expires    time.Time `json:"expires"`
}

// Holder describes who holds the lock, for messages.
func (li LockInfo) Holder() string {
	s := fmt.Sprintf("host %s pid %d", li.Host, li.PID)
	if li.BackupID != "" {
		s += " (backup " + li.BackupID + ")"
	}
	return s
}

// Dead reports why the holder of li is known not to run any more ("" when it
// may still run): its lock expired at now, or it ran on this host under a
// process id that no longer exists or before the last reboot.
func (li LockInfo) Dead(now time.Time) string {
	if !now.Before(li.Expires) {
		return fmt.Sprintf("the lock expired at %s", li.Expires.Local().Format(time.RFC3339))
	}
	host, _ := os.Hostname()
	if li.Host == "" || li.Host != host {
		return ""
	}
	if boot := bootID(); boot != "" && li.Boot != "" && boot != li.Boot {
		return "its host has rebooted since"
	}
	if li.PID > 0 && !processExists(li.PID) {
		return fmt.Sprintf("process %d no longer exists on this host", li.PID)
	}
	return ""
}

// LockedError is the refusal of a lock held by a live holder.
type LockedError struct {
	Info LockInfo
}

// Is makes a held lock transient (fault.ErrTransient): the other backup
// ends, and a later attempt takes the lock.
func (e *LockedError) Is(target error) bool { return target == fault.ErrTransient }

func (e *LockedError) Error() string {
	return fmt.Sprintf("database %q is already being backed up by %s since %s; its lock expires at %s unless refreshed (remove %s only if that backup is certainly gone)",
		e.Info.Database, e.Info.Holder(), e.Info.Created.Local().Format(time.RFC3339), e.Info.Expires.Local().Format(time.RFC3339), lockKey(e.Info.Database))
}

// ErrLockLost is the cause a backup is stopped with when its lock was taken
// over or could not be refreshed before it expired.
var ErrLockLost = errors.New("backup lock lost")

// LockOptions tune AcquireLock.
type LockOptions struct {
	BackupID string
	// TTL is how long the lock lives without a refresh (default
	// DefaultLockTTL); it is refreshed every TTL/3.
	TTL time.Duration
	// VerifyDelay is the wait between writing the lock and reading it back
	// (default DefaultLockVerifyDelay).
	VerifyDelay time.Duration
	// OnLost is called (once, from the refresh goroutine) when the lock is
	// lost; the holder must stop writing.
	OnLost func(error)
}

// Lock is a held backup lock. Release it when the backup ends.
type Lock struct {
	r    *Repo
	opts LockOptions

	mu   sync.Mutex
	info LockInfo
	// wmu serialises rewrites (refresh and SetBackup), so neither undoes
	// the other.
	wmu sync.Mutex

	stop     chan struct{}
	done     chan struct{}
	lostOnce sync.Once
	lostErr  error
}

// AcquireLock takes the backup lock of database, refusing with a
// *LockedError while a live holder has it, and taking over (with a warning)
// a lock whose holder is dead. The lock is refreshed in the background until
// Release.
func (r *Repo) AcquireLock(ctx context.Context, database string, opts LockOptions) (*Lock, error) {
	if err := validName(database); err != nil {
		return nil, err
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultLockTTL
	}
	if opts.VerifyDelay <= 0 {
		opts.VerifyDelay = DefaultLockVerifyDelay
	}
	key := lockKey(database)
	old, err := r.readLock(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading the backup lock of %s: %w", database, err)
	default:
		why := old.Dead(time.Now())
		if why == "" {
			return nil, &LockedError{Info: *old}
		}
		r.logger.Warn("taking over the backup lock of a holder that is gone", "database", database,
			"holder", old.Holder(), "since", old.Created, "why", why)
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &Lock{r: r, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	l.info = LockInfo{
		Version: 1, Database: database, Host: host, PID: os.Getpid(), Boot: bootID(),
		BackupID: opts.BackupID, Token: hex.EncodeToString(randBytes(16)),
		Created: now, Refreshed: now, Expires: now.Add(opts.TTL),
	}
	if err := r.writeLock(ctx, l.info); err != nil {
		return nil, fmt.Errorf("writing the backup lock of %s: %w", database, err)
	}
	select {
	case <-time.After(opts.VerifyDelay):
	case <-ctx.Done():
		l.deleteIfOurs(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("taking the backup lock of %s: %w", database, context.Cause(ctx))
	}
	cur, err := r.readLock(ctx, key)
	if err != nil {
		l.deleteIfOurs(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("reading back the backup lock of %s: %w", database, err)
	}
	if cur.Token != l.info.Token {
		// Another backup wrote its lock between our check and our read.
		return nil, &LockedError{Info: *cur}
	}
	go l.refreshLoop()
	return l, nil
}

// Info is the lock as last written.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Err is why the lock was lost, or nil.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// SetBackup records the backup id and the generation it writes into, so
// that prune spares that generation rather than the whole database. Call it
// before the backup writes its first chunk.
func (l *Lock) SetBackup(ctx context.Context, backupID, generation string) error {
	if err := l.Err(); err != nil {
		return err
	}
	err := l.rewrite(ctx, func(li *LockInfo) { li.BackupID, li.Generation = backupID, generation })
	if errors.Is(err, ErrLockLost) {
		l.lose(err)
	}
	if err != nil {
		return fmt.Errorf("recording backup %s in the lock of %s: %w", backupID, l.Info().Database, err)
	}
	return nil
}

// Release stops refreshing and removes the lock if it is still ours. It
// works even when ctx is already cancelled (a backup stopped by SIGTERM must
// not leave its lock for TTL).
func (l *Lock) Release(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil // already released
	default:
	}
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return l.deleteIfOurs(ctx)
}

func (l *Lock) deleteIfOurs(ctx context.Context) error {
	info := l.Info()
	key := lockKey(info.Database)
	cur, err := l.r.readLock(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("releasing the backup lock of %s: %w", info.Database, err)
	}
	if cur.Token != info.Token {
		return nil // taken over: not ours to remove
	}
	if err := l.r.st.Delete(ctx, key); err != nil {
		return fmt.Errorf("releasing the backup lock of %s: %w", info.Database, err)
	}
	return nil
}

func (l *Lock) refreshLoop() {
	defer close(l.done)
	every := l.opts.TTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := l.refresh(ctx)
		cancel()
		if err == nil {
			continue
		}
		if errors.Is(err, ErrLockLost) || !time.Now().Before(l.Info().Expires) {
			l.lose(err)
			return
		}
		l.r.logger.Warn("refreshing the backup lock failed; retrying", "database", l.Info().Database, "error", err)
	}
}

// refresh checks that the lock is still ours and pushes its expiry.
func (l *Lock) refresh(ctx context.Context) error { return l.rewrite(ctx, nil) }

// rewrite checks that the lock is still ours, then writes it again with
// its expiry pushed and mutate applied.
func (l *Lock) rewrite(ctx context.Context, mutate func(*LockInfo)) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	info := l.Info()
	cur, err := l.r.readLock(ctx, lockKey(info.Database))
	if errors.Is(err, storage.ErrNotExist) {
		return fmt.Errorf("%w: the lock object of %s disappeared", ErrLockLost, info.Database)
	}
	if err != nil {
		return fmt.Errorf("refreshing the backup lock of %s: %w", info.Database, err)
	}
	if cur.Token != info.Token {
		return fmt.Errorf("%w: database %s is now locked by %s", ErrLockLost, info.Database, cur.Holder())
	}
	now := time.Now().UTC()
	info.Refreshed, info.Expires = now, now.Add(l.opts.TTL)
	if mutate != nil {
		mutate(&info)
	}
	if err := l.r.writeLock(ctx, info); err != nil {
		return fmt.Errorf("refreshing the backup lock of %s: %w", info.Database, err)
	}
	l.mu.Lock()
	l.info = info
	l.mu.Unlock()
	return nil
}

func (l *Lock) lose(err error) {
	if !errors.Is(err, ErrLockLost) {
		err = fmt.Errorf("%w: %w", ErrLockLost, err)
	}
	l.lostOnce.Do(func() {
		l.mu.Lock()
		l.lostErr = err
		l.mu.Unlock()
		if l.opts.OnLost != nil {
			l.opts.OnLost(err)
		}
	})
}

// Locks lists the backup locks in the repository with their holders,
// live or not.
func (r *Repo) Locks(ctx context.Context) ([]LockInfo, error) {
	var keys []string
	err := r.st.List(ctx, locksPrefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing backup locks in %s: %w", r.st, err)
	}
	var out []LockInfo
	for _, k := range keys {
		li, err := r.readLock(ctx, k)
		if errors.Is(err, storage.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading backup lock %s: %w", k, err)
		}
		out = append(out, *li)
	}
	return out, nil
}

// LiveLocks returns the locks whose holders may still run, by database.
func (r *Repo) LiveLocks(ctx context.Context, now time.Time) (map[string]LockInfo, error) {
	all, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]LockInfo{}
	for _, li := range all {
		if li.Dead(now) == "" {
			live[li.Database] = li
		}
	}
	return live, nil
}

func (r *Repo) readLock(ctx context.Context, key string) (*LockInfo, error) {
	rc, err := r.st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return nil, err
	}
	var li LockInfo
	if err := json.Unmarshal(b, &li); err != nil || li.Token == "" || li.Expires.IsZero() {
		// A damaged lock must neither block backups forever nor be ignored
		// while its writer may still run: it lives TTL from when it was
		// written.
		oi, serr := r.st.Stat(ctx, key)
		if serr != nil {
			return nil, serr
		}
		li = LockInfo{Host: "unknown (damaged lock object)", Created: oi.ModTime, Expires: oi.ModTime.Add(DefaultLockTTL)}
	}
	if li.Database == "" {
		li.Database = strings.TrimPrefix(key, locksPrefix)
	}
	return &li, nil
}

func (r *Repo) writeLock(ctx context.Context, li LockInfo) error {
	b, _ := json.MarshalIndent(li, "", "  ")
	// No RetainUntil: a lock must stay deletable under object lock.
	return r.st.Put(ctx, lockKey(li.Database), bytes.NewReader(b), int64(len(b)), storage.PutOptions{})
}

// processExists reports whether a process with pid runs on this host.
func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

var bootIDOnce = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

func bootID() string { return bootIDOnce() }
