package site

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/repository"
)

// explainPassphrase adds to an empty-passphrase error where the policy takes
// the passphrase from: an unset variable is the most likely mistake of all.
func explainPassphrase(cfg *config.Config, err error) error {
	src := cfg.Repository.PassphraseSource
	if !errors.Is(err, repository.ErrEmptyPassphrase) || src == "" {
		return err
	}
	if strings.HasPrefix(src, "env(") {
		return fmt.Errorf("%w: repository.passphrase is %s, and that variable is not set (or empty) in this environment", err, src)
	}
	return fmt.Errorf("%w: repository.passphrase is %s, and that file is empty", err, src)
}
