# Two commands: `make up` runs the whole system on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: up test bench chaos lint typecheck install clean browser node mutate

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/delaktig up

# Browser tests drive Debian's headless Chromium; install it when missing (root + apt only).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
		|| echo "chromium not installed: browser tests will say so"; }
	@# axe-core (pinned in tests/web/axe/package.json) is injected into every page the web tests visit.
	@test -f tests/web/axe/node_modules/axe-core/axe.min.js || { command -v npm >/dev/null 2>&1 && \
		npm ci --prefix tests/web/axe --no-audit --no-fund --silent; } || echo "npm missing: web browser tests will say so"

# The contract tests run outside validators from npm (pinned in tests/contract/node/package.json).
node:
	@command -v npm >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; } \
		|| echo "node/npm not installed: contract tests will say so"; }
	@if command -v npm >/dev/null 2>&1 && [ ! -d tests/contract/node/node_modules ]; then \
		cd tests/contract/node && npm ci --no-audit --no-fund --loglevel=error; fi

# The suite runs on TEST_WORKERS processes (pytest-xdist), a test file per worker at a time (module
# fixtures such as the security worlds start once; tests/conftest.py keeps the whole-system
# PostgreSQL tests from running side by side and the web tests together, in order). Most tests wait
# on brokers, servers and child processes: two workers on two cores took 781 s where one took
# 1,382 s (2026-12-06). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: $(STAMP) browser node
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=20 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of the critical rules, module by module against their fast tests (about an
# hour on 2 cores; not part of `make test`). `make mutate MUTATE_ARGS="shared/relay.py --children 1"`.
mutate: $(STAMP)
	$(BIN)/python -m infra.mutate $(MUTATE_ARGS)

# 100 random kill -9s under a registration load, then the counts (SQLite in a temporary folder;
# CHAOS_ARGS="--database-url postgresql://..." for PostgreSQL, "--kills 20" for a short run).
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services infra

clean:
	rm -rf var
