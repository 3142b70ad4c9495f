package repository

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/storage/local"
)

// keyFilePath returns the path of the repository's only key file.
func keyFilePath(t *testing.T, dir string) (string, string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "keys"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("keys/: %v %v", ents, err)
	}
	return filepath.Join(dir, "keys", ents[0].Name()), keysPrefix + ents[0].Name()
}

// TestKeyParameters: a key file whose derivation parameters would make
// every command allocate gigabytes or spin for hours is refused at once as a
// damaged key, naming the file, whoever wrote it (also with a checksum to
// match, as an attacker would).
func TestKeyParameters(t *testing.T) {
	cases := []struct {
		name    string
		n, r, p int
	}{
		{"n 2^30", 1 << 30, 8, 1},
		{"n 2^20", 1 << 20, 8, 1},
		{"r huge", 1 << 15, 1 << 20, 1},
		{"p huge", 1 << 15, 8, 1 << 20},
		{"n not a power of 2", 3 << 14, 8, 1},
		{"n zero", 0, 8, 1},
		{"r zero", 1 << 15, 0, 1},
		{"negative", -1 << 15, 8, 1},
	}
	for _, tc := range cases {
		for _, recheck := range []bool{false, true} {
			name := tc.name
			if recheck {
				name += " with a valid checksum"
			}
			t.Run(name, func(t *testing.T) {
				_, dir := testRepo(t)
				path, key := keyFilePath(t, dir)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var k keyFile
				if err := json.Unmarshal(b, &k); err != nil {
					t.Fatal(err)
				}
				k.N, k.R, k.P = tc.n, tc.r, tc.p
				if recheck {
					k.Check = k.checksum()
				}
				b, _ = json.Marshal(k)
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				st, _ := local.New(dir)
				start := time.Now()
				_, err = Open(context.Background(), st, pass)
				if !errors.Is(err, ErrKeyDamaged) || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), key) {
					t.Fatalf("open: got %v, want a damaged %s", err, key)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("refusing the key took %s", d)
				}
			})
		}
	}
}

// TestOpenErrors: an empty passphrase, a wrong one, a damaged key file and a
// deleted one each get their own error.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	open := func(dir string, p secret.Value) error {
		st, _ := local.New(dir)
		_, err := Open(ctx, st, p)
		return err
	}

	_, dir := testRepo(t)
	if err := open(dir, secret.Value{}); !errors.Is(err, ErrEmptyPassphrase) || errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("empty passphrase: got %v", err)
	}
	if err := open(dir, secret.New("wrong")); !errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrKeyDamaged) {
		t.Errorf("wrong passphrase: got %v", err)
	}

	for _, at := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
		_, dir := testRepo(t)
		path, key := keyFilePath(t, dir)
		b, _ := os.ReadFile(path)
		i := int(float64(len(b)) * at)
		b[i] ^= 0x01
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		err := open(dir, pass)
		if !errors.Is(err, ErrKeyDamaged) || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), key) {
			t.Errorf("key file with byte %d flipped: got %v, want a damaged %s", i, err, key)
		}
	}

	_, dir = testRepo(t)
	path, _ := keyFilePath(t, dir)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := open(dir, pass); !errors.Is(err, ErrKeyDamaged) || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "no key file") {
		t.Errorf("deleted key file: got %v", err)
	}
}

// TestConfigAuthenticated: any changed byte of the config object is
// detected; a config written before the MAC opens and gets one with the
// next backup.
func TestConfigAuthenticated(t *testing.T) {
	ctx := context.Background()
	r, dir := testRepo(t)
	path := filepath.Join(dir, configKey)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := local.New(dir)
	for i := range orig {
		for _, x := range []byte{0x01, 0x20} {
			b := append([]byte(nil), orig...)
			b[i] ^= x
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			// What Open does, without deriving the key every time.
			cfg, err := readConfig(ctx, st)
			if err == nil && hmac.Equal(cfg.MAC, cfg.mac(r.keys.macKey)) {
				t.Fatalf("byte %d ^ %#x of the config went unnoticed: %q", i, x, b)
			}
		}
	}
	b := append([]byte(nil), orig...)
	i := strings.Index(string(b), `"id": "`) + 8
	b[i] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, pass); !errors.Is(err, ErrConfigDamaged) {
		t.Fatalf("open with a changed repository id: got %v", err)
	}

	// A config from before the MAC.
	var cfg repoConfig
	if err := json.Unmarshal(orig, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.MAC = nil
	if err := os.WriteFile(path, cfg.encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, st, pass)
	if err != nil {
		t.Fatalf("open of a config without MAC: %v", err)
	}
	backupParts(t, r2, Full, nil, map[string][]byte{"t": data(9, 10_000)})
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"mac"`) || string(got) != string(orig) {
		t.Fatalf("the backup did not add the MAC: %s", got)
	}
}
