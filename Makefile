# Every target sets up what it needs, idempotently, on a fresh Debian machine.
PY      := .venv/bin/python
STAMP   := .venv/.installed
WASM    := data/kobako.wasm
DEBUG_WASM := data/kobako-debug.wasm
GUEST_SRC := $(shell find guest -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: run test lint bench fuzz mutation guest guest-debug conformance wheel sdist docs clean

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

# The long fuzz run; the use-after-free target runs on the debug guest, whose
# allocator poisons freed memory so a stale pointer shows up as wrong bytes or a trap.
fuzz: $(WASM) $(DEBUG_WASM)
	KOBAKO_HYPOTHESIS_PROFILE=fuzz KOBAKO_FUZZ_EXAMPLES=20000 $(PY) -m pytest tests/adversarial/test_fuzz.py -p no:cacheprovider
	KOBAKO_HYPOTHESIS_PROFILE=fuzz KOBAKO_FUZZ_EXAMPLES=20000 KOBAKO_WASM=$(DEBUG_WASM) \
	  $(PY) -m pytest tests/adversarial/test_uaf_fuzz.py -p no:cacheprovider

# Mutation testing (not part of make test; slow): mutmut over the modules configured in
# pyproject's [tool.mutmut], _guest.py narrowed to its limits and host calls. Narrow it
# further with e.g. make mutation MUTATE='kobako_async._limits.*'. mutmut keeps its
# results in mutants/ and reruns only what changed; `mutmut results` lists survivors.
# MUTATION_TESTS narrows the tests to the module's own (tests/conftest.py deselects the
# rest; mutmut 3.8.1 has one selection for all modules), e.g.
#   make mutation MUTATE='kobako_async._services.*' MUTATION_TESTS='tests/test_services.py'
# Per-module results and the equivalent survivors: README "Mutation testing".
MUTATE ?= kobako_async._services.* kobako_async._codec.* kobako_async._limits.* \
	kobako_async._protocol.* kobako_async._guest.*TickClock* kobako_async._guest.*_EpochTicker* \
	kobako_async._guest.*_HostCalls* kobako_async._guest.x__new_trap* \
	kobako_async._guest.x__define_wasi_stubs* kobako_async._guest.*GuestRunner*run__* \
	kobako_async._guest.*GuestRunner*_instantiate*

mutation: $(WASM)
	$(PY) -m pip install -q -e '.[mutation]'
	KOBAKO_MUTATION_TESTS='$(MUTATION_TESTS)' KOBAKO_HYPOTHESIS_PROFILE=mutation KOBAKO_TEST_TIME_SCALE=10 KOBAKO_FUZZ_EXAMPLES=50 \
	  $(PY) -m mutmut run $(foreach m,$(MUTATE),'$(m)')
	$(PY) -m mutmut results

guest: $(WASM)

guest-debug: $(DEBUG_WASM)

$(DEBUG_WASM): $(STAMP) $(GUEST_SRC)
	$(PY) guest/build.py --debug

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
