# pmon: `make run` (try it on this machine), `make test` (everything CI runs), `make test-unit` (seconds,
# no services), `make bench`.
SHELL := /bin/bash
BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
VERSION ?= $(shell node -p "require('./package.json').version" 2>/dev/null || echo 0.0.0)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
OUT ?= dist/pmon
SOURCES := $(shell find src init -type f 2>/dev/null) package.json

.PHONY: all deps build check test test-unit test-deps run stop bench clean package

all: build

# Node.js and npm are all a fresh machine needs; Bun comes from npm (pinned in package.json).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

build: $(OUT)

# --define embeds the version; the autoload flags keep a compiled agent from reading .env/bunfig.toml of its cwd;
# --bytecode ships the parsed code, so every start (an agent, `pmon agent --once`, each CLI call) skips ~35 ms of parsing.
# --format=cjs: an ESM bundle hoists every node: import (zlib, util, crypto of the server and deploy code) to
# the top, so each start loaded them all; as CommonJS they load where a module that needs them is first used.
# --compile-jit-policy: the JIT compiles 1000 times more reluctantly, so short commands and the agent (system
# calls, little hot JavaScript) skip the optimizing tiers' compiles: 10 ms less for a 3,000-process
# `agent --once`, 4-7 MB less peak RSS for it and the loop; `pmon server` sets the normal policy.
$(OUT): node_modules/.installed $(SOURCES)
	@mkdir -p $(dir $(OUT))
	$(BUN) build src/main.ts --compile --minify --bytecode --format=cjs --compile-jit-policy=1000 \
	  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
	  --define 'PMON_VERSION="$(VERSION)"' --define 'PMON_COMMIT="$(COMMIT)"' \
	  --outfile $(OUT)

check: deps
	$(TSC) --noEmit
	$(TSC) --noEmit -p src/ui/web

# Installs MariaDB, OpenSSH server and iproute2 when missing (tests start their own instances).
test-deps:
	bash scripts/install-test-deps.sh

test: deps test-deps build check
	bash scripts/run-tests.sh

# The fast tier: test/unit needs no root, network namespace, MariaDB, sshd, binary or live-kernel truth.
test-unit: deps
	bash scripts/run-tests.sh test/unit

run: build
	bash scripts/run-local.sh

stop:
	bash scripts/run-local.sh stop

bench: deps test-deps build
	$(BUN) run bench/main.ts

# .deb and .rpm in dist/ (VERSION=x.y.z to override package.json's version).
package: build
	bash scripts/package.sh $(OUT) $(VERSION) dist

clean:
	rm -rf dist .tmp
