# gen's build, test and benchmark entry points. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
# The Go release gen builds with is go.mod's toolchain line; the go command
# fetches it from the module proxy once (a machine's own Go may be older).
export GOTOOLCHAIN := $(shell awk '/^toolchain /{print $$2}' go.mod)
TOOLS_BIN := $(shell scripts/tools.sh bindir)
export PATH := $(TOOLS_BIN):$(PATH)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/gen-gitops/gen/internal/cli.Version=$(VERSION)

.PHONY: build test tools vet bench demo docs clean conformance

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gen ./cmd/gen

tools:
	scripts/tools.sh test

vet:
	$(GO) vet ./...

test: tools vet
	$(GO) test -count=1 -timeout 40m ./...

# docs rewrites the command reference in docs/cmd from the commands' help;
# TestCommandDocsAreCurrent fails until it is run after a help change.
docs:
	$(GO) generate ./internal/cli

bench: build
	scripts/tools.sh bench
	scripts/bench.sh

# demo runs gen's main job on the bundled example repository: a dry-run diff.
demo: build
	SOPS_AGE_KEY_FILE=examples/home-ops/example-age.key bin/gen add-app default/hello --repo examples/home-ops \
		--image ghcr.io/traefik/whoami:v1.11.0 --port 80 --host hello.example.org --dry-run

clean:
	rm -rf bin

# conformance runs gen's round trip (check, add-app, check, kustomize build,
# remove-app, diff) on every git clone under CORPUS and writes a table to
# $(OUT)/table.md; see scripts/conformance.sh. Not part of `make test`.
OUT ?= conformance-out
conformance: build
	scripts/tools.sh bench
	CORPUS=$(CORPUS) OUT=$(OUT) GEN=bin/gen scripts/conformance.sh
