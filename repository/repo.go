package repository

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/scrypt"

	"github.com/dbopsd/dbopsd/internal/fault"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage"
)

// FormatVersion is the repository format this code writes. Readers accept
// this version and older ones, and refuse newer ones with a clear message.
// Format 2 names chunks by keyed BLAKE3 instead of HMAC-SHA256; nothing
// else differs, and a format 1 repository keeps its own ids. Format 3 adds
// row fingerprint parts and parts stored as rows (rows.go); a format 2
// repository becomes format 3 with the first backup that writes one, so
// that an older dbopsd refuses it instead of misreading those parts.
// Format 4 stores a differential's added rows sorted, in blocks, with a
// leading integer key delta-coded (rows parts "dbopsd-rows/2"); a format 3
// repository becomes format 4 with the first differential that stores a
// part as rows, so that a format 3 dbopsd says "upgrade dbopsd" instead of
// calling the part damaged.
const FormatVersion = 4

// chunkSizes bound the content-defined chunks. BenchmarkChunkSizes
// (chunksize_test.go) measures 256 KiB to 2 MiB averages: an appended 2%
// stores about the same at every size (the re-cut tail chunk of each part
// plus the new rows), scattered changes touch every chunk at any size, and
// each object costs a PUT, a seal and a compressor start. 2 MiB halves the
// objects of 1 MiB: on MinIO that is a tenth of a backup's wall time
// (README "Benchmarks").
type chunkSizes struct {
	min, max    uint
	averageBits int // the average is 1<<averageBits
}

var defaultChunkSizes = chunkSizes{min: 512 << 10, max: chunkMax, averageBits: 21}

// chunkMax is the largest chunk; buffers are sized for it.
const chunkMax = 4 << 20

// Errors a caller may want to tell apart.
var (
	ErrNoRepository     = errors.New("no repository here (run `dbopsd repo init`)")
	ErrRepositoryExists = errors.New("a repository already exists here")
	ErrWrongPassphrase  = fault.Permanent(errors.New("wrong passphrase: no key of this repository opens with it"))
	// ErrEmptyPassphrase: the policy gave no passphrase (most often: its
	// env("NAME") variable is not set in this shell).
	ErrEmptyPassphrase = errors.New("repository passphrase is empty")
	// ErrKeyDamaged: a key file (keys/<id>) cannot be used whatever the
	// passphrase, or there is none.
	ErrKeyDamaged = errors.New("damaged key file")
	// ErrConfigDamaged: the config object fails its authentication.
	ErrConfigDamaged = errors.New("repository config damaged")
	ErrNotFound      = errors.New("backup not found")
)

// repoConfig is the plain "config" object: nothing secret. It is readable
// without a key (the mirror compares ids); MAC authenticates it once a key is
// open. Configs written before the MAC have none: they are accepted, and the
// next backup adds it (upgradeConfig). The object must be exactly the
// indented JSON of the struct, so a changed byte anywhere (also in a key name
// or in white space) is seen.
type repoConfig struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// MAC is HMAC-SHA256 under the repository's MAC key of the config's
	// encoding without it.
	MAC []byte `json:"mac,omitempty"`
}

func (c repoConfig) encode() []byte {
	b, _ := json.MarshalIndent(c, "", "  ")
	return b
}

// mac computes the config's MAC under macKey.
func (c repoConfig) mac(macKey []byte) []byte {
	c.MAC = nil
	h := hmac.New(sha256.New, macKey)
	h.Write([]byte("dbopsd-config\x00"))
	h.Write(c.encode())
	return h.Sum(nil)
}

// keyFile is one keys/<id> object: the master key sealed under a key derived
// from the passphrase with scrypt. Several may exist (during a rekey).
type keyFile struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	KDF     string    `json:"kdf"`
	N       int       `json:"n"`
	R       int       `json:"r"`
	P       int       `json:"p"`
	Salt    []byte    `json:"salt"`
	Data    []byte    `json:"data"`
	// Check is the SHA-256 of the key file's JSON without it, so that
	// damage is told from a wrong passphrase (key files written before it
	// have none: damage to them reads as a wrong passphrase).
	Check []byte `json:"check,omitempty"`
}

func (k keyFile) checksum() []byte {
	k.Check = nil
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	return sum[:]
}

// Bounds of the key derivation parameters a key file may ask for. A key file
// is not authenticated before its key is derived, so anyone who can write to
// the storage could otherwise make every command and the agent allocate
// gigabytes (n = 2^30) or spin for hours. The bounds leave 8 times the
// memory (256 MiB) and 16 times the work of the parameters dbopsd writes.
const (
	kdfMaxN      = 1 << 18
	kdfMaxR      = 32
	kdfMaxP      = 16
	kdfMaxMemory = 256 << 20 // 128·n·r bytes
	kdfMaxWork   = 1 << 22   // n·r·p
)

// validate refuses a key file that cannot be one this code (or an older
// one) wrote.
func (k *keyFile) validate() error {
	switch {
	case len(k.Check) > 0 && !hmac.Equal(k.Check, k.checksum()):
		return errors.New("its checksum does not match its content")
	case k.Version != 1 || k.KDF != "scrypt":
		return fmt.Errorf("key format %d with kdf %q is not one this dbopsd reads", k.Version, k.KDF)
	case k.N < 2 || k.N > kdfMaxN || k.N&(k.N-1) != 0 || k.R < 1 || k.R > kdfMaxR || k.P < 1 || k.P > kdfMaxP ||
		128*k.N*k.R > kdfMaxMemory || k.N*k.R*k.P > kdfMaxWork:
		return fmt.Errorf("key derivation parameters n=%d r=%d p=%d are outside the accepted range (n a power of 2 up to %d, r up to %d, p up to %d, at most %d MiB)",
			k.N, k.R, k.P, kdfMaxN, kdfMaxR, kdfMaxP, kdfMaxMemory>>20)
	case len(k.Salt) < 16 || len(k.Salt) > 64:
		return fmt.Errorf("its salt has %d bytes", len(k.Salt))
	case len(k.Data) == 0 || len(k.Data) > 4096:
		return fmt.Errorf("its sealed key has %d bytes", len(k.Data))
	}
	return nil
}

// masterKey is what a key file protects. (Key files written before
// fastcdc-gear-v1 also hold the Rabin polynomial of that chunker, which is
// no longer used.)
type masterKey struct {
	Enc []byte `json:"enc"`
	MAC []byte `json:"mac"`
}

// scrypt parameters for new key files: ~0.1 s and 32 MiB on a 2-core server.
const (
	scryptN = 1 << 15
	scryptR = 8
	scryptP = 1
)

// Repo is an open repository.
type Repo struct {
	st      storage.Storage
	cfg     repoConfig
	keys    *keys
	keysEnc []byte
	keyID   string
	cdc     *gearChunker
	enc     *zstd.Encoder
	dec     *zstd.Decoder
	logger  hclog.Logger
}

// Init creates a repository on st, protected by passphrase.
func Init(ctx context.Context, st storage.Storage, passphrase secret.Value) (*Repo, error) {
	return initVersion(ctx, st, passphrase, FormatVersion)
}

// initVersion creates a repository of an older format too, for tests.
func initVersion(ctx context.Context, st storage.Storage, passphrase secret.Value, version int) (*Repo, error) {
	if passphrase.Empty() {
		return nil, fmt.Errorf("%w: set repository.passphrase (env() or file())", ErrEmptyPassphrase)
	}
	if _, err := st.Stat(ctx, configKey); err == nil {
		return nil, fmt.Errorf("%s: %w", st, ErrRepositoryExists)
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("checking %s for a repository: %w", st, err)
	}
	mk := masterKey{Enc: randBytes(32), MAC: randBytes(32)}
	keyID, err := writeKeyFile(ctx, st, mk, passphrase)
	if err != nil {
		return nil, err
	}
	cfg := repoConfig{Format: "dbopsd-repository", Version: version, ID: hex.EncodeToString(randBytes(16)), Created: time.Now().UTC()}
	cfg.MAC = cfg.mac(mk.MAC)
	b := cfg.encode()
	// The config is written last: a repository exists once it is there.
	if err := st.Put(ctx, configKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		return nil, fmt.Errorf("writing repository config to %s: %w", st, err)
	}
	return newRepo(st, cfg, mk, keyID)
}

// Open opens the repository on st with passphrase. It tells apart an empty
// passphrase (ErrEmptyPassphrase), a passphrase no key opens
// (ErrWrongPassphrase), key files that are damaged or gone (ErrKeyDamaged,
// naming them) and a config that fails its MAC (ErrConfigDamaged).
func Open(ctx context.Context, st storage.Storage, passphrase secret.Value) (*Repo, error) {
	cfg, err := readConfig(ctx, st)
	if err != nil {
		return nil, err
	}
	if passphrase.Empty() {
		return nil, fmt.Errorf("%s: %w", st, ErrEmptyPassphrase)
	}
	var found bool
	var mk masterKey
	var keyID string
	var damaged []string
	files := 0
	err = st.List(ctx, keysPrefix, func(oi storage.ObjectInfo) error {
		if found {
			return nil
		}
		files++
		k, err := readKeyFile(ctx, st, oi.Key)
		if errors.Is(err, ErrKeyDamaged) {
			damaged = append(damaged, strings.TrimPrefix(err.Error(), ErrKeyDamaged.Error()+" "))
			return nil
		}
		if err != nil {
			return err
		}
		if m, ok := k.unwrap(passphrase); ok {
			mk, keyID, found = m, oi.Key[len(keysPrefix):], true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading keys of %s: %w", st, err)
	}
	switch {
	case found:
	case files == 0:
		return nil, wrapped{fmt.Sprintf("%s: no key file under %s (deleted?): no passphrase opens the repository without one; copy %s from a mirror", st, keysPrefix, keysPrefix), ErrKeyDamaged}
	case len(damaged) == files:
		return nil, fmt.Errorf("%s: %w %s (copy %s from a mirror)", st, ErrKeyDamaged, strings.Join(damaged, "; "), keysPrefix)
	case len(damaged) > 0:
		// The damaged one may well be the one this passphrase opens.
		return nil, fmt.Errorf("%s: no intact key opens with the passphrase; the %w %s may be the one that would", st, ErrKeyDamaged, strings.Join(damaged, "; "))
	default:
		return nil, fmt.Errorf("%s: %w", st, ErrWrongPassphrase)
	}
	if cfg.MAC != nil && !hmac.Equal(cfg.MAC, cfg.mac(mk.MAC)) {
		return nil, fmt.Errorf("%s: %w: the %s object fails its authentication (changed or corrupted): copy it from a mirror", st, ErrConfigDamaged, configKey)
	}
	return newRepo(st, cfg, mk, keyID)
}

// wrapped is an error that wraps err without repeating its text.
type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.err }

// upgradeConfig adds the MAC to a config written before it had one. It runs
// before a backup writes anything; a failure only leaves the config as it
// was.
func (r *Repo) upgradeConfig(ctx context.Context) {
	if r.cfg.MAC != nil {
		return
	}
	cfg := r.cfg
	cfg.MAC = cfg.mac(r.keys.macKey)
	b := cfg.encode()
	if err := r.st.Put(ctx, configKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		r.logger.Warn("could not add the MAC to the repository config (it stays as it was; the next backup tries again)", "error", err)
		return
	}
	r.cfg = cfg
}

// Rekey wraps the repository's keys under a new passphrase and removes the
// key file that the current passphrase opened. No data is rewritten.
func (r *Repo) Rekey(ctx context.Context, newPassphrase secret.Value) error {
	if newPassphrase.Empty() {
		return errors.New("the new passphrase is empty")
	}
	mk := masterKey{Enc: r.keysEnc, MAC: r.keys.macKey}
	id, err := writeKeyFile(ctx, r.st, mk, newPassphrase)
	if err != nil {
		return err
	}
	if err := r.st.Delete(ctx, keysPrefix+r.keyID); err != nil {
		return fmt.Errorf("new key %s written, but removing the old key %s failed (the old passphrase still works): %w", id, r.keyID, err)
	}
	r.keyID = id
	return nil
}

// ID is the repository's id.
func (r *Repo) ID() string { return r.cfg.ID }

// Storage is the storage the repository lives on.
func (r *Repo) Storage() storage.Storage { return r.st }

// SetLogger sets the logger for progress and warnings.
func (r *Repo) SetLogger(l hclog.Logger) { r.logger = l }

func newRepo(st storage.Storage, cfg repoConfig, mk masterKey, keyID string) (*Repo, error) {
	k, err := newKeys(cfg.Version, mk.Enc, mk.MAC)
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true),
		// AES-GCM authenticates every chunk: zstd's own checksum would only
		// cost time.
		zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	return &Repo{st: st, cfg: cfg, keys: k, cdc: newGearChunker(mk.MAC, defaultChunkSizes), keysEnc: mk.Enc, keyID: keyID, enc: enc, dec: dec, logger: hclog.NewNullLogger()}, nil
}

func readConfig(ctx context.Context, st storage.Storage) (repoConfig, error) {
	return readConfigAs(ctx, st, FormatVersion)
}

// readConfigAs reads the config as a dbopsd that understands formats up to
// understood would (tests show what an older one says).
func readConfigAs(ctx context.Context, st storage.Storage, understood int) (repoConfig, error) {
	var cfg repoConfig
	rc, err := st.Get(ctx, configKey)
	if errors.Is(err, storage.ErrNotExist) {
		return cfg, fmt.Errorf("%s: %w", st, ErrNoRepository)
	}
	if err != nil {
		return cfg, fmt.Errorf("reading repository config from %s: %w", st, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return cfg, fmt.Errorf("reading repository config from %s: %w", st, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Format != "dbopsd-repository" {
		return cfg, fmt.Errorf("%s: the config object is not a dbopsd repository config", st)
	}
	if cfg.Version > understood || cfg.Version < 1 {
		return cfg, fmt.Errorf("%s: repository format %d is newer than this dbopsd understands (%d): upgrade dbopsd", st, cfg.Version, understood)
	}
	if !bytes.Equal(b, cfg.encode()) {
		return cfg, fmt.Errorf("%s: %w: the %s object is not as dbopsd writes it (changed or corrupted): copy it from a mirror", st, ErrConfigDamaged, configKey)
	}
	return cfg, nil
}

func readKeyFile(ctx context.Context, st storage.Storage, key string) (*keyFile, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var k keyFile
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyDamaged, key, err)
	}
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyDamaged, key, err)
	}
	return &k, nil
}

func (k *keyFile) unwrap(passphrase secret.Value) (masterKey, bool) {
	var mk masterKey
	kek, err := scrypt.Key([]byte(passphrase.Reveal()), k.Salt, k.N, k.R, k.P, 32)
	if err != nil {
		return mk, false
	}
	wk, err := newKeys(FormatVersion, kek, nil) // only seals and opens
	if err != nil {
		return mk, false
	}
	plain, err := wk.open(nil, k.Data, []byte("dbopsd-key"))
	if err != nil {
		return mk, false
	}
	if json.Unmarshal(plain, &mk) != nil || len(mk.Enc) != 32 || len(mk.MAC) != 32 {
		return mk, false
	}
	return mk, true
}

func writeKeyFile(ctx context.Context, st storage.Storage, mk masterKey, passphrase secret.Value) (string, error) {
	k := keyFile{Version: 1, Created: time.Now().UTC(), KDF: "scrypt", N: scryptN, R: scryptR, P: scryptP, Salt: randBytes(32)}
	kek, err := scrypt.Key([]byte(passphrase.Reveal()), k.Salt, k.N, k.R, k.P, 32)
	if err != nil {
		return "", fmt.Errorf("deriving the key from the passphrase: %w", err)
	}
	wk, err := newKeys(FormatVersion, kek, nil) // only seals and opens
	if err != nil {
		return "", err
	}
	plain, _ := json.Marshal(mk)
	k.Data = wk.seal(nil, plain, []byte("dbopsd-key"))
	k.Check = k.checksum()
	b, _ := json.MarshalIndent(k, "", "  ")
	id := hex.EncodeToString(randBytes(8))
	if err := st.Put(ctx, keysPrefix+id, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		return "", fmt.Errorf("writing key file to %s: %w", st, err)
	}
	return id, nil
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return b
}
