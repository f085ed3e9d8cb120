# vumeter: `make demo` runs the instrumented demo, `make test` runs every check.
# Both set up what they need on a fresh machine: Debian packages, a .venv with the
# dev dependencies, and vumeter itself built in release mode.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
NATIVE_SO = $(wildcard python/vumeter/_native*.so)
RUST_SOURCES := $(shell find src-rust -name '*.rs' -o -name Cargo.toml) Cargo.toml
# What each Debian package provides, as `what:package`: a command on PATH, or (for a
# package with no command, such as a Go library) an absolute path that must exist.
CLIENT_GOLANG_SRC := /usr/share/gocode/src/github.com/prometheus/client_golang
DEBIAN_TOOLS := promtool:prometheus prometheus-pushgateway:prometheus-pushgateway \
	prometheus-alertmanager:prometheus-alertmanager tmux:tmux go:golang-go \
	$(CLIENT_GOLANG_SRC):golang-github-prometheus-client-golang-dev

.PHONY: all demo test test-rust test-miri test-python lint lint-rust lint-python typecheck \
	benchmark benchmark-readme benchmark-py312 build-dev debian-deps clean

all: build-dev

$(STAMPS):
	mkdir -p $(STAMPS)

# Debian packages the tests start for real (Prometheus, promtool, Pushgateway, Alertmanager,
# tmux, the terminal that the `vumeter top` test drives, and Go with client_golang, the
# reference the native histogram tests compare with).
debian-deps: | $(STAMPS)
	@missing=""; for pair in $(DEBIAN_TOOLS); do \
		what="$${pair%%:*}"; \
		case "$$what" in \
			/*) test -e "$$what" ;; \
			*) command -v "$$what" >/dev/null ;; \
		esac || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Every Python dependency (runtime, all extras, dev tools), re-installed when
# pyproject.toml changes. tools/requirements.py reads them from pyproject.toml.
$(STAMPS)/deps: pyproject.toml tools/requirements.py $(VENV)/bin/python | $(STAMPS)
	$(PY) -m pip install -q --upgrade pip
	$(PY) tools/requirements.py > $(STAMPS)/requirements.txt
	$(PY) -m pip install -q -r $(STAMPS)/requirements.txt
	touch $@

# A release build of the extension, installed editable into the venv. A stale .so is
# deleted first so tests can never import an old binary.
$(STAMPS)/native: $(RUST_SOURCES) pyproject.toml $(STAMPS)/deps
	rm -f python/vumeter/_native*.so
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q
	touch $@

build-dev: $(STAMPS)/native

demo: build-dev
	@echo "Watch it live: run $(VENV)/bin/vumeter top in another terminal," \
		"or make demo DEMO_ARGS=--top for the view in this one (docs/top.md)."
	$(VENV)/bin/vumeter demo $(DEMO_ARGS)

test: build-dev debian-deps lint typecheck test-rust test-miri test-python

test-rust:
	cargo test -p vumeter-core --release -q

# The core's tests under Miri: undefined behaviour (Stacked Borrows), data races and
# leaks in the unsafe code, with loop counts cut under cfg(miri) (about two minutes,
# plus building Miri's standard library once per machine). Isolation is off because
# the metrics read the wall clock.
MIRIFLAGS ?= -Zmiri-disable-isolation
test-miri:
	@cargo +nightly miri --version >/dev/null 2>&1 || \
		rustup component add --toolchain nightly miri rust-src
	MIRIFLAGS="$(MIRIFLAGS)" cargo +nightly miri test -p vumeter-core -q

test-python: build-dev debian-deps
	$(VENV)/bin/pytest -q

lint: lint-rust lint-python

lint-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -q -- -D warnings

# lint-imports checks the layer contract in pyproject.toml on the source tree (no build needed).
lint-python: $(STAMPS)/deps
	$(VENV)/bin/ruff check python tests benches ops
	$(VENV)/bin/ruff format --check python tests benches ops
	PYTHONPATH=python $(VENV)/bin/lint-imports

typecheck: build-dev
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m mypy.stubtest vumeter._native --allowlist .mypy-stubtest-allowlist

# The Rust-backed peers the benchmarks compare against: the bench extra, which make test
# does not install (benchmarks report a missing peer as missing).
$(STAMPS)/bench-deps: pyproject.toml tools/requirements.py $(STAMPS)/deps
	$(PY) tools/requirements.py --extra bench > $(STAMPS)/bench-requirements.txt
	$(PY) -m pip install -q -r $(STAMPS)/bench-requirements.txt
	touch $@

benchmark: build-dev $(STAMPS)/bench-deps
	$(PY) -m benches

# Measures and rewrites the README's performance table (benches/readme_table.py).
benchmark-readme: build-dev $(STAMPS)/bench-deps
	$(PY) -m benches.readme_table --write README.md

# The benchmarks on CPython 3.12, where promrs is published too: a .venv312 from pyenv's
# 3.12 (`pyenv install 3.12` if missing, or PY312=/path/to/python3.12), with its own
# cargo build directory. BENCH_COMMAND picks what runs, e.g.
#   make benchmark-py312 BENCH_COMMAND="-m benches.readme_table --write README.md"
PY312 ?= $(shell pyenv prefix 3.12 2>/dev/null)/bin/python
VENV312 := .venv312
BENCH_COMMAND ?= -m benches
benchmark-py312: | $(STAMPS)
	@"$(PY312)" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null || \
		{ echo "needs CPython 3.12: pyenv install 3.12, or PY312=/path/to/python3.12"; exit 1; }
	test -x $(VENV312)/bin/python || $(PY312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install -q --upgrade pip
	$(VENV312)/bin/python tools/requirements.py > $(STAMPS)/requirements-312.txt
	$(VENV312)/bin/python tools/requirements.py --extra bench >> $(STAMPS)/requirements-312.txt
	$(VENV312)/bin/python -m pip install -q -r $(STAMPS)/requirements-312.txt
	VIRTUAL_ENV=$(abspath $(VENV312)) CARGO_TARGET_DIR=target/py312 \
		$(VENV312)/bin/maturin develop --release -q
	$(VENV312)/bin/python $(BENCH_COMMAND)

clean:
	rm -rf $(STAMPS) target $(VENV312) python/vumeter/_native*.so
