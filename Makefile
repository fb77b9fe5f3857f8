# The two commands of the README: `make run` and `make test`. Both install what is
# missing (scripts/setup), build, and then run. `make build` builds only.
PRESET ?= dev
JOBS ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j $(JOBS)

.PHONY: all setup configure build run test test-unit test-asan bench clean

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

# Every test: the whole suite on the release build (unit, CLI corpus, ethers
# differential, gateway integration, WASM verifier), then the unit, CLI-corpus and
# gateway integration tests again under ASan + UBSan.
test: build
	ctest --test-dir build $(CTEST_ARGS)
	$(MAKE) --no-print-directory test-asan

test-asan: setup
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --test-dir build-asan -L 'unit|cli|integration' $(CTEST_ARGS)

bench: build
	scripts/bench

clean:
	rm -rf build build-asan
