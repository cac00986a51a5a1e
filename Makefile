# Every target sets up what it needs, idempotently, on a fresh Debian machine.
PY      := .venv/bin/python
STAMP   := .venv/.installed
WASM    := data/kobako.wasm
GUEST_SRC := $(shell find guest -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: run test lint bench fuzz guest conformance wheel sdist docs clean

run: $(WASM)
	$(PY) examples/demo.py

test: $(WASM) lint docs
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks guest examples build_backend setup.py docs
	$(PY) -m ruff format --check src tests benchmarks guest examples build_backend setup.py docs
	$(PY) -m mypy

# The installable package, guest inside: dist/kobako_async-*.whl (pip install it),
# and the source distribution, which can build the guest: dist/kobako_async-*.tar.gz.
wheel: $(WASM) $(STAMP)
	rm -rf build/py
	$(PY) -m build --wheel --outdir dist .

sdist: $(WASM) $(STAMP)
	$(PY) -m build --sdist --outdir dist .

# The API docs site (site/), from the docstrings; any warning fails the build.
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --quiet

bench: $(WASM)
	$(PY) -m benchmarks

conformance: $(WASM)
	$(PY) -m tests.conformance.mruby_suite

fuzz: $(WASM)
	KOBAKO_FUZZ_EXAMPLES=20000 $(PY) -m pytest tests/adversarial/test_fuzz.py -p no:cacheprovider

guest: $(WASM)

$(WASM): $(STAMP) $(GUEST_SRC)
	$(PY) guest/build.py

# Build-time Debian packages: mruby's own build runs on ruby and rake; the
# benchmarks build a native mruby with the system C compiler.
.apt-stamp:
	@command -v rake >/dev/null && command -v ruby >/dev/null && command -v patch >/dev/null \
	  || (apt-get update -qq && apt-get install -y -qq ruby rake patch gcc)
	@touch $@

$(STAMP): pyproject.toml .apt-stamp
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

clean:
	rm -rf build dist site data/*.wasm .venv .apt-stamp
