# myco-bridge: the two commands a new user needs are `make demo` and `make test`.
# Each installs what it needs first (the pinned Foundry toolchain, solc-js and OpenZeppelin from npm).

FORGE := node_modules/.bin/forge
CARGO ?= cargo
# The devnet (anvil, the simulator, the demo) is a cargo feature: the tests and the demo need it, the service
# build (`cargo build --release`) leaves it out.
DEVNET := --features devnet

.PHONY: deps build demo test test-contracts test-rust test-postgres lint fmt clean

## deps: install the npm-pinned toolchain (forge, anvil, cast, solc-js, OpenZeppelin) if missing or stale
deps: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## build: compile contracts and the relayer
build: deps
	$(FORGE) build
	$(CARGO) build $(DEVNET)

## demo: run the whole bridge on a fresh local chain and print a summary (DEMO_ARGS="--epochs 10 --keep-chain")
demo: deps
	$(CARGO) run --quiet $(DEVNET) -- demo $(DEMO_ARGS)

## test: every test: Solidity (forge), Rust (unit, property, and integration against anvil) on SQLite, then the
## integration tests again on PostgreSQL when a server is installed (Debian's `postgresql`; .ci/run installs it)
test: test-contracts test-rust test-postgres

test-contracts: deps
	$(FORGE) test

test-rust: deps
	$(CARGO) test $(DEVNET)

test-postgres: deps
	@status=0; scripts/with-postgres $(CARGO) test $(DEVNET) --test integration || status=$$?; \
	if [ $$status = 3 ] && [ -n "$$MYCO_REQUIRE_POSTGRES" ]; then exit 3; \
	elif [ $$status = 3 ]; then echo "make test: PostgreSQL pass NOT RUN: no server installed (apt-get install postgresql)"; \
	elif [ $$status != 0 ]; then exit $$status; fi

## lint: formatting and clippy, as CI checks them
lint: deps
	$(FORGE) fmt --check
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets $(DEVNET) -- -D warnings
	$(CARGO) clippy --lib --bins -- -D warnings

fmt: deps
	$(FORGE) fmt
	$(CARGO) fmt

clean:
	rm -rf out cache target .demo
