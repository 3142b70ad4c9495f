# dbopsd — see README.md. `make demo` and `make test` are the two commands.
SHELL := /bin/bash
GO ?= go
GOBIN ?= $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
export CGO_ENABLED ?= 0

# MinIO's tags are not semver: pin the pseudo-version (first build ~5 min).
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
# Debian packages the tests and the demo need (installed when running as root).
DEB_PACKAGES := postgresql postgresql-contrib mariadb-server mariadb-client zstd openssh-client time chromium fonts-noto-cjk

BIN := bin/dbopsd
TEST_TIMEOUT ?= 25m

.PHONY: all build demo test test-short deps bench lint fmt clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/dbopsd

## deps: install what the tests need and is missing (Debian packages as root, Go tools).
deps:
	@missing=""; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql postgresql-contrib"; \
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server mariadb-client"; \
	command -v zstd >/dev/null || missing="$$missing zstd"; \
	command -v ssh-keygen >/dev/null || missing="$$missing openssh-client"; \
	[ -x /usr/bin/time ] || missing="$$missing time"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run as root, or install them)"; exit 1; fi; \
	fi
	@if ! [ -x "$(GOBIN)/minio" ] || ! grep -q "$(MINIO_VERSION)" "$(GOBIN)/.minio-version" 2>/dev/null; then \
	  echo "installing minio $(MINIO_VERSION) (first build takes a few minutes)"; \
	  CGO_ENABLED=0 $(GO) install github.com/minio/minio@$(MINIO_VERSION) && echo "$(MINIO_VERSION)" > "$(GOBIN)/.minio-version"; \
	fi

# Packages cheap enough to also run under the race detector (it needs cgo).
RACE_PKGS := ./repository/ ./catalog/ ./storage/ ./storage/local/ ./secret/ ./config/ ./register/ ./request/...

## test: install what is missing, then run every test against real servers.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(RACE_PKGS)
	$(GO) test -run '^$$' -fuzz=FuzzParseRequest -fuzztime=10s ./request/

## test-short: the tests without the slow fault and fuzz cases.
test-short: deps
	$(GO) test -short -count=1 ./...

## demo: throwaway PostgreSQL with service-hall data, backup, change, restore, verify.
demo: deps build
	./scripts/demo.sh

## bench: Go benchmarks and side-by-side comparisons with pg_dump/pg_restore.
bench: deps build
	./scripts/bench.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
