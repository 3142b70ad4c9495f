package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/dbopsd/dbopsd/repository"
	"github.com/dbopsd/dbopsd/secret"
	"github.com/dbopsd/dbopsd/site"
)

func repoInitCmd() command {
	var g globals
	return command{
		name:    "repo init",
		summary: "Create the repository on the storage named by repository.storage, protected by repository.passphrase.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &g, true, sio)
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runRepoInit(ctx, g)
			}
		},
	}
}

func runRepoInit(ctx context.Context, g globals) error {
	e, err := setup(&g)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := site.InitRepository(ctx, e.cfg, e.logger)
	if err != nil {
		if errors.Is(err, repository.ErrRepositoryExists) {
			return &exitError{code: 1, err: err}
		}
		return err
	}
	if g.jsonOut {
		return printJSON(g.stdout, map[string]string{"repository": repo.ID(), "storage": repo.Storage().String()})
	}
	fmt.Fprintf(g.stdout, "created repository %s on %s\nkeep repository.passphrase safe: without it no backup can be read\n", repo.ID(), repo.Storage())
	return nil
}

type rekeyOpts struct {
	globals
	newEnv string
}

func repoRekeyCmd() command {
	var o rekeyOpts
	return command{
		name: "repo rekey",
		summary: "Re-wrap the repository's keys under a new passphrase without rewriting data.\n" +
			"The new passphrase is read from the environment variable named by --new-passphrase-env;\n" +
			"afterwards set repository.passphrase to it.",
		setup: func(fs *flag.FlagSet, sio stdio) func(context.Context, []string) error {
			addGlobals(fs, &o.globals, false, sio)
			fs.StringVar(&o.newEnv, "new-passphrase-env", "DBOPS_NEW_PASSPHRASE", "environment variable holding the new passphrase")
			return func(ctx context.Context, args []string) error {
				if err := needArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				return runRepoRekey(ctx, o)
			}
		},
	}
}

func runRepoRekey(ctx context.Context, o rekeyOpts) error {
	np := secret.New(os.Getenv(o.newEnv))
	if np.Empty() {
		return usageError("set the new passphrase in $%s", o.newEnv)
	}
	e, err := setup(&o.globals)
	if err != nil {
		return err
	}
	defer e.close()
	repo, err := e.openRepo(ctx, "")
	if err != nil {
		return err
	}
	if err := repo.Rekey(ctx, np); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "repository %s now opens with the new passphrase only; update repository.passphrase\n", repo.ID())
	return nil
}
