# dbopsd — see README.md. `make demo` and `make test` are the two commands.
SHELL := /bin/bash
GO ?= go
GOBIN ?= $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
export CGO_ENABLED ?= 0

# MinIO's tags are not semver: pin the pseudo-version (first build ~5 min).
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
# Debian packages are installed when missing and running as root: the demo's
# (PostgreSQL, MariaDB, ssh-keygen) by demo-deps; the tests' (also zstd,
# /usr/bin/time, Chromium and CJK fonts for the drill page's test) and MinIO
# by test-deps. Chromium and MinIO, which the demo does not use, took about
# 4½ of `make demo`'s first 7 minutes on a fresh machine when it installed them.

BIN := bin/dbopsd
TEST_TIMEOUT ?= 25m

.PHONY: all build demo test test-short deps demo-deps test-deps bench-deps bench lint fmt clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/dbopsd

## demo-deps: install what the demo runs and is missing (Debian packages as root).
demo-deps:
	@missing=""; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql postgresql-contrib"; \
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server mariadb-client"; \
	command -v ssh-keygen >/dev/null || missing="$$missing openssh-client"; \
	$(install_missing)

## test-deps (or deps): what the demo needs, and what only the tests need.
test-deps: demo-deps
	@missing=""; \
	command -v zstd >/dev/null || missing="$$missing zstd"; \
	[ -x /usr/bin/time ] || missing="$$missing time"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	$(install_missing)
	@if ! [ -x "$(GOBIN)/minio" ] || ! grep -q "$(MINIO_VERSION)" "$(GOBIN)/.minio-version" 2>/dev/null; then \
	  echo "installing minio $(MINIO_VERSION) (first build takes a few minutes)"; \
	  CGO_ENABLED=0 $(GO) install github.com/minio/minio@$(MINIO_VERSION) && echo "$(MINIO_VERSION)" > "$(GOBIN)/.minio-version"; \
	fi

deps: test-deps

## bench-deps: what only the benchmarks compare against (check_postgres and
## MySQLTuner beside the diagnostics, pgBackRest beside row-level
## differentials); not needed by the tests.
bench-deps: test-deps
	@missing=""; \
	command -v check_postgres >/dev/null || missing="$$missing check-postgres"; \
	command -v mysqltuner >/dev/null || missing="$$missing mysqltuner"; \
	command -v pgbackrest >/dev/null || missing="$$missing pgbackrest"; \
	$(install_missing)

# install_missing ends a recipe that collected Debian packages in $$missing.
define install_missing
if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run as root, or install them)"; exit 1; fi; \
	fi
endef

# Packages cheap enough to also run under the race detector (it needs cgo).
RACE_PKGS := ./repository/ ./catalog/ ./storage/ ./storage/local/ ./secret/ ./config/ ./register/ ./request/... ./history/ ./when/ ./i18n/ ./internal/fault/ ./internal/atomicfile/

## test: install what is missing, then run every test against real servers.
test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(RACE_PKGS)
	$(GO) test -run '^$$' -fuzz=FuzzParseRequest -fuzztime=10s ./request/
	$(GO) test -run '^$$' -fuzz=FuzzValidity -fuzztime=5s ./request/
	$(GO) test -run '^$$' -fuzz=FuzzLoad -fuzztime=10s ./config/
	@[ -n "$$DBOPS_TEST_MSSQL_DSN" ] || echo "NOT RUN: the SQL Server integration tests (engines/mssql TestIntegration): DBOPS_TEST_MSSQL_DSN is not set; README, \"SQL Server\", says how to run them"

## test-short: the tests without the slow fault and fuzz cases.
test-short: test-deps
	$(GO) test -short -count=1 ./...

## demo: throwaway PostgreSQL with service-hall data, backup, change, restore, verify.
demo: demo-deps build
	./scripts/demo.sh

## bench: Go benchmarks and side-by-side comparisons with pg_dump/pg_restore.
bench: bench-deps build
	./scripts/bench.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
