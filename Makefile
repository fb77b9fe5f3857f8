# The two commands of the README: `make run` and `make test`. Both install what is
# missing (scripts/setup), build, and then run. `make build` builds only.
PRESET ?= dev
JOBS ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j $(JOBS)

.PHONY: all setup configure build run test test-release bench clean

all: build

setup:
	@scripts/setup

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# The gateway on its embedded defaults: 127.0.0.1:8080, data under var/ (SQLite).
run: build
	./build/bin/vaultproof serve

# Every test (unit, CLI corpus, ethers differential, gateway and custody integration with
# real processes, WASM verifiers in Node, browser pages in Chromium, libFuzzer smoke) on one
# build with AddressSanitizer + UndefinedBehaviorSanitizer: one build instead of two keeps CI
# on two cores well under 30 minutes. `make test-release` runs the same suite on the
# release build that `make run` uses.
test: setup
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --test-dir build-asan $(CTEST_ARGS)

test-release: build
	ctest --test-dir build $(CTEST_ARGS)

bench: build
	scripts/bench

clean:
	rm -rf build build-asan
